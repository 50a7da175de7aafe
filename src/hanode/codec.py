"""The UPER codec of hanode's four ASN.1 interfaces.

Message classes, enums and the ``encode``/``decode`` functions come from the
compiled ``hanode._codec``, generated from ``asn1/*.asn`` by
``python -m hanode.codegen``. There is no pure-Python fallback: if the
extension did not build, this import fails loudly rather than run slowly.
"""

from hanode._codec import *  # noqa: F403
from hanode._codec import __all__ as _codec_all
from hanode.errors import DecodeError, EncodeError

__all__ = [*_codec_all, "EncodeError", "DecodeError"]

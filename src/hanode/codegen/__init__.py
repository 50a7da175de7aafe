"""The ASN.1 -> Cython UPER codec generator.

``python -m hanode.codegen`` reads ``asn1/*.asn`` and writes
``src/hanode/_codec.pyx``, ``_codec.pxd`` and ``_codec.pyi``; ``--check``
writes nothing and exits 1 when the committed files differ from what it would
write. The pipeline is parse (:mod:`.parser`) -> typed model with resolved
constraints (:mod:`.model`) -> emit (:mod:`.emit`); output is deterministic.
Anything outside the supported subset of X.680 is a :class:`GeneratorError`
naming the file, line and dotted location.
"""

from .errors import GeneratorError
from .main import generate, main

__all__ = ["GeneratorError", "generate", "main"]

"""The exceptions hanode raises.

As in h11 and h2, errors split by whose fault they are: ``EncodeError`` means
*we* asked for something the protocol cannot carry (fix the caller);
``DecodeError`` and ``FrameError`` mean the *other side* sent bytes that are not
a valid PDU or frame (drop that connection, keep everything else).
Every message starts with the dotted location of the offending field.
"""

from __future__ import annotations

__all__ = ["HanodeError", "CodecError", "EncodeError", "DecodeError", "FrameError"]


class HanodeError(Exception):
    """Base class of every error hanode raises on purpose."""


class CodecError(HanodeError, ValueError):
    """A value or a byte string that the UPER codec cannot handle."""


class EncodeError(CodecError):
    """A message violates its ASN.1 type: a caller error, nothing was sent."""


class DecodeError(CodecError):
    """Bytes that are not a valid UPER encoding of the expected PDU."""


class FrameError(HanodeError, ValueError):
    """A stream that does not follow the framing of docs/protocol.md."""

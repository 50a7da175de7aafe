"""Framing of UPER PDUs on stream transports (TCP, unix sockets).

UPER is not self-delimiting, so every PDU on a stream travels in a frame::

    u16 length (big-endian)  number of payload octets, NOT counting the type octet
    u8  pdu-type             1 election, 2 role, 3 monitor, 4 status
    payload                  the UPER encoding, ``length`` octets

One connection may carry several PDU types (component connections carry role
and monitor PDUs).  Zero-length payloads are legal at this layer; the codec
rejects them later.

``encode_frame`` builds a frame; ``FrameDecoder`` is a sans-IO decoder in the
style of h11: feed it whatever the socket returned and take out complete frames.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Iterator
from typing import NamedTuple, NoReturn

from hanode.errors import EncodeError, FrameError

__all__ = [
    "PduType",
    "HEADER_SIZE",
    "MAX_PAYLOAD",
    "DEFAULT_MAX_PAYLOAD",
    "encode_frame",
    "Frame",
    "FrameDecoder",
]


class PduType(enum.IntEnum):
    """The pdu-type octet of a frame: which ASN.1 PDU the payload holds."""

    ELECTION = 1
    ROLE = 2
    MONITOR = 3
    STATUS = 4


HEADER_SIZE = 3
"""Octets before the payload: u16 length + u8 pdu-type."""

MAX_PAYLOAD = 65535
"""The largest payload a frame can carry (the most a u16 can say)."""

DEFAULT_MAX_PAYLOAD = 16384
"""Receivers' default limit on payload length; see ``FrameDecoder``."""

_HEADER = struct.Struct(">HB")
_pack_header = _HEADER.pack

# Built once so that neither the encoder nor the decoder constructs enum
# members per frame.
_TYPE_OCTET: dict[int, int] = {int(t): int(t) for t in PduType}
_MEMBER_BY_OCTET: dict[int, PduType] = {int(t): t for t in PduType}
_NAME = {t: t.name.lower() for t in PduType}
_TYPE_LIST = ", ".join(f"{int(t)} {_NAME[t]}" for t in PduType)

# Compacting only once the consumed prefix is at least as large as what is
# left keeps the memmove cost below the number of bytes discarded, so the
# total work stays O(n) however the stream is chopped up.
_COMPACT_MIN = 4096


def encode_frame(pdu_type: int, payload: bytes) -> bytes:
    """Return the frame carrying ``payload`` as a PDU of type ``pdu_type``.

    Raises ``EncodeError`` if the payload is longer than ``MAX_PAYLOAD``
    octets or ``pdu_type`` is not one of ``PduType``.
    """
    n = len(payload)
    octet = _TYPE_OCTET.get(pdu_type)
    if octet is None:
        raise EncodeError(f"frame: unknown PDU type {pdu_type!r} ({_TYPE_LIST})")
    if n > MAX_PAYLOAD:
        raise EncodeError(
            f"frame: a PDU of {n} octets does not fit a frame (at most {MAX_PAYLOAD})"
        )
    return _pack_header(n, octet) + payload


class Frame(NamedTuple):
    """One decoded frame: the PDU type and its (still UPER-encoded) payload."""

    pdu_type: PduType
    payload: bytes


class FrameDecoder:
    """Sans-IO frame decoder for one connection: no sockets, no clock.

    ``feed`` the bytes the transport delivered, then take frames with
    ``next_frame`` (or iterate) until it returns None, i.e. more bytes are
    needed.  A bad header raises ``FrameError`` as soon as its 3 octets have
    arrived, without waiting for the body.  After any error the decoder is
    dead: the stream position is lost, so every later call raises
    ``FrameError`` and the connection must be closed.
    """

    __slots__ = ("_buf", "_pos", "_max", "_types", "_allowed", "_error")

    def __init__(
        self,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        allowed: Iterable[int] | None = None,
    ) -> None:
        """``max_payload``: the longest payload accepted (0..65535).
        ``allowed``: the PDU types this connection may carry (None: all four).
        """
        if (
            isinstance(max_payload, bool)
            or not isinstance(max_payload, int)
            or not 0 <= max_payload <= MAX_PAYLOAD
        ):
            raise ValueError(
                f"FrameDecoder: max_payload must be an int in 0..{MAX_PAYLOAD}, "
                f"not {max_payload!r}"
            )
        if allowed is None:
            allowed_set = frozenset(PduType)
        else:
            try:
                items = list(allowed)
            except TypeError:
                raise ValueError(
                    f"FrameDecoder: allowed must be an iterable of PDU types "
                    f"({_TYPE_LIST}) or None, not {allowed!r}"
                ) from None
            members = []
            for item in items:
                member = (
                    None if isinstance(item, bool) or not isinstance(item, int)
                    else _MEMBER_BY_OCTET.get(item)
                )
                if member is None:
                    raise ValueError(
                        f"FrameDecoder: allowed contains {item!r}, which is not a "
                        f"PDU type ({_TYPE_LIST})"
                    )
                members.append(member)
            allowed_set = frozenset(members)
        self._allowed = allowed_set
        self._max = max_payload
        # Indexed by the raw type octet: the member if this connection accepts
        # it, else None (the slow path then works out which error it is).
        self._types: tuple[PduType | None, ...] = tuple(
            _MEMBER_BY_OCTET[i] if i in _MEMBER_BY_OCTET
            and _MEMBER_BY_OCTET[i] in allowed_set else None
            for i in range(256)
        )
        self._buf = bytearray()
        self._pos = 0
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned in a frame (0 after an error)."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        """Append bytes received from the peer (an empty ``data`` is fine)."""
        if self._error is not None:
            self._raise_dead()
        buf = self._buf
        pos = self._pos
        if pos:
            if pos == len(buf):
                buf.clear()
                self._pos = 0
            elif pos >= _COMPACT_MIN and pos >= len(buf) - pos:
                del buf[:pos]
                self._pos = 0
        buf += data

    def feed_frames(self, data: bytes) -> list[Frame]:
        """``feed(data)``, then every complete frame, in one call.

        The common case (nothing buffered, whole frames in ``data``) is
        parsed straight from ``data`` without copying it into the buffer;
        only an incomplete tail, or anything that is an error, takes the
        general path (which raises the same errors)."""
        out: list[Frame] = []
        pos = 0
        if type(data) is bytes and self._error is None and self._pos == len(self._buf):
            end = len(data)
            types = self._types
            limit = self._max
            while end - pos >= HEADER_SIZE:
                length = data[pos] << 8 | data[pos + 1]
                pdu_type = types[data[pos + 2]]
                stop = pos + HEADER_SIZE + length
                if pdu_type is None or length > limit or stop > end:
                    break
                out.append(Frame(pdu_type, data[pos + HEADER_SIZE:stop]))
                pos = stop
            if pos == end:
                return out
        self.feed(data[pos:] if pos else data)
        out.extend(self.frames())
        return out

    def next_frame(self) -> Frame | None:
        """Return the next complete frame, or None if more bytes are needed."""
        if self._error is not None:
            self._raise_dead()
        buf = self._buf
        pos = self._pos
        end = len(buf)
        if end - pos < HEADER_SIZE:
            return None
        length = buf[pos] << 8 | buf[pos + 1]
        pdu_type = self._types[buf[pos + 2]]
        if pdu_type is None:
            self._fail(self._type_message(buf[pos + 2]))
        if length > self._max:
            self._fail(
                f"frame: payload length {length} exceeds this connection's "
                f"limit of {self._max} octets"
            )
        start = pos + HEADER_SIZE
        stop = start + length
        if stop > end:
            return None
        self._pos = stop
        return Frame(pdu_type, bytes(buf[start:stop]))

    def frames(self) -> Iterator[Frame]:
        """Yield complete frames until more data is needed."""
        next_frame = self.next_frame
        while (frame := next_frame()) is not None:
            yield frame

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def _type_message(self, octet: int) -> str:
        member = _MEMBER_BY_OCTET.get(octet)
        if member is None:
            return f"frame: unknown PDU type {octet} (expected {_TYPE_LIST})"
        allowed = ", ".join(_NAME[t] for t in PduType if t in self._allowed) or "none"
        return (
            f"frame: PDU type {octet} ({_NAME[member]}) is not allowed on this "
            f"connection (allowed: {allowed})"
        )

    def _fail(self, message: str) -> NoReturn:
        error = FrameError(message)
        self._error = error
        # The rest of the stream is unusable; don't hold on to it.
        self._buf = bytearray()
        self._pos = 0
        raise error

    def _raise_dead(self) -> NoReturn:
        raise FrameError(
            "frame: decoder stopped after an earlier error; close the connection"
        ) from self._error

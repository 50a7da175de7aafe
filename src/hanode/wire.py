"""Messages on streams: the codec and the framing together, still sans-IO.

``frame_message(msg)`` turns any PDU into a complete frame; a
``MessageReader`` turns received bytes into decoded messages, enforcing which
PDU types a connection may carry (the peer link: election and monitor; a
component connection: role and monitor; a status client: status). Anything
malformed raises ``FrameError`` or ``DecodeError``, after which the reader is
dead and its connection must be closed (SPEC section 2).
"""

from __future__ import annotations

from collections.abc import Iterable

from hanode.codec import (
    ElectionMessage,
    HealthMonitorMessage,
    RoleMessage,
    ServiceStatusMessage,
    decode_election_message,
    decode_health_monitor_message,
    decode_role_message,
    decode_service_status_message,
    encode_election_message,
    encode_health_monitor_message,
    encode_role_message,
    encode_service_status_message,
)
from hanode.errors import DecodeError, EncodeError, FrameError
from hanode.framing import DEFAULT_MAX_PAYLOAD, FrameDecoder, PduType, encode_frame

__all__ = [
    "PDU_TYPE", "PEER_TYPES", "COMPONENT_TYPES", "CLIENT_TYPES", "frame_message", "MessageReader", "decoders",
    "FrameError", "DecodeError",  # what MessageReader.feed raises, for drivers that catch both
]

PDU_TYPE = {
    ElectionMessage: PduType.ELECTION,
    RoleMessage: PduType.ROLE,
    HealthMonitorMessage: PduType.MONITOR,
    ServiceStatusMessage: PduType.STATUS,
}
"""The frame's pdu-type octet for each PDU class."""

PEER_TYPES = frozenset({PduType.ELECTION, PduType.MONITOR})
COMPONENT_TYPES = frozenset({PduType.ROLE, PduType.MONITOR})
CLIENT_TYPES = frozenset({PduType.STATUS})

_CODECS = {
    ElectionMessage: (encode_election_message, decode_election_message),
    RoleMessage: (encode_role_message, decode_role_message),
    HealthMonitorMessage: (encode_health_monitor_message, decode_health_monitor_message),
    ServiceStatusMessage: (encode_service_status_message, decode_service_status_message),
}
# Plain ints, looked up per frame on the hot path.
_ENCODE = {cls: (int(PDU_TYPE[cls]), encode) for cls, (encode, _) in _CODECS.items()}
_DECODE = {int(PDU_TYPE[cls]): decode for cls, (_, decode) in _CODECS.items()}


def frame_message(msg) -> bytes:
    """The complete frame (header and UPER payload) of any PDU."""
    entry = _ENCODE.get(type(msg))
    if entry is None:
        raise EncodeError(f"frame: expected a PDU (ElectionMessage, RoleMessage, HealthMonitorMessage or ServiceStatusMessage), got {type(msg).__name__}")
    pdu_type, encode = entry
    return encode_frame(pdu_type, encode(msg))


def decode_payload(pdu_type: int, payload: bytes, number: int):
    """The PDU in one frame's payload; a DecodeError names the frame's number and type."""
    try:
        return _DECODE[pdu_type](payload)
    except DecodeError as e:
        raise DecodeError(f"frame {number} ({PduType(pdu_type).name.lower()}): {e}") from None


def decoders(allowed: Iterable[int]) -> tuple:
    """The payload decoder for each pdu-type octet (256 entries) that a
    connection allowed ``allowed`` accepts; None for every other octet."""
    accepted = {int(t) for t in allowed}
    return tuple(_DECODE[i] if i in accepted and i in _DECODE else None for i in range(256))


class MessageReader:
    """Received bytes in, decoded messages out, for one connection."""

    def __init__(self, allowed: Iterable[int], max_payload: int = DEFAULT_MAX_PAYLOAD):
        self._frames = FrameDecoder(max_payload=max_payload, allowed=allowed)
        self.count = 0  # frames decoded so far, for error messages

    def feed(self, data: bytes) -> list:
        """Every complete message in ``data`` (and what was buffered before it).

        Raises FrameError or DecodeError naming the frame; the connection
        must then be closed."""
        out = []
        for pdu_type, payload in self._frames.feed_frames(data):
            self.count += 1
            out.append(decode_payload(pdu_type, payload, self.count))
        return out

    @property
    def buffered(self) -> int:
        return self._frames.buffered


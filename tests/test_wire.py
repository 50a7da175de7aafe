"""Messages in frames: the codec and the framing together."""

import pytest

from hanode.codec import (
    BillOfHealth, ComponentStatus, ElectionMessage, GetStatus, HealthMonitorMessage, HeartBeat,
    NominationMessage, RoleMessage, ServiceStatusMessage, SetRole, Role, encode,
)
from hanode.errors import DecodeError, EncodeError, FrameError
from hanode.framing import encode_frame
from hanode.wire import CLIENT_TYPES, COMPONENT_TYPES, PEER_TYPES, MessageReader, frame_message

HB = HealthMonitorMessage("12345", "7", HeartBeat(BillOfHealth(ComponentStatus.ok)))
NOM = ElectionMessage("1", NominationMessage("alpha"))


def test_frame_message_is_header_then_uper():
    assert frame_message(HB) == bytes.fromhex("000503") + encode(HB)
    assert frame_message(NOM)[2] == 1
    assert frame_message(RoleMessage("1", SetRole(Role.active)))[2] == 2
    assert frame_message(ServiceStatusMessage("1", GetStatus()))[2] == 4


def test_frame_message_refuses_a_non_pdu():
    with pytest.raises(EncodeError, match="expected a PDU"):
        frame_message(HeartBeat(BillOfHealth(ComponentStatus.ok)))


def test_reader_decodes_many_messages_split_anyhow():
    stream = frame_message(HB) + frame_message(NOM) + frame_message(HB)
    reader = MessageReader(PEER_TYPES)
    got = []
    for i in range(len(stream)):
        got += reader.feed(stream[i:i + 1])
    assert got == [HB, NOM, HB]
    assert reader.buffered == 0


def test_a_pdu_type_that_does_not_belong_is_a_frame_error():
    with pytest.raises(FrameError, match="not allowed"):
        MessageReader(CLIENT_TYPES).feed(frame_message(HB))
    with pytest.raises(FrameError, match="not allowed"):
        MessageReader(COMPONENT_TYPES).feed(frame_message(NOM))


def test_an_undecodable_payload_names_the_frame():
    reader = MessageReader(PEER_TYPES)
    assert reader.feed(frame_message(HB)) == [HB]
    with pytest.raises(DecodeError, match=r"^frame 2 \(monitor\): HealthMonitorMessage"):
        reader.feed(encode_frame(3, encode(HB) + b"\x00"))


def test_oversize_frames_are_refused_at_the_header():
    reader = MessageReader(PEER_TYPES, max_payload=64)
    with pytest.raises(FrameError, match="exceeds"):
        reader.feed(b"\x01\x00\x03")

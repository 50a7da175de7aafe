"""Tests of hanode.framing: the u16 length + u8 type framing of PDUs on streams."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanode.errors import EncodeError, FrameError
from hanode.framing import (
    DEFAULT_MAX_PAYLOAD,
    HEADER_SIZE,
    MAX_PAYLOAD,
    Frame,
    FrameDecoder,
    PduType,
    encode_frame,
)

ALL_TYPES = [1, 2, 3, 4]


def header(length: int, pdu_type: int) -> bytes:
    """A frame header built independently of the code under test."""
    return struct.pack(">HB", length, pdu_type)


# -- constants and encoding ---------------------------------------------------


def test_constants() -> None:
    assert [(t.name, int(t)) for t in PduType] == [
        ("ELECTION", 1),
        ("ROLE", 2),
        ("MONITOR", 3),
        ("STATUS", 4),
    ]
    assert HEADER_SIZE == 3
    assert MAX_PAYLOAD == 65535
    assert DEFAULT_MAX_PAYLOAD == 16384


def test_encode_known_bytes() -> None:
    assert encode_frame(3, b"\x29\x1a\x2b\x06\x20") == bytes.fromhex("000503291a2b0620")


def test_encode_long_payload_uses_both_length_octets() -> None:
    frame = encode_frame(PduType.STATUS, b"\xaa" * 0x1234)
    assert frame[:3] == b"\x12\x34\x04"
    assert frame[3:] == b"\xaa" * 0x1234
    assert type(frame) is bytes


def test_encode_accepts_bytearray_payload() -> None:
    assert encode_frame(2, bytearray(b"\x01\x02")) == b"\x00\x02\x02\x01\x02"


def test_encode_zero_length() -> None:
    assert encode_frame(PduType.ROLE, b"") == b"\x00\x00\x02"


def test_encode_max_payload() -> None:
    frame = encode_frame(1, bytes(65535))
    assert frame[:3] == b"\xff\xff\x01"
    assert len(frame) == 65535 + 3


def test_encode_too_long() -> None:
    with pytest.raises(EncodeError, match=r"a PDU of 65536 octets does not fit a frame \(at most 65535\)"):
        encode_frame(1, bytes(65536))
    with pytest.raises(EncodeError, match=r"70000"):
        encode_frame(4, bytes(70000))


@pytest.mark.parametrize("bad", [0, 5, 9, 255, 256, -1, None, "role"])
def test_encode_unknown_type(bad: object) -> None:
    with pytest.raises(EncodeError, match=r"unknown PDU type") as info:
        encode_frame(bad, b"\x00")  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)
    assert "1 election, 2 role, 3 monitor, 4 status" in str(info.value)


# -- decoding: round trips ------------------------------------------------------


SAMPLE = [
    (1, b"\x01\x02\x03"),
    (2, b""),
    (3, b"\x29\x1a\x2b\x06\x20"),
    (4, bytes(range(256)) * 2),  # 512 octets: a non-zero high length octet
    (1, b""),
    (4, b"\xff"),
]


def stream_of(frames: list[tuple[int, bytes]]) -> bytes:
    return b"".join(header(len(p), t) + p for t, p in frames)


def test_encode_matches_independent_header() -> None:
    assert b"".join(encode_frame(t, p) for t, p in SAMPLE) == stream_of(SAMPLE)


def test_round_trip_all_at_once() -> None:
    dec = FrameDecoder()
    dec.feed(b"".join(encode_frame(t, p) for t, p in SAMPLE))
    out = list(dec)
    assert out == [(t, p) for t, p in SAMPLE]
    assert all(type(f) is Frame and type(f.pdu_type) is PduType for f in out)
    assert all(type(f.payload) is bytes for f in out)
    assert dec.buffered == 0
    assert dec.next_frame() is None


def test_round_trip_one_byte_at_a_time() -> None:
    dec = FrameDecoder()
    out = []
    for b in stream_of(SAMPLE):
        dec.feed(bytes([b]))
        out.extend(dec.frames())
    assert out == [(t, p) for t, p in SAMPLE]
    assert dec.buffered == 0


def test_zero_length_payloads_round_trip() -> None:
    dec = FrameDecoder()
    dec.feed(b"".join(encode_frame(t, b"") for t in ALL_TYPES))
    assert list(dec) == [Frame(PduType(t), b"") for t in ALL_TYPES]
    assert dec.buffered == 0


def test_zero_length_feed() -> None:
    dec = FrameDecoder()
    dec.feed(b"")
    assert dec.next_frame() is None
    assert dec.buffered == 0
    dec.feed(encode_frame(2, b"x"))
    dec.feed(b"")
    assert dec.next_frame() == (PduType.ROLE, b"x")


frame_lists = st.lists(
    st.tuples(
        st.sampled_from(ALL_TYPES),
        st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=700)),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(frames=frame_lists, data=st.data())
def test_round_trip_random_chunks(frames: list[tuple[int, bytes]], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(t, p) for t, p in frames)
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(stream)), max_size=30), label="cuts")
    )
    bounds = [0, *cuts, len(stream)]
    dec = FrameDecoder(max_payload=MAX_PAYLOAD)
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        dec.feed(stream[lo:hi])
        out.extend(dec)
        # Whatever has not come out as a frame is still held.
        assert dec.buffered == hi - len(stream_of([(t, p) for t, p in out]))
    assert out == [(PduType(t), p) for t, p in frames]
    assert dec.buffered == 0


@settings(max_examples=50, deadline=None)
@given(frames=frame_lists, chunk=st.integers(1, 5000))
def test_round_trip_feed_without_draining(frames: list[tuple[int, bytes]], chunk: int) -> None:
    # Feed several chunks before draining: exercises buffer compaction with
    # an unconsumed tail.
    stream = b"".join(encode_frame(t, p) for t, p in frames) * 3
    dec = FrameDecoder()
    out = []
    for i in range(0, len(stream), chunk):
        dec.feed(stream[i : i + chunk])
        if (i // chunk) % 3 == 2:
            frame = dec.next_frame()
            if frame is not None:
                out.append(frame)
    out.extend(dec)
    assert out == [(PduType(t), p) for t, p in frames] * 3
    assert dec.buffered == 0


@settings(max_examples=300, deadline=None)
@given(frames=frame_lists, data=st.data(), limit=st.sampled_from([MAX_PAYLOAD, 300]),
       allowed=st.sets(st.sampled_from(ALL_TYPES), min_size=1))
def test_feed_frames_matches_feed_then_frames(frames, data, limit, allowed) -> None:
    # feed_frames' fast path parses from the chunk itself; it must give the
    # same frames, the same buffering and the same errors as feed + frames.
    stream = b"".join(encode_frame(t, p) for t, p in frames)
    if data.draw(st.booleans(), label="garbage tail"):
        stream += data.draw(st.binary(min_size=1, max_size=8), label="tail")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=30), label="cuts"))
    bounds = [0, *cuts, len(stream)]
    fast, slow = FrameDecoder(max_payload=limit, allowed=allowed), FrameDecoder(max_payload=limit, allowed=allowed)
    for lo, hi in zip(bounds, bounds[1:]):
        chunk = stream[lo:hi]
        try:
            expected = slow.feed(chunk) or list(slow)
        except FrameError as e:
            with pytest.raises(FrameError) as got:
                fast.feed_frames(chunk)
            assert str(got.value) == str(e)
            return
        assert fast.feed_frames(chunk) == expected
        assert fast.buffered == slow.buffered
        assert all(type(payload) is bytes for _, payload in expected)


def test_feed_frames_takes_a_bytearray_through_the_buffer() -> None:
    dec = FrameDecoder()
    assert dec.feed_frames(bytearray(encode_frame(2, b"ab") + encode_frame(3, b"c")[:2])) == [(PduType.ROLE, b"ab")]
    assert dec.buffered == 2
    assert dec.feed_frames(encode_frame(3, b"c")[2:]) == [(PduType.MONITOR, b"c")]


# -- partial input ----------------------------------------------------------------


def test_partial_header_and_body_are_kept() -> None:
    frame = encode_frame(4, b"hello")
    dec = FrameDecoder()
    dec.feed(frame[:2])
    assert dec.next_frame() is None
    assert dec.buffered == 2
    dec.feed(frame[2:5])
    assert dec.next_frame() is None
    assert dec.buffered == 5
    assert list(dec) == []
    dec.feed(frame[5:] + frame[:1])
    assert dec.next_frame() == (PduType.STATUS, b"hello")
    assert dec.buffered == 1
    assert dec.next_frame() is None
    dec.feed(frame[1:])
    assert dec.next_frame() == (PduType.STATUS, b"hello")
    assert dec.buffered == 0


def test_many_frames_in_one_read() -> None:
    # 100,000 frames (~700 kB) in one read: ~0.2 s here, while re-slicing
    # the buffer per frame (O(n^2)) takes several times longer.
    n = 100_000
    frames = [(ALL_TYPES[i % 4], i.to_bytes(4, "big") * (i % 3)) for i in range(n)]
    stream = b"".join(encode_frame(t, p) for t, p in frames)
    dec = FrameDecoder()
    dec.feed(stream + b"\x00")  # plus the first octet of a next header
    out = list(dec)
    assert len(out) == n
    assert out == [(PduType(t), p) for t, p in frames]
    assert dec.buffered == 1
    # Keep going on the same decoder after the big read.
    dec.feed(b"\x01\x03z")
    assert dec.next_frame() == (PduType.MONITOR, b"z")
    assert dec.buffered == 0


# -- limits and bad input -----------------------------------------------------------


def test_oversize_raises_after_header_only() -> None:
    dec = FrameDecoder()
    dec.feed(header(DEFAULT_MAX_PAYLOAD + 1, 1))
    with pytest.raises(FrameError) as info:
        dec.next_frame()
    msg = str(info.value)
    assert "16385" in msg and "16384" in msg
    assert msg == "frame: payload length 16385 exceeds this connection's limit of 16384 octets"


@pytest.mark.parametrize("limit", [0, 10, 16384, 65535])
def test_exact_limit_accepted(limit: int) -> None:
    dec = FrameDecoder(max_payload=limit)
    payload = bytes(range(256)) * (limit // 256) + bytes(limit % 256)
    dec.feed(header(limit, 2) + payload)
    assert dec.next_frame() == (PduType.ROLE, payload)
    assert dec.buffered == 0


@pytest.mark.parametrize("limit", [0, 10, 16384, 65534])
def test_one_over_custom_limit_rejected(limit: int) -> None:
    dec = FrameDecoder(max_payload=limit)
    dec.feed(header(limit + 1, 3))
    with pytest.raises(FrameError, match=rf"length {limit + 1} exceeds .* limit of {limit} "):
        dec.next_frame()


def test_oversize_after_good_frames() -> None:
    dec = FrameDecoder(max_payload=4)
    dec.feed(encode_frame(1, b"abcd") + header(5, 1) + b"abcde")
    assert dec.next_frame() == (PduType.ELECTION, b"abcd")
    with pytest.raises(FrameError, match="length 5 exceeds"):
        dec.next_frame()


@pytest.mark.parametrize("octet", [0, 5, 9, 255])
def test_unknown_type(octet: int) -> None:
    dec = FrameDecoder()
    dec.feed(header(1, octet))  # header only: the body is not awaited
    with pytest.raises(FrameError) as info:
        dec.next_frame()
    assert str(info.value) == (
        f"frame: unknown PDU type {octet} (expected 1 election, 2 role, 3 monitor, 4 status)"
    )


def test_type_not_allowed() -> None:
    dec = FrameDecoder(allowed=[PduType.MONITOR, 2])
    dec.feed(encode_frame(2, b"r") + encode_frame(3, b"m") + header(0, 1))
    assert dec.next_frame() == (PduType.ROLE, b"r")
    assert dec.next_frame() == (PduType.MONITOR, b"m")
    with pytest.raises(FrameError) as info:
        dec.next_frame()
    assert str(info.value) == (
        "frame: PDU type 1 (election) is not allowed on this connection "
        "(allowed: role, monitor)"
    )


@pytest.mark.parametrize("octet", [1, 2, 3, 4])
def test_each_type_can_be_disallowed(octet: int) -> None:
    others = [t for t in ALL_TYPES if t != octet]
    dec = FrameDecoder(allowed=others)
    dec.feed(b"".join(encode_frame(t, b"ok") for t in others))
    assert [f.pdu_type for f in dec] == others
    dec.feed(encode_frame(octet, b"no"))
    with pytest.raises(FrameError, match=rf"PDU type {octet} \({PduType(octet).name.lower()}\) is not allowed"):
        dec.next_frame()


def test_empty_allowed_rejects_everything() -> None:
    dec = FrameDecoder(allowed=())
    dec.feed(encode_frame(4, b""))
    with pytest.raises(FrameError, match=r"not allowed .*\(allowed: none\)"):
        dec.next_frame()


@pytest.mark.parametrize(
    "bad",
    [header(DEFAULT_MAX_PAYLOAD + 1, 1), header(0, 7)],
    ids=["oversize", "unknown-type"],
)
def test_decoder_dead_after_error(bad: bytes) -> None:
    dec = FrameDecoder()
    dec.feed(bad)
    with pytest.raises(FrameError) as first:
        dec.next_frame()
    for _ in range(2):
        with pytest.raises(FrameError, match="decoder stopped after an earlier error; close the connection") as later:
            dec.next_frame()
        assert later.value.__cause__ is first.value
        with pytest.raises(FrameError, match="decoder stopped"):
            dec.feed(encode_frame(1, b"fine"))
        with pytest.raises(FrameError, match="decoder stopped"):
            dec.feed(b"")
        with pytest.raises(FrameError, match="decoder stopped"):
            list(dec)


def test_error_during_iteration_propagates() -> None:
    dec = FrameDecoder()
    dec.feed(encode_frame(1, b"a") + header(0, 0))
    it = iter(dec)
    assert next(it) == (PduType.ELECTION, b"a")
    with pytest.raises(FrameError, match="unknown PDU type 0"):
        next(it)


# -- argument validation --------------------------------------------------------------


def test_default_arguments() -> None:
    dec = FrameDecoder()
    dec.feed(b"".join(encode_frame(t, b"") for t in ALL_TYPES))
    assert [f.pdu_type for f in dec] == ALL_TYPES


@pytest.mark.parametrize("bad", [-1, 65536, 1.5, "16", None, True])
def test_bad_max_payload(bad: object) -> None:
    with pytest.raises(ValueError, match="max_payload"):
        FrameDecoder(max_payload=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[0], [1, 5], [255], ["role"], [1.0], 3, "12", [True]])
def test_bad_allowed(bad: object) -> None:
    with pytest.raises(ValueError, match="allowed"):
        FrameDecoder(allowed=bad)  # type: ignore[arg-type]


def test_allowed_accepts_any_iterable_and_duplicates() -> None:
    dec = FrameDecoder(allowed=(t for t in [4, 4, PduType.STATUS]))
    dec.feed(encode_frame(4, b"s"))
    assert dec.next_frame() == (PduType.STATUS, b"s")
    dec.feed(encode_frame(3, b"m"))
    with pytest.raises(FrameError, match=r"\(allowed: status\)"):
        dec.next_frame()

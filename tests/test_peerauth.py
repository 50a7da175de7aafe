"""hanode.peerauth: the authenticated peer link, sans-IO, and its key files."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanode.codec import (
    Assigment,
    BillOfHealth,
    ComponentStatus,
    ElectionMessage,
    HealthMonitorMessage,
    HeartBeat,
    NominationMessage,
)
from hanode.errors import FrameError
from hanode.peerauth import AUTHENTICATED, KEY_SIZE, AuthError, PeerAuth, load_key, write_key
from hanode.wire import frame_message

KEY = bytes(range(KEY_SIZE))
OTHER = bytes(reversed(range(KEY_SIZE)))
MSGS = [
    HealthMonitorMessage("1", "", HeartBeat(BillOfHealth(ComponentStatus.ok))),
    ElectionMessage("2", NominationMessage("alpha")),
    ElectionMessage("", Assigment("alpha", "beta")),
]


def linked(key_a: bytes = KEY, key_b: bytes = KEY) -> tuple[PeerAuth, PeerAuth]:
    """Two ends that have exchanged hellos (each has read the other's)."""
    a, b = PeerAuth(key_a), PeerAuth(key_b)
    assert b.feed(a.hello()) == [AUTHENTICATED]
    assert a.feed(b.hello()) == [AUTHENTICATED]
    return a, b


def test_messages_cross_both_ways_after_the_hellos():
    a, b = linked()
    assert a.ready and b.ready
    assert b.feed(b"".join(a.seal(m) for m in MSGS)) == MSGS
    assert a.feed(b.seal(MSGS[0])) == [MSGS[0]]


def test_hello_and_first_frames_in_one_read_and_byte_by_byte():
    a, b = PeerAuth(KEY), PeerAuth(KEY)
    a.feed(b.hello())
    stream = a.hello() + a.seal(MSGS[1]) + a.seal(MSGS[2])
    assert b.feed(stream) == [AUTHENTICATED, MSGS[1], MSGS[2]]
    c = PeerAuth(KEY)
    a2 = PeerAuth(KEY)
    a2.feed(c.hello())
    stream = a2.hello() + a2.seal(MSGS[0])
    out = []
    for i in range(len(stream)):
        out += c.feed(stream[i:i + 1])
    assert out == [AUTHENTICATED, MSGS[0]]


def test_a_frame_is_the_plain_frame_plus_an_8_octet_seq_and_a_16_octet_tag():
    a, b = linked()
    plain = frame_message(MSGS[0])
    sealed = a.seal(MSGS[0])
    assert len(sealed) == len(plain) + 24
    assert sealed[2] == plain[2] and sealed[3:len(plain)] == plain[3:]
    assert struct.unpack(">Q", sealed[len(plain):len(plain) + 8]) == (1,)
    assert struct.unpack(">Q", a.seal(MSGS[0])[len(plain):len(plain) + 8]) == (2,)


def test_the_wrong_key_fails_at_the_hello():
    a, b = PeerAuth(KEY), PeerAuth(OTHER)
    with pytest.raises(AuthError, match="not signed with our cluster key"):
        b.feed(a.hello())
    assert not b.ready


def test_a_plain_frame_first_is_not_a_hello():
    b = PeerAuth(KEY)
    with pytest.raises(AuthError, match="first frame is not a hello; is \\[peer\\] key_file set on both nodes"):
        b.feed(frame_message(MSGS[0]))


def test_our_own_hello_reflected_back_is_refused():
    a = PeerAuth(KEY)
    with pytest.raises(AuthError, match="our own nonce"):
        a.feed(a.hello())


def test_an_altered_frame_fails():
    a, b = linked()
    frame = bytearray(a.seal(MSGS[1]))
    frame[4] ^= 0x01  # one payload bit
    with pytest.raises(AuthError, match="frame 1 fails authentication"):
        b.feed(bytes(frame))


def test_a_replayed_frame_fails():
    a, b = linked()
    frame = a.seal(MSGS[1])
    assert b.feed(frame) == [MSGS[1]]
    with pytest.raises(AuthError, match="sequence 1, expected 2 \\(replayed or dropped\\)"):
        b.feed(frame)


def test_a_dropped_frame_is_seen():
    a, b = linked()
    a.seal(MSGS[0])  # never delivered
    with pytest.raises(AuthError, match="sequence 2, expected 1"):
        b.feed(a.seal(MSGS[1]))


def test_a_frame_from_another_connection_is_worthless():
    a1, b1 = linked()
    a2, b2 = linked()
    with pytest.raises(AuthError, match="fails authentication"):
        b2.feed(a1.seal(MSGS[1]))  # same key, same seq 1: another session key


def test_a_frame_without_its_trailer_fails():
    a, b = linked()
    with pytest.raises(AuthError, match="no authentication trailer"):
        b.feed(b"\x00\x02\x01\x00\x00")


def test_the_tag_is_hmac_sha256_over_type_seq_payload_with_the_session_key():
    # The wire format in docs/protocol.md, recomputed independently.
    na, nb = b"A" * 16, b"B" * 16
    a, b = PeerAuth(KEY, nonce=na), PeerAuth(KEY, nonce=nb)
    a.feed(b.hello())
    b.feed(a.hello())
    hello = a.hello()
    assert hello == b"\x00\x30\x80" + na + hmac.new(KEY, b"hanode-hello" + na, hashlib.sha256).digest()
    sealed = a.seal(MSGS[0])
    plain = frame_message(MSGS[0])
    payload = plain[3:]
    k = hmac.new(KEY, b"hanode-link" + na + nb, hashlib.sha256).digest()
    seq = struct.pack(">Q", 1)
    tag = hmac.new(k, bytes([plain[2]]) + seq + payload, hashlib.sha256).digest()[:16]
    assert sealed == struct.pack(">HB", len(payload) + 24, plain[2]) + payload + seq + tag


def test_seal_before_the_hello_is_a_bug():
    with pytest.raises(RuntimeError):
        PeerAuth(KEY).seal(MSGS[0])


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_garbage_only_ever_raises_frame_errors(data):
    b = PeerAuth(KEY)
    try:
        out = b.feed(data)
    except FrameError:
        return
    except Exception as e:  # anything else would take the agent down
        raise AssertionError(f"{type(e).__name__}: {e}") from e
    assert out == []  # nothing authenticates without the key


def test_bad_key_size():
    with pytest.raises(ValueError, match="32 octets"):
        PeerAuth(b"short")


# -- key files ----------------------------------------------------------------------------------------------


def test_keygen_writes_an_owner_only_key_and_never_overwrites(tmp_path):
    path = tmp_path / "cluster.key"
    write_key(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o600
    key = load_key(str(path))
    assert len(key) == KEY_SIZE
    with pytest.raises(FileExistsError):
        write_key(str(path))
    assert load_key(str(path)) == key


@pytest.mark.parametrize("setup, error", [
    ("missing", "cannot read .*: No such file or directory; create one with `hanode keygen --out"),
    ("open", r"is readable by others \(mode 0644\); chmod 600 it"),
    ("short", r"does not hold a key \(64 hex digits\)"),
    ("nothex", r"does not hold a key \(64 hex digits\)"),
])
def test_load_key_errors_name_the_file_and_the_fix(tmp_path, setup, error):
    path = tmp_path / "k"
    if setup != "missing":
        path.write_text({"open": "00" * 32, "short": "abcd", "nothex": "zz" * 32}[setup])
        path.chmod(0o644 if setup == "open" else 0o600)
    with pytest.raises(ValueError, match=error) as info:
        load_key(str(path))
    assert str(path) in str(info.value)  # the file; the config names the key (tests/test_config.py)

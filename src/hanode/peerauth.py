"""The authenticated peer link: a shared cluster key, every frame
authenticated and protected against replay. Sans-IO: bytes in, messages
out; messages in, bytes out.

With ``[peer] key_file`` set on both nodes (``hanode keygen`` writes one),
the peer link carries, in each direction:

1. one **hello** frame first: ``u16 length = 48 | u8 type = 0x80 |
   nonce (16 random octets) | tag (32)`` with ``tag = HMAC-SHA256(key,
   "hanode-hello" | nonce)``: proof that the sender holds the key;
2. then every frame as usual (``u16 length | u8 pdu-type | UPER payload``)
   with a **trailer** after the payload, counted in the length:
   ``seq (8 octets, big-endian, 1, 2, 3 ...) | tag (16)``, where
   ``tag = HMAC-SHA256(k, pdu-type | seq | payload)[:16]`` and ``k =
   HMAC-SHA256(key, "hanode-link" | sender's nonce | receiver's nonce)``.

A session key made from both nodes' fresh nonces means a frame recorded on
one connection is worthless on any other, and the strictly increasing
``seq`` means one replayed, dropped or reordered within a connection is
seen (TCP delivers in order, so the next ``seq`` is known exactly). A frame
that fails is dropped, logged, and its connection closed: a stream cannot
resynchronise, and a peer with the wrong key never gets a message to the
election.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import struct

from hanode.errors import FrameError
from hanode.framing import DEFAULT_MAX_PAYLOAD, HEADER_SIZE, FrameDecoder, encode_frame
from hanode.wire import _ENCODE, PEER_TYPES, decode_payload

__all__ = ["AuthError", "PeerAuth", "HELLO_TYPE", "KEY_SIZE", "load_key", "write_key"]

HELLO_TYPE = 0x80             # the hello frame's type octet (no PDU uses it)
KEY_SIZE = 32                 # octets in a cluster key (64 hex digits in its file)
NONCE_SIZE = 16
SEQ_SIZE = 8
TAG_SIZE = 16                 # of a frame; the hello carries a whole HMAC-SHA256
TRAILER = SEQ_SIZE + TAG_SIZE
_HELLO_LEN = NONCE_SIZE + 32
_SEQ = struct.Struct(">Q")


class AuthError(FrameError):
    """A peer frame failed authentication; the connection must be closed."""


class AUTHENTICATED:
    """What :meth:`PeerAuth.feed` yields once the peer's hello has been
    verified: from now on the link may carry messages both ways."""


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


class PeerAuth:
    """One peer connection's authentication, both directions."""

    def __init__(self, key: bytes, *, max_payload: int = DEFAULT_MAX_PAYLOAD, nonce: bytes | None = None):
        if len(key) != KEY_SIZE:
            raise ValueError(f"a cluster key is {KEY_SIZE} octets, got {len(key)}")
        self._key = key
        self._nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE)
        self._frames = FrameDecoder(max_payload=max_payload + TRAILER, allowed=PEER_TYPES)
        self._out_key: bytes | None = None
        self._in_key: bytes | None = None
        self._out_seq = 0
        self._in_seq = 0
        self._raw = bytearray()        # bytes before the peer's hello is complete
        self.count = 0                 # frames received, for error messages

    @property
    def ready(self) -> bool:
        """The peer's hello has been verified."""
        return self._in_key is not None

    def hello(self) -> bytes:
        """Our hello frame: send it first, before anything else."""
        return bytes([_HELLO_LEN >> 8, _HELLO_LEN & 0xFF, HELLO_TYPE]) + self._nonce + _mac(self._key, b"hanode-hello", self._nonce)

    def seal(self, msg) -> bytes:
        """The authenticated frame carrying ``msg`` (only once :attr:`ready`:
        the agent tells the node about the link after the peer's hello)."""
        if self._out_key is None:
            raise RuntimeError("PeerAuth.seal before the peer's hello was verified")
        pdu_type, encode = _ENCODE[type(msg)]
        payload = encode(msg)
        self._out_seq += 1
        seq = _SEQ.pack(self._out_seq)
        tag = _mac(self._out_key, bytes([pdu_type]), seq, payload)[:TAG_SIZE]
        return encode_frame(pdu_type, payload + seq + tag)

    def feed(self, data: bytes) -> list:
        """Every message in ``data``, verified; :class:`AUTHENTICATED` (the
        class itself) first once the peer's hello checks out. Raises
        AuthError, FrameError or DecodeError; the connection must then close."""
        out: list = []
        if self._in_key is None:
            self._raw += data
            if len(self._raw) < HEADER_SIZE + _HELLO_LEN:
                if len(self._raw) >= HEADER_SIZE and (self._raw[2] != HELLO_TYPE or (self._raw[0] << 8 | self._raw[1]) != _HELLO_LEN):
                    raise AuthError("peer link: the first frame is not a hello; is [peer] key_file set on both nodes?")
                return out
            frame, rest = bytes(self._raw[:HEADER_SIZE + _HELLO_LEN]), bytes(self._raw[HEADER_SIZE + _HELLO_LEN:])
            self._raw = bytearray()
            if frame[2] != HELLO_TYPE or (frame[0] << 8 | frame[1]) != _HELLO_LEN:
                raise AuthError("peer link: the first frame is not a hello; is [peer] key_file set on both nodes?")
            nonce, tag = frame[HEADER_SIZE:HEADER_SIZE + NONCE_SIZE], frame[HEADER_SIZE + NONCE_SIZE:]
            if not hmac.compare_digest(tag, _mac(self._key, b"hanode-hello", nonce)):
                raise AuthError("peer link: the hello is not signed with our cluster key (a different key_file?)")
            if nonce == self._nonce:
                raise AuthError("peer link: the hello carries our own nonce (a reflected connection)")
            self._out_key = _mac(self._key, b"hanode-link", self._nonce, nonce)
            self._in_key = _mac(self._key, b"hanode-link", nonce, self._nonce)
            out.append(AUTHENTICATED)
            data = rest
        for pdu_type, body in self._frames.feed_frames(data):
            self.count += 1
            if len(body) < TRAILER:
                raise AuthError(f"peer link: frame {self.count} has no authentication trailer")
            payload, seq, tag = body[:-TRAILER], body[-TRAILER:-TAG_SIZE], body[-TAG_SIZE:]
            if not hmac.compare_digest(tag, _mac(self._in_key, bytes([int(pdu_type)]), seq, payload)[:TAG_SIZE]):
                raise AuthError(f"peer link: frame {self.count} fails authentication (altered, or another key)")
            number = _SEQ.unpack(seq)[0]
            if number != self._in_seq + 1:
                raise AuthError(f"peer link: frame {self.count} has sequence {number}, expected {self._in_seq + 1} (replayed or dropped)")
            self._in_seq = number
            out.append(decode_payload(pdu_type, payload, self.count))
        return out

    @property
    def buffered(self) -> int:
        return len(self._raw) + self._frames.buffered


# -- key files ------------------------------------------------------------------------------------------

def write_key(path: str) -> None:
    """A new random cluster key in ``path`` (owner-only; never overwrites)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(KEY_SIZE) + "\n")


def load_key(path: str) -> bytes:
    """The cluster key in ``path``; ValueError naming the file and the fix
    (the caller names the setting that pointed at it)."""
    try:
        st = os.stat(path)
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}; create one with `hanode keygen --out {path}`") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != KEY_SIZE:
        raise ValueError(f"{path} does not hold a key ({KEY_SIZE * 2} hex digits); make one with `hanode keygen --out FILE`")
    return raw

"""docs/protocol.md: every example in it is checked against the real codec.

The document's examples are fenced blocks of ``key: value`` lines (a value may
go on over indented continuation lines). Three kinds:

- a PDU example (the block has ``message:``)::

      message: <a hanode.codec expression, evaluated in a restricted namespace>
      asn1:    <the same value in ASN.1 value notation>
      payload: <its UPER encoding, hex octets>
      frame:   <the whole frame, hex octets>
      bits:    (optional) one bit group per indented line, then a comment

  Checked: ``encode(msg)`` is the payload, asn1tools (the independent oracle of
  ``tests/asn1ref.py``) encodes the same, ``decode`` gives the message back, the
  frame is ``encode_frame(type, payload)``, the ``asn1:`` line is the value
  notation of the message, and the ``bits:`` groups are the payload's bits.
- a rejected payload (``reject: payload``, ``pdu:``, ``payload:``): ``decode``
  raises DecodeError; a rejected value (``reject: encode``, ``value:``):
  ``encode`` raises EncodeError.
- a rejected stream (``reject: stream``, ``socket:``, ``stream:``): the frame
  decoder of that socket, then the codec, raise FrameError or DecodeError.

The client sketch (the ``python`` block defining ``get_status``) is run
against a stub status server.
"""

from __future__ import annotations

import ast
import enum
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

import hanode.codec as codec
from hanode.errors import DecodeError, EncodeError, FrameError
from hanode.framing import FrameDecoder, PduType, encode_frame

from asn1ref import ref_encode

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"

# The classes and enums an example may name; nothing else (no builtins).
_NAMES = (
    "ElectionMessage", "NominationMessage", "ElectionError", "Assigment", "Veto",
    "HealthMonitorMessage", "HealthQuery", "HealthQueryResponse", "HeartBeat", "BillOfHealth", "ComponentStatus",
    "RoleMessage", "SetRole", "SetRoleResponse", "Role", "ReturnCode",
    "ServiceStatusMessage", "GetStatus", "StatusIndication", "GetStatusResponse",
)
NAMESPACE = {name: getattr(codec, name) for name in _NAMES}

PDU_TYPE = {
    codec.ElectionMessage: PduType.ELECTION,
    codec.RoleMessage: PduType.ROLE,
    codec.HealthMonitorMessage: PduType.MONITOR,
    codec.ServiceStatusMessage: PduType.STATUS,
}
PDU_OF_TYPE = {t: cls for cls, t in PDU_TYPE.items()}

# The PDU types each socket carries (docs/protocol.md, "Framing").
SOCKETS = {
    "peer": {PduType.ELECTION, PduType.MONITOR},
    "component": {PduType.ROLE, PduType.MONITOR},
    "status": {PduType.STATUS},
}

# How each alternative class is named in ASN.1 value notation (the CHOICE
# identifiers of asn1/*.asn, written out by hand; ElectionResult is nested).
CHOICE = {
    codec.NominationMessage: "nominationMsg",
    codec.ElectionError: "electionResult : electionError",
    codec.Assigment: "electionResult : assigment",
    codec.Veto: "electionResult : veto",
    codec.HealthQuery: "healthQuery",
    codec.HealthQueryResponse: "healthQueryResponse",
    codec.HeartBeat: "heartBeat",
    codec.SetRole: "setRole",
    codec.SetRoleResponse: "setRoleResponse",
    codec.GetStatus: "getStatus",
    codec.StatusIndication: "statusIndication",
    codec.GetStatusResponse: "getStatusResponse",
}


def value_notation(value) -> str:
    """X.680 value notation of a hanode message object."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    parts = []
    for asn1_name, attr in type(value).__asn1_fields__:
        field = getattr(value, attr)
        if type(field) in CHOICE:
            parts.append(f"{asn1_name} {CHOICE[type(field)]} : {value_notation(field)}")
        else:
            parts.append(f"{asn1_name} {value_notation(field)}")
    return "{ " + ", ".join(parts) + " }" if parts else "{ }"


# -- parsing the document ----------------------------------------------------------------------

@dataclass
class Block:
    line: int  # where the block starts in the document (1-based)
    fields: dict[str, str]
    bits: list[str]

    def hex(self, key: str) -> bytes:
        text = self.fields[key]
        assert re.fullmatch(r"(?:[0-9a-f]{2} )*[0-9a-f]{2}", text), (
            f"line {self.line}: {key} must be lower-case hex octets separated by single spaces: {text!r}"
        )
        return bytes.fromhex(text)


_KEY = re.compile(r"^([a-z0-9-]+):[ \t]*(.*)$")


def parse_blocks(text: str) -> list[Block]:
    """Every fenced block whose first line is a ``key: value`` line of a known key."""
    blocks = []
    for m in re.finditer(r"^```[a-z]*\n(.*?)^```$", text, flags=re.S | re.M):
        body = m.group(1).rstrip("\n").split("\n")
        first = _KEY.match(body[0])
        if not first or first.group(1) not in ("message", "reject"):
            continue
        fields: dict[str, str] = {}
        bits: list[str] = []
        key = None
        start = text.count("\n", 0, m.start()) + 1
        for n, raw in enumerate(body):
            km = _KEY.match(raw)
            if km:
                key = km.group(1)
                assert key not in fields, f"line {start + n + 1}: {key} given twice"
                fields[key] = km.group(2).strip()
            elif raw.startswith((" ", "\t")) and key is not None:
                if key == "bits":
                    group = raw.split()[0]
                    assert re.fullmatch(r"[01]+", group), f"line {start + n + 1}: not a bit group: {raw!r}"
                    bits.append(group)
                else:
                    fields[key] = (fields[key] + " " + raw.strip()).strip()
            else:
                raise AssertionError(f"line {start + n + 1}: not a 'key: value' or continuation line: {raw!r}")
        blocks.append(Block(start, fields, bits))
    return blocks


def evaluate(block: Block, key: str):
    return eval(block.fields[key], {"__builtins__": {}}, dict(NAMESPACE))  # noqa: S307


TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = parse_blocks(TEXT)
EXAMPLES = [b for b in BLOCKS if "message" in b.fields]
REJECTS = [b for b in BLOCKS if "reject" in b.fields]


def _id(block: Block) -> str:
    return f"line{block.line}"


# -- PDU examples ---------------------------------------------------------------------------------

def test_enough_examples():
    assert len(EXAMPLES) >= 15, f"found {len(EXAMPLES)} examples"
    assert len(REJECTS) >= 5, f"found {len(REJECTS)} rejected inputs"
    assert sum(1 for b in EXAMPLES if b.bits) >= 2, "bit-by-bit breakdowns of at least two examples"


def test_no_example_is_skipped():
    """A block of example keys whose first key is misspelt would escape the checks."""
    fenced = re.findall(r"^```[a-z]*\n(.*?)^```$", TEXT, flags=re.S | re.M)
    keyed = [b for b in fenced if re.search(r"^(message|asn1|payload|frame|bits|reject|pdu|value|socket|stream|why):", b, flags=re.M)]
    assert len(keyed) == len(BLOCKS), "a block of examples does not start with message: or reject:"


def test_every_alternative_has_an_example():
    shown = {type(evaluate(b, "message").message) for b in EXAMPLES}
    assert shown == set(CHOICE), f"no example of {sorted(c.__name__ for c in set(CHOICE) - shown)}"


@pytest.mark.parametrize("block", EXAMPLES, ids=_id)
def test_example(block: Block):
    assert set(block.fields) <= {"message", "asn1", "payload", "frame", "bits"}, sorted(block.fields)
    for key in ("asn1", "payload", "frame"):
        assert key in block.fields, f"line {block.line}: no {key}:"
    msg = evaluate(block, "message")
    assert type(msg) in PDU_TYPE, f"line {block.line}: not a PDU: {msg!r}"
    payload = block.hex("payload")
    assert codec.encode(msg) == payload, f"line {block.line}: payload should be {codec.encode(msg).hex(' ')}"
    assert ref_encode(msg) == payload, f"line {block.line}: asn1tools encodes {ref_encode(msg).hex(' ')}"
    assert codec.decode(type(msg), payload) == msg
    frame = encode_frame(PDU_TYPE[type(msg)], payload)
    assert block.hex("frame") == frame, f"line {block.line}: frame should be {frame.hex(' ')}"
    assert block.fields["asn1"] == value_notation(msg), f"line {block.line}: asn1 should be {value_notation(msg)}"
    if block.bits:
        bits = "".join(block.bits)
        assert len(bits) % 8 == 0, f"line {block.line}: {len(bits)} bits is not whole octets"
        assert bits == "".join(f"{o:08b}" for o in payload), f"line {block.line}: bits differ from the payload"


# -- rejected inputs --------------------------------------------------------------------------------

@pytest.mark.parametrize("block", REJECTS, ids=_id)
def test_rejected(block: Block):
    kind = block.fields["reject"]
    assert block.fields.get("why"), f"line {block.line}: say why: it is rejected"
    if kind == "payload":
        assert set(block.fields) == {"reject", "pdu", "payload", "why"}, sorted(block.fields)
        pdu = NAMESPACE[block.fields["pdu"]]
        assert pdu in PDU_TYPE
        with pytest.raises(DecodeError):
            codec.decode(pdu, block.hex("payload"))
    elif kind == "encode":
        assert set(block.fields) == {"reject", "value", "why"}, sorted(block.fields)
        with pytest.raises(EncodeError):
            codec.encode(evaluate(block, "value"))
    elif kind == "stream":
        assert set(block.fields) == {"reject", "socket", "stream", "why"}, sorted(block.fields)
        decoder = FrameDecoder(allowed=SOCKETS[block.fields["socket"]])
        with pytest.raises((FrameError, DecodeError)):
            decoder.feed(block.hex("stream"))
            for frame in decoder:
                codec.decode(PDU_OF_TYPE[frame.pdu_type], frame.payload)
    else:
        raise AssertionError(f"line {block.line}: unknown reject kind {kind!r}")


# -- the client sketch ------------------------------------------------------------------------------

def _sketch() -> str:
    found = [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```$", TEXT, flags=re.S | re.M)
             if "def get_status" in m.group(1)]
    assert len(found) == 1, "one python block defines get_status"
    return found[0]


def test_sketch_uses_only_socket_and_struct():
    imported = set()
    for node in ast.walk(ast.parse(_sketch())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"socket", "struct"}, imported


def _serve(replies: list[bytes], received: list[bytes]) -> tuple[int, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run():
        with server:
            conn, _ = server.accept()
            with conn:
                data = b""
                while len(data) < 5:
                    chunk = conn.recv(64)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                for reply in replies:  # one octet at a time: the client must reassemble
                    for i in range(len(reply)):
                        conn.sendall(reply[i:i + 1])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


@pytest.mark.parametrize("status", ["active", "standby", "x" * 200, "nœud"])
def test_sketch_against_a_stub_server(status: str):
    namespace: dict = {"__name__": "sketch"}
    exec(compile(_sketch(), str(DOC), "exec"), namespace)  # noqa: S102

    def frame(msg) -> bytes:
        return encode_frame(PduType.STATUS, codec.encode(msg))

    # An indication may arrive before the answer: the client skips it.
    replies = [
        frame(codec.ServiceStatusMessage("", codec.StatusIndication("promoting"))),
        frame(codec.ServiceStatusMessage("1", codec.GetStatusResponse(status))),
    ]
    received: list[bytes] = []
    port, thread = _serve(replies, received)
    assert namespace["get_status"]("127.0.0.1", port) == status
    thread.join(5)
    assert received == [frame(codec.ServiceStatusMessage("1", codec.GetStatus()))]

"""Independent reference for the UPER codec tests: asn1tools plus hand converters.

This module is the test oracle, so nothing in it comes from ``hanode.codegen``:
the asn1tools specification is compiled from ``asn1/*.asn`` directly, and the
converters between hanode message objects and asn1tools values are written by
hand, type by type, from the four ASN.1 modules.

asn1tools values: SEQUENCE -> dict keyed by the ASN.1 component names, CHOICE ->
``(alternative_name, value)`` tuple, ENUMERATED -> the identifier string,
NumericString/UTF8String -> ``str``.

It also holds ``BitWriter``, used to hand-craft (mostly invalid) UPER bit
strings for the decoder error tests.

Imported by the tests as ``from asn1ref import ...`` (``tests/`` is on sys.path
under pytest's default "prepend" import mode, since ``tests/`` is no package).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import asn1tools

ASN1_DIR = Path(__file__).resolve().parent.parent / "asn1"

NUMERIC_ALPHABET = " 0123456789"


# --------------------------------------------------------------------------
# asn1tools reference
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def spec():
    """The asn1tools UPER specification of the four modules (compiled once)."""
    texts = []
    for path in sorted(ASN1_DIR.glob("*.asn")):
        text = path.read_text(encoding="utf-8")
        # asn1tools rejects the (valid X.680) empty EXPORTS/IMPORTS statements.
        texts.append(re.sub(r"\b(EXPORTS|IMPORTS)\s*;", "", text))
    assert len(texts) == 4, f"expected 4 ASN.1 modules in {ASN1_DIR}, got {len(texts)}"
    return asn1tools.compile_string("\n".join(texts), "uper")


def ref_encode_value(pdu_name: str, value) -> bytes:
    """asn1tools UPER encoding of an asn1tools value."""
    return bytes(spec().encode(pdu_name, value))


def ref_decode_value(pdu_name: str, data: bytes):
    """asn1tools UPER decoding to an asn1tools value."""
    return spec().decode(pdu_name, data)


# --------------------------------------------------------------------------
# Hand-written converters hanode object <-> asn1tools value
# --------------------------------------------------------------------------


def _codec():
    import hanode.codec as codec

    return codec


# ENUMERATED identifiers in ASN.1 declaration order (root values 0, 1).
_RETURN_CODE_NAMES = ("success", "failure")
_ROLE_NAMES = ("active", "standby")
_COMPONENT_STATUS_NAMES = ("ok", "failed")


def _enum_to_name(names, value) -> str:
    index = int(value)
    if not 0 <= index < len(names):
        raise ValueError(f"enum value {value!r} out of range for {names}")
    return names[index]


def _enum_from_name(enum_cls, names, name: str):
    return enum_cls(names.index(name))


def _bill_of_health_to_asn1(boh) -> dict:
    return {"status": _enum_to_name(_COMPONENT_STATUS_NAMES, boh.status)}


def _bill_of_health_from_asn1(value: dict):
    c = _codec()
    return c.BillOfHealth(
        status=_enum_from_name(c.ComponentStatus, _COMPONENT_STATUS_NAMES, value["status"])
    )


def election_to_asn1(msg) -> dict:
    c = _codec()
    m = msg.message
    # Test exact classes: the CHOICE is the class of the alternative.
    if type(m) is c.NominationMessage:
        choice = ("nominationMsg", {"nominee": m.nominee})
    elif type(m) is c.ElectionError:
        choice = ("electionResult", ("electionError", {"description": m.description}))
    elif type(m) is c.Assigment:
        choice = ("electionResult", ("assigment", {"active": m.active, "standby": m.standby}))
    elif type(m) is c.Veto:
        choice = ("electionResult", ("veto", {"active": m.active, "standby": m.standby}))
    else:
        raise TypeError(f"not an ElectionMessage.message alternative: {m!r}")
    return {"correlationId": msg.correlation_id, "message": choice}


def election_from_asn1(value: dict):
    c = _codec()
    name, alt = value["message"]
    if name == "nominationMsg":
        message = c.NominationMessage(nominee=alt["nominee"])
    elif name == "electionResult":
        rname, r = alt
        if rname == "electionError":
            message = c.ElectionError(description=r["description"])
        elif rname == "assigment":
            message = c.Assigment(active=r["active"], standby=r["standby"])
        elif rname == "veto":
            message = c.Veto(active=r["active"], standby=r["standby"])
        else:
            raise ValueError(rname)
    else:
        raise ValueError(name)
    return c.ElectionMessage(correlation_id=value["correlationId"], message=message)


def role_to_asn1(msg) -> dict:
    c = _codec()
    m = msg.message
    if type(m) is c.SetRole:
        choice = ("setRole", {"role": _enum_to_name(_ROLE_NAMES, m.role)})
    elif type(m) is c.SetRoleResponse:
        choice = (
            "setRoleResponse",
            {"returnCode": _enum_to_name(_RETURN_CODE_NAMES, m.return_code)},
        )
    else:
        raise TypeError(f"not a RoleMessage.message alternative: {m!r}")
    return {"correlationId": msg.correlation_id, "message": choice}


def role_from_asn1(value: dict):
    c = _codec()
    name, alt = value["message"]
    if name == "setRole":
        message = c.SetRole(role=_enum_from_name(c.Role, _ROLE_NAMES, alt["role"]))
    elif name == "setRoleResponse":
        message = c.SetRoleResponse(
            return_code=_enum_from_name(c.ReturnCode, _RETURN_CODE_NAMES, alt["returnCode"])
        )
    else:
        raise ValueError(name)
    return c.RoleMessage(correlation_id=value["correlationId"], message=message)


def health_to_asn1(msg) -> dict:
    c = _codec()
    m = msg.message
    if type(m) is c.HealthQuery:
        choice = ("healthQuery", {})
    elif type(m) is c.HealthQueryResponse:
        choice = ("healthQueryResponse", {"billOfHealth": _bill_of_health_to_asn1(m.bill_of_health)})
    elif type(m) is c.HeartBeat:
        choice = ("heartBeat", {"billOfHealth": _bill_of_health_to_asn1(m.bill_of_health)})
    else:
        raise TypeError(f"not a HealthMonitorMessage.message alternative: {m!r}")
    return {
        "correlationId": msg.correlation_id,
        "componentId": msg.component_id,
        "message": choice,
    }


def health_from_asn1(value: dict):
    c = _codec()
    name, alt = value["message"]
    if name == "healthQuery":
        message = c.HealthQuery()
    elif name == "healthQueryResponse":
        message = c.HealthQueryResponse(bill_of_health=_bill_of_health_from_asn1(alt["billOfHealth"]))
    elif name == "heartBeat":
        message = c.HeartBeat(bill_of_health=_bill_of_health_from_asn1(alt["billOfHealth"]))
    else:
        raise ValueError(name)
    return c.HealthMonitorMessage(
        correlation_id=value["correlationId"],
        component_id=value["componentId"],
        message=message,
    )


def status_to_asn1(msg) -> dict:
    c = _codec()
    m = msg.message
    if type(m) is c.GetStatus:
        choice = ("getStatus", {})
    elif type(m) is c.StatusIndication:
        choice = ("statusIndication", {"status": m.status})
    elif type(m) is c.GetStatusResponse:
        choice = ("getStatusResponse", {"status": m.status})
    else:
        raise TypeError(f"not a ServiceStatusMessage.message alternative: {m!r}")
    return {"correlationId": msg.correlation_id, "message": choice}


def status_from_asn1(value: dict):
    c = _codec()
    name, alt = value["message"]
    if name == "getStatus":
        message = c.GetStatus()
    elif name == "statusIndication":
        message = c.StatusIndication(status=alt["status"])
    elif name == "getStatusResponse":
        message = c.GetStatusResponse(status=alt["status"])
    else:
        raise ValueError(name)
    return c.ServiceStatusMessage(correlation_id=value["correlationId"], message=message)


# pdu ASN.1 name -> (to_asn1, from_asn1)
CONVERTERS = {
    "ElectionMessage": (election_to_asn1, election_from_asn1),
    "RoleMessage": (role_to_asn1, role_from_asn1),
    "HealthMonitorMessage": (health_to_asn1, health_from_asn1),
    "ServiceStatusMessage": (status_to_asn1, status_from_asn1),
}

PDU_NAMES = tuple(CONVERTERS)


def pdu_name_of(msg) -> str:
    """ASN.1 name of the PDU type of a hanode message object (by exact class)."""
    c = _codec()
    classes = {
        c.ElectionMessage: "ElectionMessage",
        c.RoleMessage: "RoleMessage",
        c.HealthMonitorMessage: "HealthMonitorMessage",
        c.ServiceStatusMessage: "ServiceStatusMessage",
    }
    return classes[type(msg)]


def pdu_class(pdu_name: str):
    return getattr(_codec(), pdu_name)


def to_asn1(msg):
    """(pdu_name, asn1tools value) of a hanode PDU object."""
    name = pdu_name_of(msg)
    return name, CONVERTERS[name][0](msg)


def from_asn1(pdu_name: str, value):
    return CONVERTERS[pdu_name][1](value)


def ref_encode(msg) -> bytes:
    """asn1tools encoding of a hanode PDU object (valid values only)."""
    name, value = to_asn1(msg)
    return ref_encode_value(name, value)


def ref_decode(pdu_name: str, data: bytes):
    """asn1tools decoding of bytes, converted to a hanode PDU object."""
    return from_asn1(pdu_name, ref_decode_value(pdu_name, data))


# --------------------------------------------------------------------------
# Bit-level builder for hand-crafted UPER inputs
# --------------------------------------------------------------------------


class BitWriter:
    """Accumulate bits MSB first; ``to_bytes`` pads the last octet with zeros."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def uint(self, value: int, nbits: int) -> "BitWriter":
        assert 0 <= value < (1 << nbits), (value, nbits)
        self.value = (self.value << nbits) | value
        self.count += nbits
        return self

    def octets(self, data: bytes) -> "BitWriter":
        if data:
            self.uint(int.from_bytes(data, "big"), 8 * len(data))
        return self

    # -- UPER pieces of our types ------------------------------------------

    def numeric(self, text: str, length: int | None = None) -> "BitWriter":
        """NumericString (SIZE(0..16)): 5-bit length, 4-bit alphabet indexes."""
        self.uint(len(text) if length is None else length, 5)
        for ch in text:
            self.uint(NUMERIC_ALPHABET.index(ch), 4)
        return self

    def numeric_indexes(self, indexes) -> "BitWriter":
        """NumericString given as raw 4-bit indexes (may be invalid ones)."""
        self.uint(len(indexes), 5)
        for i in indexes:
            self.uint(i, 4)
        return self

    def length(self, n: int) -> "BitWriter":
        """Canonical unconstrained length determinant for n < 16384."""
        assert 0 <= n < 16384
        if n < 128:
            return self.uint(n, 8)
        return self.uint(0x8000 | n, 16)

    def utf8(self, text_or_octets) -> "BitWriter":
        """Unbounded UTF8String with a canonical (non-fragmented) length, < 16K octets."""
        data = text_or_octets.encode("utf-8") if isinstance(text_or_octets, str) else text_or_octets
        self.length(len(data))
        return self.octets(data)

    def nbits(self) -> int:
        return self.count

    def to_bytes(self) -> bytes:
        pad = -self.count % 8
        return (self.value << pad).to_bytes((self.count + pad) // 8, "big")


def bw() -> BitWriter:
    return BitWriter()

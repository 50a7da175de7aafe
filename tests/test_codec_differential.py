"""Differential tests: hanode's UPER codec against asn1tools, on valid values.

Properties, for every PDU:
- ``decode(encode(x)) == x``;
- ``encode(x)`` is byte-identical to asn1tools' encoding;
- hanode decodes asn1tools' encoding back to ``x`` (and asn1tools decodes ours);
- the per-PDU fast functions agree with ``encode``/``decode``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asn1ref import PDU_NAMES, ref_decode, ref_encode, pdu_name_of
from hanode.codec import (
    PDUS,
    Assigment,
    BillOfHealth,
    ComponentStatus,
    ElectionError,
    ElectionMessage,
    GetStatus,
    GetStatusResponse,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    NominationMessage,
    ReturnCode,
    Role,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    StatusIndication,
    Veto,
    decode,
    decode_election_message,
    decode_health_monitor_message,
    decode_role_message,
    decode_service_status_message,
    encode,
    encode_election_message,
    encode_health_monitor_message,
    encode_role_message,
    encode_service_status_message,
)

# ---------------------------------------------------------------------------
# Strategies (valid values only)
# ---------------------------------------------------------------------------

numeric = st.text(alphabet=" 0123456789", max_size=16)
# Any Unicode scalar value (no surrogates: those are not encodable in UTF-8).
_chars = st.characters(exclude_categories=("Cs",))
candidate = st.text(alphabet=_chars, max_size=16)
unbounded = st.one_of(
    st.text(alphabet=_chars, max_size=300),
    # mostly-multibyte text, so octet counts cross 128 with fewer characters
    st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=("Cs",)), min_size=20, max_size=200),
)

election_messages = st.builds(
    ElectionMessage,
    correlation_id=numeric,
    message=st.one_of(
        st.builds(NominationMessage, nominee=candidate),
        st.builds(ElectionError, description=unbounded),
        st.builds(Assigment, active=candidate, standby=candidate),
        st.builds(Veto, active=candidate, standby=candidate),
    ),
)
role_messages = st.builds(
    RoleMessage,
    correlation_id=numeric,
    message=st.one_of(
        st.builds(SetRole, role=st.sampled_from(Role)),
        st.builds(SetRoleResponse, return_code=st.sampled_from(ReturnCode)),
    ),
)
bill_of_health = st.builds(BillOfHealth, status=st.sampled_from(ComponentStatus))
health_monitor_messages = st.builds(
    HealthMonitorMessage,
    correlation_id=numeric,
    component_id=numeric,
    message=st.one_of(
        st.builds(HealthQuery),
        st.builds(HealthQueryResponse, bill_of_health=bill_of_health),
        st.builds(HeartBeat, bill_of_health=bill_of_health),
    ),
)
service_status_messages = st.builds(
    ServiceStatusMessage,
    correlation_id=numeric,
    message=st.one_of(
        st.builds(GetStatus),
        st.builds(StatusIndication, status=unbounded),
        st.builds(GetStatusResponse, status=unbounded),
    ),
)

STRATEGIES = {
    "ElectionMessage": election_messages,
    "RoleMessage": role_messages,
    "HealthMonitorMessage": health_monitor_messages,
    "ServiceStatusMessage": service_status_messages,
}
PDU_CLASS = {
    "ElectionMessage": ElectionMessage,
    "RoleMessage": RoleMessage,
    "HealthMonitorMessage": HealthMonitorMessage,
    "ServiceStatusMessage": ServiceStatusMessage,
}
FAST = {
    "ElectionMessage": (encode_election_message, decode_election_message),
    "RoleMessage": (encode_role_message, decode_role_message),
    "HealthMonitorMessage": (encode_health_monitor_message, decode_health_monitor_message),
    "ServiceStatusMessage": (encode_service_status_message, decode_service_status_message),
}

any_pdu = st.one_of(*STRATEGIES.values())

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
per_pdu = pytest.mark.parametrize("pdu", PDU_NAMES)


def test_pdus_tuple():
    assert isinstance(PDUS, tuple)
    assert set(PDUS) == set(PDU_CLASS.values())
    assert len(PDUS) == 4


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@per_pdu
@SETTINGS
@given(data=st.data())
def test_roundtrip(pdu, data):
    x = data.draw(STRATEGIES[pdu])
    b = encode(x)
    assert type(b) is bytes and len(b) >= 1
    y = decode(PDU_CLASS[pdu], b)
    assert type(y) is PDU_CLASS[pdu]
    assert y == x
    assert hash(y) == hash(x)


@per_pdu
@SETTINGS
@given(data=st.data())
def test_encode_matches_asn1tools(pdu, data):
    x = data.draw(STRATEGIES[pdu])
    assert pdu_name_of(x) == pdu
    assert encode(x).hex() == ref_encode(x).hex()


@per_pdu
@SETTINGS
@given(data=st.data())
def test_decode_asn1tools_encoding(pdu, data):
    x = data.draw(STRATEGIES[pdu])
    assert decode(PDU_CLASS[pdu], ref_encode(x)) == x
    # and the other direction: asn1tools understands what we write
    assert ref_decode(pdu, encode(x)) == x


@per_pdu
@SETTINGS
@given(data=st.data())
def test_fast_functions_agree(pdu, data):
    x = data.draw(STRATEGIES[pdu])
    enc, dec = FAST[pdu]
    b = encode(x)
    assert enc(x) == b
    assert dec(b) == decode(PDU_CLASS[pdu], b) == x


# ---------------------------------------------------------------------------
# Large unbounded UTF8String values: the general length determinant
# ---------------------------------------------------------------------------


def _length_determinant_bits(n_octets: int) -> int:
    """Bits X.691 10.9.3 uses for the length determinant(s) of n octets."""
    bits = 0
    remaining = n_octets
    while remaining >= 16384:
        chunk = min(remaining // 16384, 4) * 16384
        bits += 8
        remaining -= chunk
    # the remainder (possibly 0, which terminates a fragmented encoding)
    bits += 8 if remaining < 128 else 16
    return bits


def _expected_length_prefix(n_octets: int) -> bytes:
    """First length determinant octet(s) for n octets (canonical)."""
    if n_octets < 128:
        return bytes([n_octets])
    if n_octets < 16384:
        return bytes([0x80 | (n_octets >> 8), n_octets & 0xFF])
    return bytes([0xC0 | min(n_octets // 16384, 4)])


BIG_ASCII_SIZES = [0, 1, 127, 128, 16383, 16384, 16385, 32768, 49152, 65536, 65537, 100000]

BIG_TEXTS = [pytest.param("a" * n, id=f"ascii-{n}") for n in BIG_ASCII_SIZES] + [
    # multi-byte UTF-8 whose octet count crosses the thresholds
    pytest.param("\u00e9" * 63 + "a", id="2byte-127oct"),
    pytest.param("\u00e9" * 64, id="2byte-128oct"),
    pytest.param("\u20ac" * 42 + "\u00e9", id="mixed-128oct"),
    pytest.param("\u00e9" * 8191 + "a", id="2byte-16383oct"),
    pytest.param("\u00e9" * 8192, id="2byte-16384oct"),
    pytest.param("\U0001f600" * 4096, id="4byte-16384oct"),
    # a 3-octet character straddles the 16K fragment boundary
    pytest.param("\u20ac" * 5462, id="3byte-16386oct-straddle"),
    pytest.param("a" + "\U0001f600" * 4096, id="4byte-16385oct-straddle"),
    pytest.param("\u00e9" * 16384, id="2byte-32768oct"),
    pytest.param("\u20ac" * 16384, id="3byte-49152oct"),
    pytest.param("\U0001f600" * 16384, id="4byte-65536oct"),
    pytest.param("\U0001f600" * 16384 + "z", id="4byte-65537oct"),
    pytest.param("\u20ac" * 33334, id="3byte-100002oct"),
]


@pytest.mark.parametrize("text", BIG_TEXTS)
@pytest.mark.parametrize("alt", [StatusIndication, GetStatusResponse])
def test_big_status(text, alt):
    x = ServiceStatusMessage(correlation_id="", message=alt(status=text))
    n = len(text.encode("utf-8"))
    b = encode(x)
    ref = ref_encode(x)
    assert b == ref
    # independent size check: 5 bits NumericString length + 2 bits CHOICE
    # + length determinant(s) + the octets, padded to a whole octet
    assert len(b) == (5 + 2 + _length_determinant_bits(n) + 8 * n + 7) // 8
    # the first length determinant octet(s) sit after 7 bits
    prefix = _expected_length_prefix(n)
    head = int.from_bytes(b[: len(prefix) + 1], "big")  # 7 header bits + prefix + 1 bit
    assert (head >> 1) & ((1 << (8 * len(prefix))) - 1) == int.from_bytes(prefix, "big")
    y = decode(ServiceStatusMessage, b)
    assert y == x
    assert decode_service_status_message(ref) == x
    assert type(y.message.status) is str


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("d" * 16384, id="ascii-16384"),
        pytest.param("\u00e9" * 40000, id="2byte-80000oct"),
        pytest.param("x" * 127 + "\u00e9", id="129oct"),
    ],
)
def test_big_election_error(text):
    x = ElectionMessage(correlation_id="1234567890123456", message=ElectionError(description=text))
    b = encode(x)
    assert b == ref_encode(x)
    assert decode(ElectionMessage, b) == x
    assert decode_election_message(b) == x


@SETTINGS
@given(any_pdu)
def test_generic_encode_dispatches_on_class(x):
    enc, dec = FAST[pdu_name_of(x)]
    assert encode(x) == enc(x)

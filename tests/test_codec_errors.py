"""Encode and decode errors of the UPER codec: exception type and dotted path.

Encoding: ``hanode.errors.EncodeError`` whose message starts with the dotted
ASN.1 path of the offending field (ASN.1 names, CHOICE alternative names),
e.g. ``"ElectionMessage.message.electionResult.assigment.active: ..."``.
Construction with a wrong Python type may raise ``TypeError`` instead.

Decoding: strict and canonical, only ``hanode.errors.DecodeError`` (whose
message starts with the dotted path), for every byte string ``encode`` cannot
produce. Invalid inputs are hand-built bit by bit with ``asn1ref.BitWriter``;
every one has a "good twin" built the same way that must decode, so each test
fails for the intended reason only.
"""

from __future__ import annotations

import pytest

from asn1ref import ref_encode, bw
from hanode.codec import (
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
from hanode.errors import CodecError, DecodeError, EncodeError

FAST_ENC = {
    ElectionMessage: encode_election_message,
    RoleMessage: encode_role_message,
    HealthMonitorMessage: encode_health_monitor_message,
    ServiceStatusMessage: encode_service_status_message,
}
FAST_DEC = {
    ElectionMessage: decode_election_message,
    RoleMessage: decode_role_message,
    HealthMonitorMessage: decode_health_monitor_message,
    ServiceStatusMessage: decode_service_status_message,
}


def test_error_hierarchy():
    assert issubclass(EncodeError, ValueError) and issubclass(EncodeError, CodecError)
    assert issubclass(DecodeError, ValueError) and issubclass(DecodeError, CodecError)
    assert not issubclass(EncodeError, DecodeError) and not issubclass(DecodeError, EncodeError)


# ===========================================================================
# Encoding
# ===========================================================================


def assert_encode_error(msg, path: str, *keywords: str) -> str:
    """``encode`` and the PDU's fast encoder both raise EncodeError at ``path``."""
    texts = []
    for fn in (encode, FAST_ENC[type(msg)]):
        with pytest.raises(EncodeError) as ei:
            fn(msg)
        text = str(ei.value)
        assert text.startswith(path + ":"), f"{text!r} does not start with {path + ':'!r}"
        low = text.lower()
        for kw in keywords:
            assert kw.lower() in low, f"{text!r} does not mention {kw!r}"
        texts.append(text)
    return texts[0]


def assert_wrong_type(build, path: str) -> None:
    """TypeError at construction, or EncodeError at ``path`` when encoding."""
    try:
        msg = build()
    except TypeError:
        return
    assert_encode_error(msg, path)


# One wrapper per location of each field, and its dotted ASN.1 path.
CORRELATION_ID_SITES = [
    pytest.param(lambda c: ElectionMessage(correlation_id=c, message=NominationMessage("a")), "ElectionMessage.correlationId", id="election"),
    pytest.param(lambda c: RoleMessage(correlation_id=c, message=SetRole(Role.active)), "RoleMessage.correlationId", id="role"),
    pytest.param(lambda c: HealthMonitorMessage(correlation_id=c, component_id="1", message=HealthQuery()), "HealthMonitorMessage.correlationId", id="health"),
    pytest.param(lambda c: ServiceStatusMessage(correlation_id=c, message=GetStatus()), "ServiceStatusMessage.correlationId", id="status"),
]
NUMERIC_SITES = CORRELATION_ID_SITES + [
    pytest.param(lambda c: HealthMonitorMessage(correlation_id="1", component_id=c, message=HealthQuery()), "HealthMonitorMessage.componentId", id="component"),
]
CANDIDATE_SITES = [
    pytest.param(lambda s: ElectionMessage("1", NominationMessage(nominee=s)), "ElectionMessage.message.nominationMsg.nominee", id="nominee"),
    pytest.param(lambda s: ElectionMessage("1", Assigment(active=s, standby="b")), "ElectionMessage.message.electionResult.assigment.active", id="assigment.active"),
    pytest.param(lambda s: ElectionMessage("1", Assigment(active="a", standby=s)), "ElectionMessage.message.electionResult.assigment.standby", id="assigment.standby"),
    pytest.param(lambda s: ElectionMessage("1", Veto(active=s, standby="b")), "ElectionMessage.message.electionResult.veto.active", id="veto.active"),
    pytest.param(lambda s: ElectionMessage("1", Veto(active="a", standby=s)), "ElectionMessage.message.electionResult.veto.standby", id="veto.standby"),
]
UNBOUNDED_SITES = [
    pytest.param(lambda s: ElectionMessage("1", ElectionError(description=s)), "ElectionMessage.message.electionResult.electionError.description", id="description"),
    pytest.param(lambda s: ServiceStatusMessage("1", StatusIndication(status=s)), "ServiceStatusMessage.message.statusIndication.status", id="statusIndication"),
    pytest.param(lambda s: ServiceStatusMessage("1", GetStatusResponse(status=s)), "ServiceStatusMessage.message.getStatusResponse.status", id="getStatusResponse"),
]
STRING_SITES = NUMERIC_SITES + CANDIDATE_SITES + UNBOUNDED_SITES


# --- NumericString -----------------------------------------------------------


@pytest.mark.parametrize("wrap,path", NUMERIC_SITES)
@pytest.mark.parametrize(
    "value",
    [
        "x",
        "12a",
        "-1",
        "1.5",
        "+1",
        "\t",
        "1\n",
        "\x00",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: str.isdigit() is True
        "\uff11",  # FULLWIDTH DIGIT ONE
        "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() is True
        "\u00a0",  # NO-BREAK SPACE
        "0123456789012345:",
    ],
)
def test_numeric_string_bad_character(wrap, path, value):
    assert_encode_error(wrap(value), path, "character")


@pytest.mark.parametrize("wrap,path", NUMERIC_SITES)
@pytest.mark.parametrize("value", ["1" * 17, " " * 17, "0123456789 012345", "9" * 100])
def test_numeric_string_too_long(wrap, path, value):
    text = assert_encode_error(wrap(value), path)
    assert str(len(value)) in text and "16" in text


@pytest.mark.parametrize("wrap,path", NUMERIC_SITES)
@pytest.mark.parametrize("value", ["", " ", "1" * 16, " 0123456789     ", "0000000000000000"])
def test_numeric_string_valid_edges(wrap, path, value):
    msg = wrap(value)
    assert encode(msg) == ref_encode(msg)
    assert decode(type(msg), encode(msg)) == msg


# --- Candidate (UTF8String SIZE(0..16), counted in characters) ----------------


@pytest.mark.parametrize("wrap,path", CANDIDATE_SITES)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a" * 17, id="17-ascii"),
        pytest.param("\u00e9" * 17, id="17-2byte"),
        pytest.param("\U0001f600" * 17, id="17-4byte"),
        pytest.param("x" * 200, id="200-ascii"),
    ],
)
def test_candidate_too_long(wrap, path, value):
    text = assert_encode_error(wrap(value), path)
    assert str(len(value)) in text and "16" in text


@pytest.mark.parametrize("wrap,path", CANDIDATE_SITES)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a" * 16, id="16-ascii"),
        pytest.param("\U0001f600" * 16, id="16-4byte-64-octets"),
        pytest.param("\u20ac" * 16, id="16-3byte-48-octets"),
        pytest.param("", id="empty"),
    ],
)
def test_candidate_16_characters_ok(wrap, path, value):
    msg = wrap(value)
    assert encode(msg) == ref_encode(msg)
    assert decode(ElectionMessage, encode(msg)) == msg


# --- Lone surrogates (not encodable as UTF-8) -----------------------------------


@pytest.mark.parametrize("wrap,path", CANDIDATE_SITES + UNBOUNDED_SITES)
@pytest.mark.parametrize("value", ["\ud800", "a\udfff", "ok\ud83d", "\udc00\ud800"])
def test_lone_surrogate(wrap, path, value):
    assert_encode_error(wrap(value), path)


def test_lone_surrogate_in_big_status():
    msg = ServiceStatusMessage("1", StatusIndication("a" * 20000 + "\ud800"))
    assert_encode_error(msg, "ServiceStatusMessage.message.statusIndication.status")


# --- Wrong Python types ----------------------------------------------------------


@pytest.mark.parametrize("wrap,path", STRING_SITES)
@pytest.mark.parametrize("value", [None, 12, b"12", 1.0, ["1"]])
def test_string_field_wrong_type(wrap, path, value):
    assert_wrong_type(lambda: wrap(value), path)


CHOICE_SITES = [
    ("election", lambda m: ElectionMessage("1", m), "ElectionMessage.message", (NominationMessage, ElectionError, Assigment, Veto)),
    ("role", lambda m: RoleMessage("1", m), "RoleMessage.message", (SetRole, SetRoleResponse)),
    ("health", lambda m: HealthMonitorMessage("1", "2", m), "HealthMonitorMessage.message", (HealthQuery, HealthQueryResponse, HeartBeat)),
    ("status", lambda m: ServiceStatusMessage("1", m), "ServiceStatusMessage.message", (GetStatus, StatusIndication, GetStatusResponse)),
]
NOT_ALTERNATIVES = [
    ("None", lambda: None),
    ("str", lambda: "nominationMsg"),
    ("asn1tools-tuple", lambda: ("nominationMsg", {"nominee": "a"})),
    ("NominationMessage", lambda: NominationMessage("a")),
    ("Assigment", lambda: Assigment("a", "b")),
    ("SetRole", lambda: SetRole(Role.active)),
    ("HealthQuery", lambda: HealthQuery()),
    ("GetStatus", lambda: GetStatus()),
    ("BillOfHealth", lambda: BillOfHealth(ComponentStatus.ok)),
    ("RoleMessage", lambda: RoleMessage("1", SetRole(Role.active))),
]


@pytest.mark.parametrize(
    "build,path,alt",
    [
        pytest.param(build, path, alt, id=f"{site}<-{name}")
        for site, build, path, valid in CHOICE_SITES
        for name, alt in NOT_ALTERNATIVES
        if name not in {c.__name__ for c in valid}
    ],
)
def test_choice_not_an_alternative(build, path, alt):
    value = alt()
    assert_wrong_type(lambda: build(value), path)


ENUM_SITES = [
    pytest.param(lambda v: RoleMessage("1", SetRole(role=v)), "RoleMessage.message.setRole.role", id="role"),
    pytest.param(lambda v: RoleMessage("1", SetRoleResponse(return_code=v)), "RoleMessage.message.setRoleResponse.returnCode", id="returnCode"),
    pytest.param(
        lambda v: HealthMonitorMessage("1", "2", HealthQueryResponse(BillOfHealth(status=v))),
        "HealthMonitorMessage.message.healthQueryResponse.billOfHealth.status",
        id="healthQueryResponse.status",
    ),
    pytest.param(
        lambda v: HealthMonitorMessage("1", "2", HeartBeat(BillOfHealth(status=v))),
        "HealthMonitorMessage.message.heartBeat.billOfHealth.status",
        id="heartBeat.status",
    ),
]


@pytest.mark.parametrize("wrap,path", ENUM_SITES)
@pytest.mark.parametrize("value", [2, -1, 3, 255, 2**64, -(2**64)])
def test_enum_out_of_range(wrap, path, value):
    assert_wrong_type(lambda: wrap(value), path)


@pytest.mark.parametrize("wrap,path", ENUM_SITES)
@pytest.mark.parametrize("value", [None, "active", "ok", 0.0, b"\x00"])
def test_enum_wrong_type(wrap, path, value):
    assert_wrong_type(lambda: wrap(value), path)


@pytest.mark.parametrize(
    "wrap,path",
    [
        pytest.param(lambda b: HealthMonitorMessage("1", "2", HeartBeat(bill_of_health=b)), "HealthMonitorMessage.message.heartBeat.billOfHealth", id="heartBeat"),
        pytest.param(
            lambda b: HealthMonitorMessage("1", "2", HealthQueryResponse(bill_of_health=b)),
            "HealthMonitorMessage.message.healthQueryResponse.billOfHealth",
            id="healthQueryResponse",
        ),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda: None, id="None"),
        pytest.param(lambda: ComponentStatus.ok, id="enum-member"),
        pytest.param(lambda: {"status": "ok"}, id="dict"),
        pytest.param(lambda: HeartBeat(BillOfHealth(ComponentStatus.ok)), id="HeartBeat"),
    ],
)
def test_bill_of_health_wrong_type(wrap, path, value):
    assert_wrong_type(lambda: wrap(value()), path)


# --- encode() of things that are not PDUs -------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda: None, id="None"),
        pytest.param(lambda: "ElectionMessage", id="str"),
        pytest.param(lambda: b"\x00", id="bytes"),
        pytest.param(lambda: 0, id="int"),
        pytest.param(lambda: object(), id="object"),
        pytest.param(lambda: {"correlationId": "1", "message": ("nominationMsg", {"nominee": "a"})}, id="asn1tools-dict"),
        pytest.param(lambda: NominationMessage("a"), id="NominationMessage"),
        pytest.param(lambda: HealthQuery(), id="HealthQuery"),
        pytest.param(lambda: BillOfHealth(ComponentStatus.ok), id="BillOfHealth"),
        pytest.param(lambda: Role.active, id="Role"),
        pytest.param(lambda: ElectionMessage, id="PDU-class"),
    ],
)
def test_encode_non_pdu(value):
    with pytest.raises((EncodeError, TypeError)):
        encode(value())


@pytest.mark.parametrize(
    "fn,msg",
    [
        pytest.param(encode_election_message, RoleMessage("1", SetRole(Role.active)), id="election<-role"),
        pytest.param(encode_role_message, ElectionMessage("1", NominationMessage("a")), id="role<-election"),
        pytest.param(encode_health_monitor_message, ServiceStatusMessage("1", GetStatus()), id="health<-status"),
        pytest.param(encode_service_status_message, HealthMonitorMessage("1", "2", HealthQuery()), id="status<-health"),
        pytest.param(encode_service_status_message, None, id="status<-None"),
    ],
)
def test_fast_encoder_wrong_pdu(fn, msg):
    with pytest.raises((EncodeError, TypeError)):
        fn(msg)


# ===========================================================================
# Decoding
# ===========================================================================

PDU_OF = {
    "ElectionMessage": ElectionMessage,
    "RoleMessage": RoleMessage,
    "HealthMonitorMessage": HealthMonitorMessage,
    "ServiceStatusMessage": ServiceStatusMessage,
}


def assert_decode_error(cls, data: bytes, path: str | None = None) -> str:
    """``decode`` and the fast decoder both raise DecodeError starting with ``path``."""
    prefix = path or cls.__name__
    texts = []
    for fn in (lambda d: decode(cls, d), FAST_DEC[cls]):
        with pytest.raises(DecodeError) as ei:
            fn(data)
        text = str(ei.value)
        assert text.startswith(prefix), f"{text!r} does not start with {prefix!r}"
        if path is not None:
            assert text[len(path) : len(path) + 1] in (":", "."), f"{text!r}: path is not {path!r}"
        texts.append(text)
    return texts[0]


def assert_decodes(cls, data: bytes, expected) -> None:
    assert decode(cls, data) == expected
    assert FAST_DEC[cls](data) == expected
    assert encode(expected) == data


# Valid messages together with a hand-built bit layout (and the bit count).
def _valid_layouts():
    out = []

    def add(msg, w):
        out.append(pytest.param(msg, w, id=f"{type(msg).__name__}-{type(msg.message).__name__}-{len(out)}"))

    add(ElectionMessage("12", NominationMessage("n1")), bw().numeric("12").uint(0, 1).utf8("n1"))
    add(ElectionMessage("", NominationMessage("")), bw().numeric("").uint(0, 1).utf8(""))
    add(ElectionMessage("3", ElectionError("oops")), bw().numeric("3").uint(1, 1).uint(0, 2).utf8("oops"))
    add(ElectionMessage("3", ElectionError("\u00e9" * 100)), bw().numeric("3").uint(1, 1).uint(0, 2).utf8("\u00e9" * 100))
    add(ElectionMessage("45", Assigment("a", "bb")), bw().numeric("45").uint(1, 1).uint(1, 2).utf8("a").utf8("bb"))
    add(ElectionMessage("6 7", Veto("\u00fc", "")), bw().numeric("6 7").uint(1, 1).uint(2, 2).utf8("\u00fc").utf8(""))
    add(RoleMessage("1", SetRole(Role.active)), bw().numeric("1").uint(0, 1).uint(0, 1))
    add(RoleMessage("12", SetRole(Role.standby)), bw().numeric("12").uint(0, 1).uint(1, 1))
    add(RoleMessage("", SetRoleResponse(ReturnCode.success)), bw().numeric("").uint(1, 1).uint(0, 1))
    add(RoleMessage("999", SetRoleResponse(ReturnCode.failure)), bw().numeric("999").uint(1, 1).uint(1, 1))
    add(HealthMonitorMessage("1", "2", HealthQuery()), bw().numeric("1").numeric("2").uint(0, 2))
    add(
        HealthMonitorMessage("12345", "7", HeartBeat(BillOfHealth(ComponentStatus.ok))),
        bw().numeric("12345").numeric("7").uint(2, 2).uint(0, 1),
    )
    add(
        HealthMonitorMessage("", "8", HealthQueryResponse(BillOfHealth(ComponentStatus.failed))),
        bw().numeric("").numeric("8").uint(1, 2).uint(1, 1),
    )
    add(ServiceStatusMessage("", GetStatus()), bw().numeric("").uint(0, 2))
    add(ServiceStatusMessage("42", GetStatus()), bw().numeric("42").uint(0, 2))
    add(ServiceStatusMessage("5", StatusIndication("up")), bw().numeric("5").uint(1, 2).utf8("up"))
    add(ServiceStatusMessage("5", GetStatusResponse("s" * 300)), bw().numeric("5").uint(2, 2).utf8("s" * 300))
    return out


VALID = _valid_layouts()


@pytest.mark.parametrize("msg,w", VALID)
def test_layouts_are_valid(msg, w):
    """The bit layouts used below agree with asn1tools and with the codec."""
    data = w.to_bytes()
    assert ref_encode(msg) == data
    assert_decodes(type(msg), data, msg)


# --- empty, truncated, trailing, padding ---------------------------------------


@pytest.mark.parametrize("cls", list(PDU_OF.values()), ids=list(PDU_OF))
def test_empty_input(cls):
    assert_decode_error(cls, b"")


@pytest.mark.parametrize("msg,w", VALID)
def test_truncated(msg, w):
    data = w.to_bytes()
    for k in range(len(data)):
        assert_decode_error(type(msg), data[:k])


@pytest.mark.parametrize("msg,w", VALID)
@pytest.mark.parametrize("extra", [b"\x00", b"\xff", b"\x00" * 7, b"\x80"])
def test_trailing_octets(msg, w, extra):
    assert_decode_error(type(msg), w.to_bytes() + extra)


@pytest.mark.parametrize("msg,w", [p for p in VALID if p.values[1].nbits() % 8])
def test_nonzero_padding(msg, w):
    data = w.to_bytes()
    pad = -w.nbits() % 8
    for bit in range(pad):
        bad = data[:-1] + bytes([data[-1] | (1 << bit)])
        assert_decode_error(type(msg), bad)


def test_padding_cases_exist():
    assert sum(1 for p in VALID if p.values[1].nbits() % 8) >= 10


# --- NumericString --------------------------------------------------------------


def _numeric_messages(indexes_corr, indexes_comp=(2,)):
    """(cls, path, bytes) for a NumericString given as raw indexes, per site."""
    return [
        (ElectionMessage, "ElectionMessage.correlationId", bw().numeric_indexes(indexes_corr).uint(0, 1).utf8("n").to_bytes()),
        (RoleMessage, "RoleMessage.correlationId", bw().numeric_indexes(indexes_corr).uint(0, 1).uint(1, 1).to_bytes()),
        (HealthMonitorMessage, "HealthMonitorMessage.correlationId", bw().numeric_indexes(indexes_corr).numeric_indexes(indexes_comp).uint(0, 2).to_bytes()),
        (HealthMonitorMessage, "HealthMonitorMessage.componentId", bw().numeric_indexes(indexes_comp).numeric_indexes(indexes_corr).uint(0, 2).to_bytes()),
        (ServiceStatusMessage, "ServiceStatusMessage.correlationId", bw().numeric_indexes(indexes_corr).uint(1, 2).utf8("s").to_bytes()),
    ]


@pytest.mark.parametrize("site", range(5), ids=["election", "role", "health.corr", "health.comp", "status"])
@pytest.mark.parametrize("bad", [11, 12, 13, 14, 15])
@pytest.mark.parametrize("position", [0, 2, 15])
def test_numeric_bad_index(site, bad, position):
    indexes = [1 + (i % 10) for i in range(max(3, position + 1))]
    good = _numeric_messages(indexes)[site]
    decode(good[0], good[2])  # the good twin decodes
    indexes[position] = bad
    cls, path, data = _numeric_messages(indexes)[site]
    assert_decode_error(cls, data, path)


@pytest.mark.parametrize("site", range(5), ids=["election", "role", "health.corr", "health.comp", "status"])
@pytest.mark.parametrize("length", [17, 20, 31])
def test_numeric_length_over_16(site, length):
    good = _numeric_messages([3] * 16)[site]
    decode(good[0], good[2])
    cls, path, data = _numeric_messages([3] * length)[site]
    assert_decode_error(cls, data, path)


# --- CHOICE index with no alternative ---------------------------------------------


def test_choice_index_3_health():
    good = bw().numeric("1").numeric("2").uint(2, 2).uint(1, 1)
    assert_decodes(HealthMonitorMessage, good.to_bytes(), HealthMonitorMessage("1", "2", HeartBeat(BillOfHealth(ComponentStatus.failed))))
    for tail in (0, 1):
        w = bw().numeric("1").numeric("2").uint(3, 2).uint(tail, 1)
        assert_decode_error(HealthMonitorMessage, w.to_bytes(), "HealthMonitorMessage.message")
    assert_decode_error(HealthMonitorMessage, bw().numeric("").numeric("").uint(3, 2).to_bytes(), "HealthMonitorMessage.message")


def test_choice_index_3_status():
    good = bw().numeric("7").uint(2, 2).utf8("x")
    assert_decodes(ServiceStatusMessage, good.to_bytes(), ServiceStatusMessage("7", GetStatusResponse("x")))
    assert_decode_error(ServiceStatusMessage, bw().numeric("7").uint(3, 2).utf8("x").to_bytes(), "ServiceStatusMessage.message")
    assert_decode_error(ServiceStatusMessage, bw().numeric("").uint(3, 2).to_bytes(), "ServiceStatusMessage.message")


def test_choice_index_3_election_result():
    good = bw().numeric("7").uint(1, 1).uint(2, 2).utf8("a").utf8("b")
    assert_decodes(ElectionMessage, good.to_bytes(), ElectionMessage("7", Veto("a", "b")))
    bad = bw().numeric("7").uint(1, 1).uint(3, 2).utf8("a").utf8("b")
    assert_decode_error(ElectionMessage, bad.to_bytes(), "ElectionMessage.message.electionResult")
    assert_decode_error(ElectionMessage, bw().numeric("").uint(1, 1).uint(3, 2).to_bytes(), "ElectionMessage.message.electionResult")


# --- invalid UTF-8 ------------------------------------------------------------------

BAD_UTF8 = [
    pytest.param(b"\xff", id="ff"),
    pytest.param(b"\xfe", id="fe"),
    pytest.param(b"\x80", id="lone-continuation"),
    pytest.param(b"\xc3", id="truncated-2byte"),
    pytest.param(b"a\xe2\x82", id="truncated-3byte"),
    pytest.param(b"\xc3(", id="bad-continuation"),
    pytest.param(b"\xc0\xaf", id="overlong-2byte"),
    pytest.param(b"\xe0\x80\xaf", id="overlong-3byte"),
    pytest.param(b"\xed\xa0\x80", id="encoded-surrogate"),
    pytest.param(b"\xf4\x90\x80\x80", id="above-10ffff"),
    pytest.param(b"\xf8\x88\x80\x80\x80", id="5-byte-form"),
]

UTF8_SITES = [
    pytest.param(lambda o: (ElectionMessage, bw().numeric("1").uint(0, 1).utf8(o)), "ElectionMessage.message.nominationMsg.nominee", id="nominee"),
    pytest.param(
        lambda o: (ElectionMessage, bw().numeric("1").uint(1, 1).uint(0, 2).utf8(o)),
        "ElectionMessage.message.electionResult.electionError.description",
        id="description",
    ),
    pytest.param(lambda o: (ElectionMessage, bw().numeric("1").uint(1, 1).uint(1, 2).utf8(o).utf8("b")), "ElectionMessage.message.electionResult.assigment.active", id="assigment.active"),
    pytest.param(lambda o: (ElectionMessage, bw().numeric("1").uint(1, 1).uint(2, 2).utf8("a").utf8(o)), "ElectionMessage.message.electionResult.veto.standby", id="veto.standby"),
    pytest.param(lambda o: (ServiceStatusMessage, bw().numeric("1").uint(1, 2).utf8(o)), "ServiceStatusMessage.message.statusIndication.status", id="statusIndication"),
    pytest.param(lambda o: (ServiceStatusMessage, bw().numeric("1").uint(2, 2).utf8(o)), "ServiceStatusMessage.message.getStatusResponse.status", id="getStatusResponse"),
]


@pytest.mark.parametrize("site,path", UTF8_SITES)
@pytest.mark.parametrize("octets", BAD_UTF8)
def test_invalid_utf8(site, path, octets):
    cls, good = site(b"ok")
    decode(cls, good.to_bytes())
    cls, bad = site(octets)
    assert_decode_error(cls, bad.to_bytes(), path)


@pytest.mark.parametrize("site,path", UTF8_SITES)
def test_utf8_nul_and_max_code_point_are_valid(site, path):
    cls, w = site("\x00\U0010ffff".encode("utf-8"))
    got = decode(cls, w.to_bytes())
    assert encode(got) == w.to_bytes()


# --- Candidate longer than 16 characters ------------------------------------------

CANDIDATE_DECODE_SITES = [s for s in UTF8_SITES if s.id in ("nominee", "assigment.active", "veto.standby")]


@pytest.mark.parametrize("site,path", CANDIDATE_DECODE_SITES)
@pytest.mark.parametrize(
    "good,bad",
    [
        pytest.param("a" * 16, "a" * 17, id="ascii"),
        pytest.param("\u00e9" * 16, "\u00e9" * 17, id="2byte"),
        pytest.param("\U0001f600" * 16, "\U0001f600" * 17, id="4byte"),
        pytest.param("\u20ac" * 16, "x" * 300, id="300"),
    ],
)
def test_candidate_over_16_characters(site, path, good, bad):
    cls, w = site(good.encode("utf-8"))
    assert encode(decode(cls, w.to_bytes())) == w.to_bytes()
    cls, w = site(bad.encode("utf-8"))
    assert_decode_error(cls, w.to_bytes(), path)


# --- non-canonical length determinants --------------------------------------------

STATUS_PATH = "ServiceStatusMessage.message.statusIndication.status"


def _status_raw(*pieces) -> bytes:
    """ServiceStatusMessage "1" statusIndication with raw length/octet pieces."""
    w = bw().numeric("1").uint(1, 2)
    for p in pieces:
        w.octets(p)
    return w.to_bytes()


def _status(text: str):
    return ServiceStatusMessage("1", StatusIndication(text))


@pytest.mark.parametrize("n", [0, 1, 3, 127])
def test_two_octet_length_for_short_value(n):
    text = "q" * n
    assert_decodes(ServiceStatusMessage, _status_raw(bytes([n]), text.encode()), _status(text))
    assert_decode_error(ServiceStatusMessage, _status_raw(bytes([0x80, n]), text.encode()), STATUS_PATH)


def test_two_octet_length_128_is_canonical():
    text = "q" * 128
    assert_decodes(ServiceStatusMessage, _status_raw(b"\x80\x80", text.encode()), _status(text))


@pytest.mark.parametrize("n", [0, 2, 16])
def test_two_octet_length_for_short_candidate(n):
    good = bw().numeric("1").uint(0, 1).octets(bytes([n])).octets(b"c" * n).to_bytes()
    assert_decodes(ElectionMessage, good, ElectionMessage("1", NominationMessage("c" * n)))
    bad = bw().numeric("1").uint(0, 1).octets(bytes([0x80, n])).octets(b"c" * n).to_bytes()
    assert_decode_error(ElectionMessage, bad, "ElectionMessage.message.nominationMsg.nominee")


K16 = 16384


def test_fragmented_16k_is_canonical():
    text = "f" * K16
    assert_decodes(ServiceStatusMessage, _status_raw(b"\xc1", text.encode(), b"\x00"), _status(text))


@pytest.mark.parametrize("first", [0xC0, 0xC5, 0xC6, 0xC8, 0xFE, 0xFF])
def test_bad_fragment_count(first):
    data = _status_raw(bytes([first]), b"f" * (4 * K16), b"\x00")
    assert_decode_error(ServiceStatusMessage, data, STATUS_PATH)


def test_fragment_count_zero_short():
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc0", b"\x00"), STATUS_PATH)


def test_fragmented_without_terminating_length():
    # 16384 octets must be followed by a (zero) length determinant
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc1", b"f" * K16))


def test_fragments_not_maximal():
    """32768 octets are one 32K fragment (0xC2), not two 16K fragments."""
    text = b"g" * (2 * K16)
    assert_decodes(ServiceStatusMessage, _status_raw(b"\xc2", text, b"\x00"), _status(text.decode()))
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc1", text[:K16], b"\xc1", text[K16:], b"\x00"), STATUS_PATH)


def test_fragments_not_maximal_48k():
    text = b"h" * (3 * K16)
    assert_decodes(ServiceStatusMessage, _status_raw(b"\xc3", text, b"\x00"), _status(text.decode()))
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc2", text[: 2 * K16], b"\xc1", text[2 * K16 :], b"\x00"), STATUS_PATH)


def test_fragment_then_two_octet_short_remainder():
    text = b"i" * (K16 + 5)
    assert_decodes(ServiceStatusMessage, _status_raw(b"\xc1", text[:K16], b"\x05", text[K16:]), _status(text.decode()))
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc1", text[:K16], b"\x80\x05", text[K16:]), STATUS_PATH)


def test_multi_fragment_canonical_decodes():
    text = b"j" * (5 * K16 + 200)
    data = _status_raw(b"\xc4", text[: 4 * K16], b"\xc1", text[4 * K16 : 5 * K16], b"\x80\xc8", text[5 * K16 :])
    assert_decodes(ServiceStatusMessage, data, _status(text.decode()))
    assert data == ref_encode(_status(text.decode()))


def test_utf8_split_across_fragments():
    # a 3-octet character straddling the 16K boundary is valid ...
    text = "\u20ac" * 5462  # 16386 octets
    octets = text.encode()
    assert_decodes(ServiceStatusMessage, _status_raw(b"\xc1", octets[:K16], b"\x02", octets[K16:]), _status(text))
    # ... but a fragment ending in an incomplete character with nothing after is not
    bad = b"a" * (K16 - 1) + b"\xe2"
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc1", bad, b"\x00"), STATUS_PATH)


def test_fragmented_candidate_is_too_long():
    data = bw().numeric("1").uint(0, 1).octets(b"\xc1").octets(b"k" * K16).octets(b"\x00").to_bytes()
    assert_decode_error(ElectionMessage, data, "ElectionMessage.message.nominationMsg.nominee")


def test_length_beyond_input():
    # a length that claims more octets than present
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\x7f", b"z" * 10))
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xbf\xff", b"z" * 10))
    assert_decode_error(ServiceStatusMessage, _status_raw(b"\xc4", b"z" * 10))


def test_a_member_of_another_enum_is_refused():
    # Role and ReturnCode are both 0/1 IntEnums; mixing them up is a caller bug.
    from hanode.codec import Role, RoleMessage, SetRoleResponse

    with pytest.raises(EncodeError, match=r"^RoleMessage\.message\.setRoleResponse\.returnCode: expected a ReturnCode member"):
        encode(RoleMessage("1", SetRoleResponse(Role.standby)))
    with pytest.raises(EncodeError, match=r"expected a ReturnCode member, got bool"):
        encode(RoleMessage("1", SetRoleResponse(True)))
    assert encode(RoleMessage("1", SetRoleResponse(1))) == encode(RoleMessage("1", SetRoleResponse(ReturnCode.failure)))

"""Benchmarks of hanode's UPER codec against asn1tools and against a floor.

For each message, an ``encode <message>`` and a ``decode <message>`` group,
each with three implementations side by side:

* ``hanode``: the codec's per-PDU fast function (``encode_health_monitor_message``...);
* ``asn1tools``: ``spec.encode(pdu, value)`` / ``spec.decode(pdu, data)``, the reference;
* ``floor``: the least a codec function could cost (``bench/_floors.pyx``).

Every benchmark first asserts that its implementation gives the right result
(hanode's bytes == asn1tools' bytes; decoded == the expected message), so a
broken codec fails the run, with or without ``--benchmark-disable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

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
    decode_election_message,
    decode_health_monitor_message,
    decode_role_message,
    decode_service_status_message,
    encode_election_message,
    encode_health_monitor_message,
    encode_role_message,
    encode_service_status_message,
)

# asn1tools is ~100x slower than hanode: a fixed, modest budget of
# ASN1TOOLS_ROUNDS x ASN1TOOLS_ITERATIONS calls (about 10-50 ms a benchmark)
# instead of pytest-benchmark's calibrated default of ~1 s.
ASN1TOOLS_ROUNDS = 200
ASN1TOOLS_ITERATIONS = 5
ASN1TOOLS_WARMUP_ROUNDS = 5

IMPLEMENTATIONS = ("hanode", "floor", "asn1tools")

# hanode and floor: pytest-benchmark's calibrated mode, with rounds of at
# least 20 µs (100+ calls, so the timer's own cost is negligible), 0.5 s a
# benchmark after a warm-up. A marker overrides the --benchmark-* options.
FAST = pytest.mark.benchmark(min_time=20e-6, max_time=0.5, warmup=True, warmup_iterations=20_000)

_CODECS = {
    "ElectionMessage": (encode_election_message, decode_election_message),
    "HealthMonitorMessage": (encode_health_monitor_message, decode_health_monitor_message),
    "RoleMessage": (encode_role_message, decode_role_message),
    "ServiceStatusMessage": (encode_service_status_message, decode_service_status_message),
}


@dataclass(frozen=True)
class Case:
    name: str  # the benchmark's message name, e.g. "heartbeat"
    pdu: str  # the ASN.1 PDU type
    message: Any  # the hanode message
    value: Any  # the same message as an asn1tools value
    floor: str  # the suffix of its decode floor in _floors

    @property
    def encode(self) -> Callable[[Any], bytes]:
        return _CODECS[self.pdu][0]

    @property
    def decode(self) -> Callable[[bytes], Any]:
        return _CODECS[self.pdu][1]


# The decode floors in _floors.pyx build exactly these messages.
CASES = [
    Case(
        "heartbeat",
        "HealthMonitorMessage",
        HealthMonitorMessage("12345", "7", HeartBeat(BillOfHealth(ComponentStatus.ok))),
        {"correlationId": "12345", "componentId": "7", "message": ("heartBeat", {"billOfHealth": {"status": "ok"}})},
        "heartbeat",
    ),
    Case(
        "healthQuery",
        "HealthMonitorMessage",
        HealthMonitorMessage("12345", "7", HealthQuery()),
        {"correlationId": "12345", "componentId": "7", "message": ("healthQuery", {})},
        "health_query",
    ),
    Case(
        "healthQueryResponse",
        "HealthMonitorMessage",
        HealthMonitorMessage("12345", "7", HealthQueryResponse(BillOfHealth(ComponentStatus.failed))),
        {
            "correlationId": "12345",
            "componentId": "7",
            "message": ("healthQueryResponse", {"billOfHealth": {"status": "failed"}}),
        },
        "health_query_response",
    ),
    Case(
        "setRole",
        "RoleMessage",
        RoleMessage("12345", SetRole(Role.active)),
        {"correlationId": "12345", "message": ("setRole", {"role": "active"})},
        "set_role",
    ),
    Case(
        "setRoleResponse",
        "RoleMessage",
        RoleMessage("12345", SetRoleResponse(ReturnCode.success)),
        {"correlationId": "12345", "message": ("setRoleResponse", {"returnCode": "success"})},
        "set_role_response",
    ),
    Case(
        "nomination",
        "ElectionMessage",
        ElectionMessage("12345", NominationMessage("node-a")),
        {"correlationId": "12345", "message": ("nominationMsg", {"nominee": "node-a"})},
        "nomination",
    ),
    Case(
        "assigment",
        "ElectionMessage",
        ElectionMessage("12345", Assigment("node-a", "node-b")),
        {
            "correlationId": "12345",
            "message": ("electionResult", ("assigment", {"active": "node-a", "standby": "node-b"})),
        },
        "assigment",
    ),
    Case(
        "veto",
        "ElectionMessage",
        ElectionMessage("12345", Veto("node-b", "node-a")),
        {
            "correlationId": "12345",
            "message": ("electionResult", ("veto", {"active": "node-b", "standby": "node-a"})),
        },
        "veto",
    ),
    Case(
        "electionError",
        "ElectionMessage",
        ElectionMessage("12345", ElectionError("no quorum: 1 of 2 nodes reachable")),
        {
            "correlationId": "12345",
            "message": ("electionResult", ("electionError", {"description": "no quorum: 1 of 2 nodes reachable"})),
        },
        "election_error",
    ),
    Case(
        "getStatus",
        "ServiceStatusMessage",
        ServiceStatusMessage("12345", GetStatus()),
        {"correlationId": "12345", "message": ("getStatus", {})},
        "get_status",
    ),
    Case(
        "statusIndication",
        "ServiceStatusMessage",
        ServiceStatusMessage("12345", StatusIndication("active")),
        {"correlationId": "12345", "message": ("statusIndication", {"status": "active"})},
        "status_indication",
    ),
    Case(
        "getStatusResponse",
        "ServiceStatusMessage",
        ServiceStatusMessage("12345", GetStatusResponse("standby")),
        {"correlationId": "12345", "message": ("getStatusResponse", {"status": "standby"})},
        "get_status_response",
    ),
]

case_param = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
impl_param = pytest.mark.parametrize("impl", IMPLEMENTATIONS)


def _run(benchmark, impl, fn, *args):
    """Time ``fn(*args)``: calibrated for hanode and floor, a fixed budget for asn1tools."""
    if impl == "asn1tools":
        return benchmark.pedantic(
            fn,
            args=args,
            rounds=ASN1TOOLS_ROUNDS,
            iterations=ASN1TOOLS_ITERATIONS,
            warmup_rounds=ASN1TOOLS_WARMUP_ROUNDS,
        )
    return benchmark(fn, *args)


def _label(benchmark, operation, case, impl, size):
    benchmark.group = f"{operation} {case.name}"
    benchmark.extra_info.update(
        {"operation": operation, "message": case.name, "implementation": impl, "pdu": case.pdu, "octets": size}
    )


@FAST
@case_param
@impl_param
def test_encode(benchmark, case, impl, floors, asn1_spec):
    expected = bytes(asn1_spec.encode(case.pdu, case.value))
    assert case.encode(case.message) == expected, "hanode and asn1tools encode differently"
    _label(benchmark, "encode", case, impl, len(expected))

    if impl == "hanode":
        result = _run(benchmark, impl, case.encode, case.message)
        assert result == expected
    elif impl == "asn1tools":
        result = _run(benchmark, impl, asn1_spec.encode, case.pdu, case.value)
        assert bytes(result) == expected
    else:
        floors.set_encode_size(len(expected))
        assert len(floors.encode_floor(case.message)) == len(expected)
        result = _run(benchmark, impl, floors.encode_floor, case.message)
        assert type(result) is bytes and len(result) == len(expected)


@FAST
@case_param
@impl_param
def test_decode(benchmark, case, impl, floors, asn1_spec):
    data = bytes(asn1_spec.encode(case.pdu, case.value))  # the reference encoding
    _label(benchmark, "decode", case, impl, len(data))

    if impl == "hanode":
        assert case.decode(data) == case.message, "hanode decodes asn1tools' encoding wrongly"
        result = _run(benchmark, impl, case.decode, data)
        assert result == case.message
    elif impl == "asn1tools":
        assert asn1_spec.decode(case.pdu, data) == case.value
        result = _run(benchmark, impl, asn1_spec.decode, case.pdu, data)
        assert result == case.value
    else:
        floor = getattr(floors, f"decode_{case.floor}")
        assert floor(data) == case.message, "the floor does not build the expected message"
        result = _run(benchmark, impl, floor, data)
        assert result == case.message

# Generated from asn1/election.asn, asn1/monitor.asn, asn1/role.asn, asn1/status.asn by `python -m hanode.codegen`. Do not edit:
# change the .asn files or the generator, then regenerate.
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""hanode's UPER codec, generated from its ASN.1 interfaces.

Import it through :mod:`hanode.codec`. Message classes are immutable; a
CHOICE field holds the instance of its chosen alternative (nested CHOICEs
flattened). ``encode_<pdu>(msg)`` and ``decode_<pdu>(data)`` are the direct
fast paths; ``encode``/``decode`` dispatch on the class.
"""

cimport cython
from hanode._uper cimport *

import enum
import itertools

from hanode.errors import DecodeError, EncodeError


class ComponentStatus(enum.IntEnum):
    """ASN.1 ``ComponentStatus ::= ENUMERATED {ok, failed}`` (Failover-monitor-interface)."""

    ok = 0
    failed = 1

cdef tuple _ComponentStatus_members = tuple(ComponentStatus)


class ReturnCode(enum.IntEnum):
    """ASN.1 ``ReturnCode ::= ENUMERATED {success, failure}`` (Failover-role-interface)."""

    success = 0
    failure = 1

cdef tuple _ReturnCode_members = tuple(ReturnCode)


class Role(enum.IntEnum):
    """ASN.1 ``Role ::= ENUMERATED {active, standby}`` (Failover-role-interface)."""

    active = 0
    standby = 1

cdef tuple _Role_members = tuple(Role)


@cython.final
@cython.freelist(32)
cdef class NominationMessage:
    """ASN.1 ``NominationMessage`` (Failover-election-interface).

    SEQUENCE {
        nominee UTF8String (SIZE(0..16))  -> ``nominee``: str
    }
    """
    __asn1_module__ = "Failover-election-interface"
    __asn1_name__ = "NominationMessage"
    __asn1_fields__ = (("nominee", "nominee"), )
    __match_args__ = ('nominee', )

    def __init__(self, nominee):
        self.nominee = nominee

    def __repr__(self):
        return f"NominationMessage(nominee={self.nominee!r})"

    def __eq__(self, other):
        cdef NominationMessage o
        if type(other) is not NominationMessage:
            return NotImplemented
        o = other
        return self.nominee == o.nominee

    def __hash__(self):
        return hash((NominationMessage, self.nominee))

    def __reduce__(self):
        return (NominationMessage, (self.nominee, ))


@cython.final
@cython.freelist(32)
cdef class ElectionError:
    """ASN.1 ``ElectionError`` (Failover-election-interface).

    SEQUENCE {
        description UTF8String  -> ``description``: str
    }
    """
    __asn1_module__ = "Failover-election-interface"
    __asn1_name__ = "ElectionError"
    __asn1_fields__ = (("description", "description"), )
    __match_args__ = ('description', )

    def __init__(self, description):
        self.description = description

    def __repr__(self):
        return f"ElectionError(description={self.description!r})"

    def __eq__(self, other):
        cdef ElectionError o
        if type(other) is not ElectionError:
            return NotImplemented
        o = other
        return self.description == o.description

    def __hash__(self):
        return hash((ElectionError, self.description))

    def __reduce__(self):
        return (ElectionError, (self.description, ))


@cython.final
@cython.freelist(32)
cdef class Assigment:
    """ASN.1 ``Assigment`` (Failover-election-interface).

    SEQUENCE {
        active UTF8String (SIZE(0..16))  -> ``active``: str
        standby UTF8String (SIZE(0..16))  -> ``standby``: str
    }
    """
    __asn1_module__ = "Failover-election-interface"
    __asn1_name__ = "Assigment"
    __asn1_fields__ = (("active", "active"), ("standby", "standby"), )
    __match_args__ = ('active', 'standby', )

    def __init__(self, active, standby):
        self.active = active
        self.standby = standby

    def __repr__(self):
        return f"Assigment(active={self.active!r}, standby={self.standby!r})"

    def __eq__(self, other):
        cdef Assigment o
        if type(other) is not Assigment:
            return NotImplemented
        o = other
        return self.active == o.active and self.standby == o.standby

    def __hash__(self):
        return hash((Assigment, self.active, self.standby))

    def __reduce__(self):
        return (Assigment, (self.active, self.standby, ))


@cython.final
@cython.freelist(32)
cdef class Veto:
    """ASN.1 ``Veto`` (Failover-election-interface).

    SEQUENCE {
        active UTF8String (SIZE(0..16))  -> ``active``: str
        standby UTF8String (SIZE(0..16))  -> ``standby``: str
    }
    """
    __asn1_module__ = "Failover-election-interface"
    __asn1_name__ = "Veto"
    __asn1_fields__ = (("active", "active"), ("standby", "standby"), )
    __match_args__ = ('active', 'standby', )

    def __init__(self, active, standby):
        self.active = active
        self.standby = standby

    def __repr__(self):
        return f"Veto(active={self.active!r}, standby={self.standby!r})"

    def __eq__(self, other):
        cdef Veto o
        if type(other) is not Veto:
            return NotImplemented
        o = other
        return self.active == o.active and self.standby == o.standby

    def __hash__(self):
        return hash((Veto, self.active, self.standby))

    def __reduce__(self):
        return (Veto, (self.active, self.standby, ))


@cython.final
@cython.freelist(32)
cdef class ElectionMessage:
    """ASN.1 ``ElectionMessage`` (Failover-election-interface), a PDU.

    SEQUENCE {
        correlationId NumericString (SIZE(0..16))  -> ``correlation_id``: str
        message CHOICE { nominationMsg NominationMessage, electionResult ElectionResult }  -> ``message``: NominationMessage | ElectionError | Assigment | Veto
    }
    """
    __asn1_module__ = "Failover-election-interface"
    __asn1_name__ = "ElectionMessage"
    __asn1_fields__ = (("correlationId", "correlation_id"), ("message", "message"), )
    __match_args__ = ('correlation_id', 'message', )

    def __init__(self, correlation_id, message):
        self.correlation_id = correlation_id
        self.message = message

    def __repr__(self):
        return f"ElectionMessage(correlation_id={self.correlation_id!r}, message={self.message!r})"

    def __eq__(self, other):
        cdef ElectionMessage o
        if type(other) is not ElectionMessage:
            return NotImplemented
        o = other
        return self.correlation_id == o.correlation_id and self.message == o.message

    def __hash__(self):
        return hash((ElectionMessage, self.correlation_id, self.message))

    def __reduce__(self):
        return (ElectionMessage, (self.correlation_id, self.message, ))


@cython.final
@cython.freelist(32)
cdef class HealthQuery:
    """ASN.1 ``HealthQuery`` (Failover-monitor-interface).

    SEQUENCE { } (no fields)
    """
    __asn1_module__ = "Failover-monitor-interface"
    __asn1_name__ = "HealthQuery"
    __asn1_fields__ = ()
    __match_args__ = ()

    def __init__(self):
        pass

    def __repr__(self):
        return f"HealthQuery()"

    def __eq__(self, other):
        if type(other) is not HealthQuery:
            return NotImplemented
        return True

    def __hash__(self):
        return hash((HealthQuery))

    def __reduce__(self):
        return (HealthQuery, ())


@cython.final
@cython.freelist(32)
cdef class BillOfHealth:
    """ASN.1 ``BillOfHealth`` (Failover-monitor-interface).

    SEQUENCE {
        status ComponentStatus  -> ``status``: ComponentStatus
    }
    """
    __asn1_module__ = "Failover-monitor-interface"
    __asn1_name__ = "BillOfHealth"
    __asn1_fields__ = (("status", "status"), )
    __match_args__ = ('status', )

    def __init__(self, status):
        self.status = status

    def __repr__(self):
        return f"BillOfHealth(status={self.status!r})"

    def __eq__(self, other):
        cdef BillOfHealth o
        if type(other) is not BillOfHealth:
            return NotImplemented
        o = other
        return self.status == o.status

    def __hash__(self):
        return hash((BillOfHealth, self.status))

    def __reduce__(self):
        return (BillOfHealth, (self.status, ))


@cython.final
@cython.freelist(32)
cdef class HealthQueryResponse:
    """ASN.1 ``HealthQueryResponse`` (Failover-monitor-interface).

    SEQUENCE {
        billOfHealth BillOfHealth  -> ``bill_of_health``: BillOfHealth
    }
    """
    __asn1_module__ = "Failover-monitor-interface"
    __asn1_name__ = "HealthQueryResponse"
    __asn1_fields__ = (("billOfHealth", "bill_of_health"), )
    __match_args__ = ('bill_of_health', )

    def __init__(self, bill_of_health):
        self.bill_of_health = bill_of_health

    def __repr__(self):
        return f"HealthQueryResponse(bill_of_health={self.bill_of_health!r})"

    def __eq__(self, other):
        cdef HealthQueryResponse o
        if type(other) is not HealthQueryResponse:
            return NotImplemented
        o = other
        return self.bill_of_health == o.bill_of_health

    def __hash__(self):
        return hash((HealthQueryResponse, self.bill_of_health))

    def __reduce__(self):
        return (HealthQueryResponse, (self.bill_of_health, ))


@cython.final
@cython.freelist(32)
cdef class HeartBeat:
    """ASN.1 ``HeartBeat`` (Failover-monitor-interface).

    SEQUENCE {
        billOfHealth BillOfHealth  -> ``bill_of_health``: BillOfHealth
    }
    """
    __asn1_module__ = "Failover-monitor-interface"
    __asn1_name__ = "HeartBeat"
    __asn1_fields__ = (("billOfHealth", "bill_of_health"), )
    __match_args__ = ('bill_of_health', )

    def __init__(self, bill_of_health):
        self.bill_of_health = bill_of_health

    def __repr__(self):
        return f"HeartBeat(bill_of_health={self.bill_of_health!r})"

    def __eq__(self, other):
        cdef HeartBeat o
        if type(other) is not HeartBeat:
            return NotImplemented
        o = other
        return self.bill_of_health == o.bill_of_health

    def __hash__(self):
        return hash((HeartBeat, self.bill_of_health))

    def __reduce__(self):
        return (HeartBeat, (self.bill_of_health, ))


@cython.final
@cython.freelist(32)
cdef class HealthMonitorMessage:
    """ASN.1 ``HealthMonitorMessage`` (Failover-monitor-interface), a PDU.

    SEQUENCE {
        correlationId NumericString (SIZE(0..16))  -> ``correlation_id``: str
        componentId NumericString (SIZE(0..16))  -> ``component_id``: str
        message CHOICE { healthQuery HealthQuery, healthQueryResponse HealthQueryResponse, heartBeat HeartBeat }  -> ``message``: HealthQuery | HealthQueryResponse | HeartBeat
    }
    """
    __asn1_module__ = "Failover-monitor-interface"
    __asn1_name__ = "HealthMonitorMessage"
    __asn1_fields__ = (("correlationId", "correlation_id"), ("componentId", "component_id"), ("message", "message"), )
    __match_args__ = ('correlation_id', 'component_id', 'message', )

    def __init__(self, correlation_id, component_id, message):
        self.correlation_id = correlation_id
        self.component_id = component_id
        self.message = message

    def __repr__(self):
        return f"HealthMonitorMessage(correlation_id={self.correlation_id!r}, component_id={self.component_id!r}, message={self.message!r})"

    def __eq__(self, other):
        cdef HealthMonitorMessage o
        if type(other) is not HealthMonitorMessage:
            return NotImplemented
        o = other
        return self.correlation_id == o.correlation_id and self.component_id == o.component_id and self.message == o.message

    def __hash__(self):
        return hash((HealthMonitorMessage, self.correlation_id, self.component_id, self.message))

    def __reduce__(self):
        return (HealthMonitorMessage, (self.correlation_id, self.component_id, self.message, ))


@cython.final
@cython.freelist(32)
cdef class SetRole:
    """ASN.1 ``SetRole`` (Failover-role-interface).

    SEQUENCE {
        role Role  -> ``role``: Role
    }
    """
    __asn1_module__ = "Failover-role-interface"
    __asn1_name__ = "SetRole"
    __asn1_fields__ = (("role", "role"), )
    __match_args__ = ('role', )

    def __init__(self, role):
        self.role = role

    def __repr__(self):
        return f"SetRole(role={self.role!r})"

    def __eq__(self, other):
        cdef SetRole o
        if type(other) is not SetRole:
            return NotImplemented
        o = other
        return self.role == o.role

    def __hash__(self):
        return hash((SetRole, self.role))

    def __reduce__(self):
        return (SetRole, (self.role, ))


@cython.final
@cython.freelist(32)
cdef class SetRoleResponse:
    """ASN.1 ``SetRoleResponse`` (Failover-role-interface).

    SEQUENCE {
        returnCode ReturnCode  -> ``return_code``: ReturnCode
    }
    """
    __asn1_module__ = "Failover-role-interface"
    __asn1_name__ = "SetRoleResponse"
    __asn1_fields__ = (("returnCode", "return_code"), )
    __match_args__ = ('return_code', )

    def __init__(self, return_code):
        self.return_code = return_code

    def __repr__(self):
        return f"SetRoleResponse(return_code={self.return_code!r})"

    def __eq__(self, other):
        cdef SetRoleResponse o
        if type(other) is not SetRoleResponse:
            return NotImplemented
        o = other
        return self.return_code == o.return_code

    def __hash__(self):
        return hash((SetRoleResponse, self.return_code))

    def __reduce__(self):
        return (SetRoleResponse, (self.return_code, ))


@cython.final
@cython.freelist(32)
cdef class RoleMessage:
    """ASN.1 ``RoleMessage`` (Failover-role-interface), a PDU.

    SEQUENCE {
        correlationId NumericString (SIZE(0..16))  -> ``correlation_id``: str
        message CHOICE { setRole SetRole, setRoleResponse SetRoleResponse }  -> ``message``: SetRole | SetRoleResponse
    }
    """
    __asn1_module__ = "Failover-role-interface"
    __asn1_name__ = "RoleMessage"
    __asn1_fields__ = (("correlationId", "correlation_id"), ("message", "message"), )
    __match_args__ = ('correlation_id', 'message', )

    def __init__(self, correlation_id, message):
        self.correlation_id = correlation_id
        self.message = message

    def __repr__(self):
        return f"RoleMessage(correlation_id={self.correlation_id!r}, message={self.message!r})"

    def __eq__(self, other):
        cdef RoleMessage o
        if type(other) is not RoleMessage:
            return NotImplemented
        o = other
        return self.correlation_id == o.correlation_id and self.message == o.message

    def __hash__(self):
        return hash((RoleMessage, self.correlation_id, self.message))

    def __reduce__(self):
        return (RoleMessage, (self.correlation_id, self.message, ))


@cython.final
@cython.freelist(32)
cdef class GetStatus:
    """ASN.1 ``GetStatus`` (Failover-status-interface).

    SEQUENCE { } (no fields)
    """
    __asn1_module__ = "Failover-status-interface"
    __asn1_name__ = "GetStatus"
    __asn1_fields__ = ()
    __match_args__ = ()

    def __init__(self):
        pass

    def __repr__(self):
        return f"GetStatus()"

    def __eq__(self, other):
        if type(other) is not GetStatus:
            return NotImplemented
        return True

    def __hash__(self):
        return hash((GetStatus))

    def __reduce__(self):
        return (GetStatus, ())


@cython.final
@cython.freelist(32)
cdef class StatusIndication:
    """ASN.1 ``StatusIndication`` (Failover-status-interface).

    SEQUENCE {
        status UTF8String  -> ``status``: str
    }
    """
    __asn1_module__ = "Failover-status-interface"
    __asn1_name__ = "StatusIndication"
    __asn1_fields__ = (("status", "status"), )
    __match_args__ = ('status', )

    def __init__(self, status):
        self.status = status

    def __repr__(self):
        return f"StatusIndication(status={self.status!r})"

    def __eq__(self, other):
        cdef StatusIndication o
        if type(other) is not StatusIndication:
            return NotImplemented
        o = other
        return self.status == o.status

    def __hash__(self):
        return hash((StatusIndication, self.status))

    def __reduce__(self):
        return (StatusIndication, (self.status, ))


@cython.final
@cython.freelist(32)
cdef class GetStatusResponse:
    """ASN.1 ``GetStatusResponse`` (Failover-status-interface).

    SEQUENCE {
        status UTF8String  -> ``status``: str
    }
    """
    __asn1_module__ = "Failover-status-interface"
    __asn1_name__ = "GetStatusResponse"
    __asn1_fields__ = (("status", "status"), )
    __match_args__ = ('status', )

    def __init__(self, status):
        self.status = status

    def __repr__(self):
        return f"GetStatusResponse(status={self.status!r})"

    def __eq__(self, other):
        cdef GetStatusResponse o
        if type(other) is not GetStatusResponse:
            return NotImplemented
        o = other
        return self.status == o.status

    def __hash__(self):
        return hash((GetStatusResponse, self.status))

    def __reduce__(self):
        return (GetStatusResponse, (self.status, ))


@cython.final
@cython.freelist(32)
cdef class ServiceStatusMessage:
    """ASN.1 ``ServiceStatusMessage`` (Failover-status-interface), a PDU.

    SEQUENCE {
        correlationId NumericString (SIZE(0..16))  -> ``correlation_id``: str
        message CHOICE { getStatus GetStatus, statusIndication StatusIndication, getStatusResponse GetStatusResponse }  -> ``message``: GetStatus | StatusIndication | GetStatusResponse
    }
    """
    __asn1_module__ = "Failover-status-interface"
    __asn1_name__ = "ServiceStatusMessage"
    __asn1_fields__ = (("correlationId", "correlation_id"), ("message", "message"), )
    __match_args__ = ('correlation_id', 'message', )

    def __init__(self, correlation_id, message):
        self.correlation_id = correlation_id
        self.message = message

    def __repr__(self):
        return f"ServiceStatusMessage(correlation_id={self.correlation_id!r}, message={self.message!r})"

    def __eq__(self, other):
        cdef ServiceStatusMessage o
        if type(other) is not ServiceStatusMessage:
            return NotImplemented
        o = other
        return self.correlation_id == o.correlation_id and self.message == o.message

    def __hash__(self):
        return hash((ServiceStatusMessage, self.correlation_id, self.message))

    def __reduce__(self):
        return (ServiceStatusMessage, (self.correlation_id, self.message, ))


# Immutable values with few possible contents are decoded to shared instances.
cdef tuple _HealthQuery_interned = (HealthQuery(),)
cdef tuple _BillOfHealth_interned = tuple(BillOfHealth(*v) for v in itertools.product(ComponentStatus))
cdef tuple _SetRole_interned = tuple(SetRole(*v) for v in itertools.product(Role))
cdef tuple _SetRoleResponse_interned = tuple(SetRoleResponse(*v) for v in itertools.product(ReturnCode))
cdef tuple _GetStatus_interned = (GetStatus(),)


cdef int _encode_ElectionMessage(Writer* w, object msg) except -1:
    cdef object c1
    cdef type t2
    cdef NominationMessage v3
    cdef ElectionError v4
    cdef Assigment v5
    cdef Veto v6
    cdef ElectionMessage v0
    v0 = msg
    put_numeric_string(w, v0.correlation_id, 0, 16, 5, b"ElectionMessage.correlationId")
    c1 = v0.message
    t2 = type(c1)
    if t2 is NominationMessage:
        put_bits(w, 0, 1)
        v3 = <NominationMessage>c1
        put_utf8_string(w, v3.nominee, 0, 16, b"ElectionMessage.message.nominationMsg.nominee")
    elif t2 is ElectionError:
        put_bits(w, 4, 3)
        v4 = <ElectionError>c1
        put_utf8_string(w, v4.description, 0, -1, b"ElectionMessage.message.electionResult.electionError.description")
    elif t2 is Assigment:
        put_bits(w, 5, 3)
        v5 = <Assigment>c1
        put_utf8_string(w, v5.active, 0, 16, b"ElectionMessage.message.electionResult.assigment.active")
        put_utf8_string(w, v5.standby, 0, 16, b"ElectionMessage.message.electionResult.assigment.standby")
    elif t2 is Veto:
        put_bits(w, 6, 3)
        v6 = <Veto>c1
        put_utf8_string(w, v6.active, 0, 16, b"ElectionMessage.message.electionResult.veto.active")
        put_utf8_string(w, v6.standby, 0, 16, b"ElectionMessage.message.electionResult.veto.standby")
    else:
        raise_encode(b"ElectionMessage.message", f"expected NominationMessage, ElectionError, Assigment or Veto, got {describe(c1)}")
    return 0


cdef ElectionMessage _decode_ElectionMessage(Reader* r):
    cdef ElectionMessage v1
    cdef object c2
    cdef Py_ssize_t i3
    cdef NominationMessage v4
    cdef Py_ssize_t i5
    cdef ElectionError v6
    cdef Assigment v7
    cdef Veto v8
    v1 = ElectionMessage.__new__(ElectionMessage)
    v1.correlation_id = get_numeric_string(r, 0, 16, 5, b"ElectionMessage.correlationId")
    i3 = get_index(r, 2, 1, b"CHOICE", b"ElectionMessage.message")
    if i3 == 0:
        v4 = NominationMessage.__new__(NominationMessage)
        v4.nominee = get_utf8_string(r, 0, 16, b"ElectionMessage.message.nominationMsg.nominee")
        c2 = v4
    elif i3 == 1:
        i5 = get_index(r, 3, 2, b"CHOICE", b"ElectionMessage.message.electionResult")
        if i5 == 0:
            v6 = ElectionError.__new__(ElectionError)
            v6.description = get_utf8_string(r, 0, -1, b"ElectionMessage.message.electionResult.electionError.description")
            c2 = v6
        elif i5 == 1:
            v7 = Assigment.__new__(Assigment)
            v7.active = get_utf8_string(r, 0, 16, b"ElectionMessage.message.electionResult.assigment.active")
            v7.standby = get_utf8_string(r, 0, 16, b"ElectionMessage.message.electionResult.assigment.standby")
            c2 = v7
        elif i5 == 2:
            v8 = Veto.__new__(Veto)
            v8.active = get_utf8_string(r, 0, 16, b"ElectionMessage.message.electionResult.veto.active")
            v8.standby = get_utf8_string(r, 0, 16, b"ElectionMessage.message.electionResult.veto.standby")
            c2 = v8
    v1.message = c2
    return v1


def encode_election_message(msg):
    """The UPER encoding of a :class:`ElectionMessage`; raises EncodeError naming the bad field."""
    cdef Writer w
    if type(msg) is not ElectionMessage:
        raise_encode(b"ElectionMessage", f"expected a ElectionMessage, got {describe(msg)}")
    writer_init(&w)
    try:
        _encode_ElectionMessage(&w, msg)
        return writer_finish(&w)
    finally:
        writer_free(&w)


def decode_election_message(data):
    """The :class:`ElectionMessage` that ``data`` (bytes) encodes; raises DecodeError otherwise."""
    cdef Reader r
    cdef ElectionMessage msg
    if type(data) is not bytes:
        data = bytes(data)
    reader_init(&r, data)
    msg = _decode_ElectionMessage(&r)
    reader_finish(&r, b"ElectionMessage")
    return msg


cdef int _encode_HealthMonitorMessage(Writer* w, object msg) except -1:
    cdef object c1
    cdef type t2
    cdef HealthQueryResponse v3
    cdef BillOfHealth v4
    cdef HeartBeat v5
    cdef BillOfHealth v6
    cdef HealthMonitorMessage v0
    v0 = msg
    put_numeric_string(w, v0.correlation_id, 0, 16, 5, b"HealthMonitorMessage.correlationId")
    put_numeric_string(w, v0.component_id, 0, 16, 5, b"HealthMonitorMessage.componentId")
    c1 = v0.message
    t2 = type(c1)
    if t2 is HealthQuery:
        put_bits(w, 0, 2)
    elif t2 is HealthQueryResponse:
        put_bits(w, 1, 2)
        v3 = <HealthQueryResponse>c1
        v4 = v3.bill_of_health
        if v4 is None:
            raise_encode(b"HealthMonitorMessage.message.healthQueryResponse.billOfHealth", "missing (None); a BillOfHealth is required")
        put_enumerated(w, v4.status, ComponentStatus, 2, 1, b"HealthMonitorMessage.message.healthQueryResponse.billOfHealth.status")
    elif t2 is HeartBeat:
        put_bits(w, 2, 2)
        v5 = <HeartBeat>c1
        v6 = v5.bill_of_health
        if v6 is None:
            raise_encode(b"HealthMonitorMessage.message.heartBeat.billOfHealth", "missing (None); a BillOfHealth is required")
        put_enumerated(w, v6.status, ComponentStatus, 2, 1, b"HealthMonitorMessage.message.heartBeat.billOfHealth.status")
    else:
        raise_encode(b"HealthMonitorMessage.message", f"expected HealthQuery, HealthQueryResponse or HeartBeat, got {describe(c1)}")
    return 0


cdef HealthMonitorMessage _decode_HealthMonitorMessage(Reader* r):
    cdef HealthMonitorMessage v1
    cdef object c2
    cdef Py_ssize_t i3
    cdef HealthQueryResponse v4
    cdef Py_ssize_t k5
    cdef HeartBeat v6
    cdef Py_ssize_t k7
    v1 = HealthMonitorMessage.__new__(HealthMonitorMessage)
    v1.correlation_id = get_numeric_string(r, 0, 16, 5, b"HealthMonitorMessage.correlationId")
    v1.component_id = get_numeric_string(r, 0, 16, 5, b"HealthMonitorMessage.componentId")
    i3 = get_index(r, 3, 2, b"CHOICE", b"HealthMonitorMessage.message")
    if i3 == 0:
        c2 = <HealthQuery>_HealthQuery_interned[0]
    elif i3 == 1:
        v4 = HealthQueryResponse.__new__(HealthQueryResponse)
        k5 = get_index(r, 2, 1, b"ENUMERATED", b"HealthMonitorMessage.message.healthQueryResponse.billOfHealth.status")
        v4.bill_of_health = <BillOfHealth>_BillOfHealth_interned[k5]
        c2 = v4
    elif i3 == 2:
        v6 = HeartBeat.__new__(HeartBeat)
        k7 = get_index(r, 2, 1, b"ENUMERATED", b"HealthMonitorMessage.message.heartBeat.billOfHealth.status")
        v6.bill_of_health = <BillOfHealth>_BillOfHealth_interned[k7]
        c2 = v6
    v1.message = c2
    return v1


def encode_health_monitor_message(msg):
    """The UPER encoding of a :class:`HealthMonitorMessage`; raises EncodeError naming the bad field."""
    cdef Writer w
    if type(msg) is not HealthMonitorMessage:
        raise_encode(b"HealthMonitorMessage", f"expected a HealthMonitorMessage, got {describe(msg)}")
    writer_init(&w)
    try:
        _encode_HealthMonitorMessage(&w, msg)
        return writer_finish(&w)
    finally:
        writer_free(&w)


def decode_health_monitor_message(data):
    """The :class:`HealthMonitorMessage` that ``data`` (bytes) encodes; raises DecodeError otherwise."""
    cdef Reader r
    cdef HealthMonitorMessage msg
    if type(data) is not bytes:
        data = bytes(data)
    reader_init(&r, data)
    msg = _decode_HealthMonitorMessage(&r)
    reader_finish(&r, b"HealthMonitorMessage")
    return msg


cdef int _encode_RoleMessage(Writer* w, object msg) except -1:
    cdef object c1
    cdef type t2
    cdef SetRole v3
    cdef SetRoleResponse v4
    cdef RoleMessage v0
    v0 = msg
    put_numeric_string(w, v0.correlation_id, 0, 16, 5, b"RoleMessage.correlationId")
    c1 = v0.message
    t2 = type(c1)
    if t2 is SetRole:
        put_bits(w, 0, 1)
        v3 = <SetRole>c1
        put_enumerated(w, v3.role, Role, 2, 1, b"RoleMessage.message.setRole.role")
    elif t2 is SetRoleResponse:
        put_bits(w, 1, 1)
        v4 = <SetRoleResponse>c1
        put_enumerated(w, v4.return_code, ReturnCode, 2, 1, b"RoleMessage.message.setRoleResponse.returnCode")
    else:
        raise_encode(b"RoleMessage.message", f"expected SetRole or SetRoleResponse, got {describe(c1)}")
    return 0


cdef RoleMessage _decode_RoleMessage(Reader* r):
    cdef RoleMessage v1
    cdef object c2
    cdef Py_ssize_t i3
    cdef Py_ssize_t k4
    cdef Py_ssize_t k5
    v1 = RoleMessage.__new__(RoleMessage)
    v1.correlation_id = get_numeric_string(r, 0, 16, 5, b"RoleMessage.correlationId")
    i3 = get_index(r, 2, 1, b"CHOICE", b"RoleMessage.message")
    if i3 == 0:
        k4 = get_index(r, 2, 1, b"ENUMERATED", b"RoleMessage.message.setRole.role")
        c2 = <SetRole>_SetRole_interned[k4]
    elif i3 == 1:
        k5 = get_index(r, 2, 1, b"ENUMERATED", b"RoleMessage.message.setRoleResponse.returnCode")
        c2 = <SetRoleResponse>_SetRoleResponse_interned[k5]
    v1.message = c2
    return v1


def encode_role_message(msg):
    """The UPER encoding of a :class:`RoleMessage`; raises EncodeError naming the bad field."""
    cdef Writer w
    if type(msg) is not RoleMessage:
        raise_encode(b"RoleMessage", f"expected a RoleMessage, got {describe(msg)}")
    writer_init(&w)
    try:
        _encode_RoleMessage(&w, msg)
        return writer_finish(&w)
    finally:
        writer_free(&w)


def decode_role_message(data):
    """The :class:`RoleMessage` that ``data`` (bytes) encodes; raises DecodeError otherwise."""
    cdef Reader r
    cdef RoleMessage msg
    if type(data) is not bytes:
        data = bytes(data)
    reader_init(&r, data)
    msg = _decode_RoleMessage(&r)
    reader_finish(&r, b"RoleMessage")
    return msg


cdef int _encode_ServiceStatusMessage(Writer* w, object msg) except -1:
    cdef object c1
    cdef type t2
    cdef StatusIndication v3
    cdef GetStatusResponse v4
    cdef ServiceStatusMessage v0
    v0 = msg
    put_numeric_string(w, v0.correlation_id, 0, 16, 5, b"ServiceStatusMessage.correlationId")
    c1 = v0.message
    t2 = type(c1)
    if t2 is GetStatus:
        put_bits(w, 0, 2)
    elif t2 is StatusIndication:
        put_bits(w, 1, 2)
        v3 = <StatusIndication>c1
        put_utf8_string(w, v3.status, 0, -1, b"ServiceStatusMessage.message.statusIndication.status")
    elif t2 is GetStatusResponse:
        put_bits(w, 2, 2)
        v4 = <GetStatusResponse>c1
        put_utf8_string(w, v4.status, 0, -1, b"ServiceStatusMessage.message.getStatusResponse.status")
    else:
        raise_encode(b"ServiceStatusMessage.message", f"expected GetStatus, StatusIndication or GetStatusResponse, got {describe(c1)}")
    return 0


cdef ServiceStatusMessage _decode_ServiceStatusMessage(Reader* r):
    cdef ServiceStatusMessage v1
    cdef object c2
    cdef Py_ssize_t i3
    cdef StatusIndication v4
    cdef GetStatusResponse v5
    v1 = ServiceStatusMessage.__new__(ServiceStatusMessage)
    v1.correlation_id = get_numeric_string(r, 0, 16, 5, b"ServiceStatusMessage.correlationId")
    i3 = get_index(r, 3, 2, b"CHOICE", b"ServiceStatusMessage.message")
    if i3 == 0:
        c2 = <GetStatus>_GetStatus_interned[0]
    elif i3 == 1:
        v4 = StatusIndication.__new__(StatusIndication)
        v4.status = get_utf8_string(r, 0, -1, b"ServiceStatusMessage.message.statusIndication.status")
        c2 = v4
    elif i3 == 2:
        v5 = GetStatusResponse.__new__(GetStatusResponse)
        v5.status = get_utf8_string(r, 0, -1, b"ServiceStatusMessage.message.getStatusResponse.status")
        c2 = v5
    v1.message = c2
    return v1


def encode_service_status_message(msg):
    """The UPER encoding of a :class:`ServiceStatusMessage`; raises EncodeError naming the bad field."""
    cdef Writer w
    if type(msg) is not ServiceStatusMessage:
        raise_encode(b"ServiceStatusMessage", f"expected a ServiceStatusMessage, got {describe(msg)}")
    writer_init(&w)
    try:
        _encode_ServiceStatusMessage(&w, msg)
        return writer_finish(&w)
    finally:
        writer_free(&w)


def decode_service_status_message(data):
    """The :class:`ServiceStatusMessage` that ``data`` (bytes) encodes; raises DecodeError otherwise."""
    cdef Reader r
    cdef ServiceStatusMessage msg
    if type(data) is not bytes:
        data = bytes(data)
    reader_init(&r, data)
    msg = _decode_ServiceStatusMessage(&r)
    reader_finish(&r, b"ServiceStatusMessage")
    return msg


PDUS = (ElectionMessage, HealthMonitorMessage, RoleMessage, ServiceStatusMessage, )
"""The top-level message types, one per interface."""

_ENCODERS = {ElectionMessage: encode_election_message, HealthMonitorMessage: encode_health_monitor_message, RoleMessage: encode_role_message, ServiceStatusMessage: encode_service_status_message}
_DECODERS = {ElectionMessage: decode_election_message, HealthMonitorMessage: decode_health_monitor_message, RoleMessage: decode_role_message, ServiceStatusMessage: decode_service_status_message}


def encode(msg):
    """The UPER encoding of any PDU (ElectionMessage, HealthMonitorMessage, RoleMessage, ServiceStatusMessage)."""
    encoder = _ENCODERS.get(type(msg))
    if encoder is None:
        raise EncodeError(f"encode: expected one of ElectionMessage, HealthMonitorMessage, RoleMessage, ServiceStatusMessage, got {describe(msg)}")
    return encoder(msg)


def decode(pdu, data):
    """The message of PDU class ``pdu`` that ``data`` encodes."""
    decoder = _DECODERS.get(pdu)
    if decoder is None:
        raise TypeError(f"decode: expected one of ElectionMessage, HealthMonitorMessage, RoleMessage, ServiceStatusMessage, got {pdu!r}")
    return decoder(data)


__all__ = [
    "ComponentStatus",
    "ReturnCode",
    "Role",
    "NominationMessage",
    "ElectionError",
    "Assigment",
    "Veto",
    "ElectionMessage",
    "HealthQuery",
    "BillOfHealth",
    "HealthQueryResponse",
    "HeartBeat",
    "HealthMonitorMessage",
    "SetRole",
    "SetRoleResponse",
    "RoleMessage",
    "GetStatus",
    "StatusIndication",
    "GetStatusResponse",
    "ServiceStatusMessage",
    "PDUS",
    "encode",
    "decode",
    "encode_election_message",
    "decode_election_message",
    "encode_health_monitor_message",
    "decode_health_monitor_message",
    "encode_role_message",
    "decode_role_message",
    "encode_service_status_message",
    "decode_service_status_message",
]

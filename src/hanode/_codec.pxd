# Generated from asn1/election.asn, asn1/monitor.asn, asn1/role.asn, asn1/status.asn by `python -m hanode.codegen`. Do not edit:
# change the .asn files or the generator, then regenerate.
# cython: language_level=3

cdef class NominationMessage:
    cdef readonly str nominee

cdef class ElectionError:
    cdef readonly str description

cdef class Assigment:
    cdef readonly str active
    cdef readonly str standby

cdef class Veto:
    cdef readonly str active
    cdef readonly str standby

cdef class ElectionMessage:
    cdef readonly str correlation_id
    cdef readonly object message

cdef class HealthQuery:
    pass

cdef class BillOfHealth:
    cdef readonly object status

cdef class HealthQueryResponse:
    cdef readonly BillOfHealth bill_of_health

cdef class HeartBeat:
    cdef readonly BillOfHealth bill_of_health

cdef class HealthMonitorMessage:
    cdef readonly str correlation_id
    cdef readonly str component_id
    cdef readonly object message

cdef class SetRole:
    cdef readonly object role

cdef class SetRoleResponse:
    cdef readonly object return_code

cdef class RoleMessage:
    cdef readonly str correlation_id
    cdef readonly object message

cdef class GetStatus:
    pass

cdef class StatusIndication:
    cdef readonly str status

cdef class GetStatusResponse:
    cdef readonly str status

cdef class ServiceStatusMessage:
    cdef readonly str correlation_id
    cdef readonly object message

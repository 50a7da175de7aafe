# cython: language_level=3
"""Lower bounds ("floors") for the cost of one call of a codec function.

Compiled by ``bench/conftest.py`` with the same Cython compiler directives as
``hanode._codec`` (see ``setup.py``), so a floor function is called exactly the
way the codec's per-PDU function is: a module-level ``def`` taking one
positional argument.

* ``encode_floor(msg)`` ignores ``msg`` and only builds a ``bytes`` object of
  the size set beforehand with ``set_encode_size(n)`` -- the one allocation the
  real encoder cannot avoid (it, too, copies a C buffer into a new ``bytes``).
* ``decode_<case>(data)`` ignores ``data`` and only builds the decoded message
  the way the generated decoder does -- ``Cls.__new__(Cls)`` then C-level
  attribute assignment -- from constants (str literals, enum members held in
  module-level variables). It creates no ``str``: the real decoder must.
  Where the decoder returns a shared immutable instance (a SEQUENCE of only
  enums, or an empty one: ``BillOfHealth``, ``SetRole``, ``SetRoleResponse``,
  ``HealthQuery``, ``GetStatus``), so does the floor: both allocate the same
  objects, and the ratio is what parsing costs.

The expected values are fixed here and checked against the benchmark's
expected messages (``==``) before any floor is timed.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize

from hanode._codec cimport (
    Assigment,
    BillOfHealth,
    ElectionError,
    ElectionMessage,
    GetStatus,
    GetStatusResponse,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    NominationMessage,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    StatusIndication,
    Veto,
)

from hanode._codec import ComponentStatus, ReturnCode, Role

# -- encode ---------------------------------------------------------------------

cdef enum:
    MAX_ENCODE_SIZE = 128    # the codec writer's stack buffer (WRITER_STACK)

cdef char _encode_buf[MAX_ENCODE_SIZE]
cdef Py_ssize_t _encode_size = 1


def set_encode_size(Py_ssize_t n):
    """Set the size of the ``bytes`` that ``encode_floor`` returns (1..128)."""
    global _encode_size
    if not 1 <= n <= MAX_ENCODE_SIZE:
        raise ValueError(f"encode size must be 1..{MAX_ENCODE_SIZE}, got {n}")
    _encode_size = n


def encode_floor(msg):
    """A ``bytes`` of the preset size (zero octets); ``msg`` is ignored."""
    return PyBytes_FromStringAndSize(_encode_buf, _encode_size)


# -- decode ---------------------------------------------------------------------

cdef object _STATUS_OK = ComponentStatus.ok
cdef object _STATUS_FAILED = ComponentStatus.failed
cdef object _ROLE_ACTIVE = Role.active
cdef object _RC_SUCCESS = ReturnCode.success
cdef BillOfHealth _BILL_OK = BillOfHealth(ComponentStatus.ok)
cdef BillOfHealth _BILL_FAILED = BillOfHealth(ComponentStatus.failed)
cdef SetRole _SET_ROLE_ACTIVE = SetRole(Role.active)
cdef SetRoleResponse _SET_ROLE_SUCCESS = SetRoleResponse(ReturnCode.success)
cdef HealthQuery _HEALTH_QUERY = HealthQuery()
cdef GetStatus _GET_STATUS = GetStatus()


def decode_heartbeat(data):
    """HealthMonitorMessage("12345", "7", HeartBeat(BillOfHealth(ok)))."""
    cdef HealthMonitorMessage m = HealthMonitorMessage.__new__(HealthMonitorMessage)
    cdef HeartBeat c
    m.correlation_id = "12345"
    m.component_id = "7"
    c = HeartBeat.__new__(HeartBeat)
    c.bill_of_health = _BILL_OK
    m.message = c
    return m


def decode_health_query(data):
    """HealthMonitorMessage("12345", "7", HealthQuery())."""
    cdef HealthMonitorMessage m = HealthMonitorMessage.__new__(HealthMonitorMessage)
    m.correlation_id = "12345"
    m.component_id = "7"
    m.message = _HEALTH_QUERY
    return m


def decode_health_query_response(data):
    """HealthMonitorMessage("12345", "7", HealthQueryResponse(BillOfHealth(failed)))."""
    cdef HealthMonitorMessage m = HealthMonitorMessage.__new__(HealthMonitorMessage)
    cdef HealthQueryResponse c
    m.correlation_id = "12345"
    m.component_id = "7"
    c = HealthQueryResponse.__new__(HealthQueryResponse)
    c.bill_of_health = _BILL_FAILED
    m.message = c
    return m


def decode_set_role(data):
    """RoleMessage("12345", SetRole(active))."""
    cdef RoleMessage m = RoleMessage.__new__(RoleMessage)
    m.correlation_id = "12345"
    m.message = _SET_ROLE_ACTIVE
    return m


def decode_set_role_response(data):
    """RoleMessage("12345", SetRoleResponse(success))."""
    cdef RoleMessage m = RoleMessage.__new__(RoleMessage)
    m.correlation_id = "12345"
    m.message = _SET_ROLE_SUCCESS
    return m


def decode_nomination(data):
    """ElectionMessage("12345", NominationMessage("node-a"))."""
    cdef ElectionMessage m = ElectionMessage.__new__(ElectionMessage)
    cdef NominationMessage c
    m.correlation_id = "12345"
    c = NominationMessage.__new__(NominationMessage)
    c.nominee = "node-a"
    m.message = c
    return m


def decode_assigment(data):
    """ElectionMessage("12345", Assigment("node-a", "node-b"))."""
    cdef ElectionMessage m = ElectionMessage.__new__(ElectionMessage)
    cdef Assigment c
    m.correlation_id = "12345"
    c = Assigment.__new__(Assigment)
    c.active = "node-a"
    c.standby = "node-b"
    m.message = c
    return m


def decode_veto(data):
    """ElectionMessage("12345", Veto("node-b", "node-a"))."""
    cdef ElectionMessage m = ElectionMessage.__new__(ElectionMessage)
    cdef Veto c
    m.correlation_id = "12345"
    c = Veto.__new__(Veto)
    c.active = "node-b"
    c.standby = "node-a"
    m.message = c
    return m


def decode_election_error(data):
    """ElectionMessage("12345", ElectionError("no quorum: 1 of 2 nodes reachable"))."""
    cdef ElectionMessage m = ElectionMessage.__new__(ElectionMessage)
    cdef ElectionError c
    m.correlation_id = "12345"
    c = ElectionError.__new__(ElectionError)
    c.description = "no quorum: 1 of 2 nodes reachable"
    m.message = c
    return m


def decode_get_status(data):
    """ServiceStatusMessage("12345", GetStatus())."""
    cdef ServiceStatusMessage m = ServiceStatusMessage.__new__(ServiceStatusMessage)
    m.correlation_id = "12345"
    m.message = _GET_STATUS
    return m


def decode_status_indication(data):
    """ServiceStatusMessage("12345", StatusIndication("active"))."""
    cdef ServiceStatusMessage m = ServiceStatusMessage.__new__(ServiceStatusMessage)
    cdef StatusIndication c
    m.correlation_id = "12345"
    c = StatusIndication.__new__(StatusIndication)
    c.status = "active"
    m.message = c
    return m


def decode_get_status_response(data):
    """ServiceStatusMessage("12345", GetStatusResponse("standby"))."""
    cdef ServiceStatusMessage m = ServiceStatusMessage.__new__(ServiceStatusMessage)
    cdef GetStatusResponse c
    m.correlation_id = "12345"
    c = GetStatusResponse.__new__(GetStatusResponse)
    c.status = "standby"
    m.message = c
    return m

# Generated from asn1/election.asn, asn1/monitor.asn, asn1/role.asn, asn1/status.asn by `python -m hanode.codegen`. Do not edit:
# change the .asn files or the generator, then regenerate.

import enum
from typing import ClassVar


class ComponentStatus(enum.IntEnum):
    ok = 0
    failed = 1

class ReturnCode(enum.IntEnum):
    success = 0
    failure = 1

class Role(enum.IntEnum):
    active = 0
    standby = 1

class NominationMessage:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, nominee: str) -> None: ...
    @property
    def nominee(self) -> str: ...

class ElectionError:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, description: str) -> None: ...
    @property
    def description(self) -> str: ...

class Assigment:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, active: str, standby: str) -> None: ...
    @property
    def active(self) -> str: ...
    @property
    def standby(self) -> str: ...

class Veto:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, active: str, standby: str) -> None: ...
    @property
    def active(self) -> str: ...
    @property
    def standby(self) -> str: ...

class ElectionMessage:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, correlation_id: str, message: NominationMessage | ElectionError | Assigment | Veto) -> None: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def message(self) -> NominationMessage | ElectionError | Assigment | Veto: ...

class HealthQuery:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self) -> None: ...

class BillOfHealth:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, status: ComponentStatus) -> None: ...
    @property
    def status(self) -> ComponentStatus: ...

class HealthQueryResponse:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, bill_of_health: BillOfHealth) -> None: ...
    @property
    def bill_of_health(self) -> BillOfHealth: ...

class HeartBeat:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, bill_of_health: BillOfHealth) -> None: ...
    @property
    def bill_of_health(self) -> BillOfHealth: ...

class HealthMonitorMessage:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, correlation_id: str, component_id: str, message: HealthQuery | HealthQueryResponse | HeartBeat) -> None: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def component_id(self) -> str: ...
    @property
    def message(self) -> HealthQuery | HealthQueryResponse | HeartBeat: ...

class SetRole:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, role: Role) -> None: ...
    @property
    def role(self) -> Role: ...

class SetRoleResponse:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, return_code: ReturnCode) -> None: ...
    @property
    def return_code(self) -> ReturnCode: ...

class RoleMessage:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, correlation_id: str, message: SetRole | SetRoleResponse) -> None: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def message(self) -> SetRole | SetRoleResponse: ...

class GetStatus:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self) -> None: ...

class StatusIndication:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, status: str) -> None: ...
    @property
    def status(self) -> str: ...

class GetStatusResponse:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, status: str) -> None: ...
    @property
    def status(self) -> str: ...

class ServiceStatusMessage:
    __asn1_module__: ClassVar[str]
    __asn1_name__: ClassVar[str]
    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def __init__(self, correlation_id: str, message: GetStatus | StatusIndication | GetStatusResponse) -> None: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def message(self) -> GetStatus | StatusIndication | GetStatusResponse: ...

PDU = ElectionMessage | HealthMonitorMessage | RoleMessage | ServiceStatusMessage
PDUS: tuple[type[PDU], ...]

def encode(msg: PDU) -> bytes: ...
def decode(pdu: type[PDU], data: bytes) -> PDU: ...
def encode_election_message(msg: ElectionMessage) -> bytes: ...
def decode_election_message(data: bytes) -> ElectionMessage: ...
def encode_health_monitor_message(msg: HealthMonitorMessage) -> bytes: ...
def decode_health_monitor_message(data: bytes) -> HealthMonitorMessage: ...
def encode_role_message(msg: RoleMessage) -> bytes: ...
def decode_role_message(data: bytes) -> RoleMessage: ...
def encode_service_status_message(msg: ServiceStatusMessage) -> bytes: ...
def decode_service_status_message(data: bytes) -> ServiceStatusMessage: ...

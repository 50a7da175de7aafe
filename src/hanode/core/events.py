"""The events a :class:`~hanode.core.node.Node` takes and the actions it returns.

Small frozen dataclasses under two base classes, as in h11 and wsproto; the
Trio agent dispatches on their type. Connections are named by integers the
agent chooses (``link`` for the peer link, ``conn`` for component
connections, ``client`` for status clients), so a late event from a closed
connection can be told from one of its successor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hanode.codec import BillOfHealth, ElectionMessage, HealthMonitorMessage, HeartBeat, RoleMessage, ServiceStatusMessage

__all__ = [
    "Event", "Tick", "PeerConnected", "PeerMessage", "PeerDisconnected", "PeerRefused",
    "ComponentConnected", "ComponentMessage", "ComponentMessages", "ComponentDisconnected", "CommandFinished",
    "ClientConnected", "ClientMessage", "ClientDisconnected", "WitnessChanged", "Shutdown", "CommandsFenced",
    "Switchover", "SetMaintenance", "FenceFinished", "RunFence", "ProbeWitness",
    "Action", "SendPeer", "ClosePeer", "SendComponent", "SendHeartbeats", "CloseComponent", "RunCommand",
    "SendClient", "CloseClient", "StatusChanged", "Log", "Stopped",
]


class Event:
    """Something that happened, with no time in it: ``now`` is passed beside it."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Tick(Event):
    """A deadline the node asked for (``next_deadline()``) has come."""


@dataclass(frozen=True, slots=True)
class PeerConnected(Event):
    """A connection to the peer agent is open (dialled or accepted). It becomes
    the link once a first PDU arrives on it."""

    link: int


@dataclass(frozen=True, slots=True)
class PeerMessage(Event):
    link: int
    msg: ElectionMessage | HealthMonitorMessage


@dataclass(frozen=True, slots=True)
class PeerDisconnected(Event):
    link: int


@dataclass(frozen=True, slots=True)
class PeerRefused(Event):
    """A dial was refused: nothing listens at the peer's address, its agent is gone."""


@dataclass(frozen=True, slots=True)
class ComponentConnected(Event):
    conn: int


@dataclass(frozen=True, slots=True)
class ComponentMessage(Event):
    conn: int
    msg: RoleMessage | HealthMonitorMessage


@dataclass(frozen=True, slots=True)
class ComponentMessages(Event):
    """Messages from component connections, in the order they were read:
    ``(conn, msg)`` pairs, each taken as one :class:`ComponentMessage`. The
    agent reads every ready socket at once and hands the node the lot in one
    call (a thousand heartbeats a round)."""

    items: list[tuple[int, RoleMessage | HealthMonitorMessage]]


@dataclass(frozen=True, slots=True)
class ComponentDisconnected(Event):
    conn: int


@dataclass(frozen=True, slots=True)
class CommandFinished(Event):
    """A command the node asked for (:class:`RunCommand`) has ended."""

    component_id: str
    command: str  # "on_active", "on_standby" or "check"
    ok: bool      # exit status 0 within command_timeout


@dataclass(frozen=True, slots=True)
class ClientConnected(Event):
    client: int


@dataclass(frozen=True, slots=True)
class ClientMessage(Event):
    client: int
    msg: ServiceStatusMessage


@dataclass(frozen=True, slots=True)
class ClientDisconnected(Event):
    client: int


@dataclass(frozen=True, slots=True)
class WitnessChanged(Event):
    """The result of a witness probe: whether at least one witness accepts a
    TCP connection. Sent after every probe, changed or not: its time is how
    fresh the verdict is."""

    reachable: bool


@dataclass(frozen=True, slots=True)
class Shutdown(Event):
    """SIGTERM or SIGINT: hand the role over if we can, then stop."""


@dataclass(frozen=True, slots=True)
class CommandsFenced(Event):
    """The guard ran every command component's ``on_standby`` while we were
    stalled: their roles are unknown and must be given again."""


@dataclass(frozen=True, slots=True)
class Switchover(Event):
    """The operator asks the active node to hand its role to the peer
    (``hanode switchover``). Refused, with a log line, when it cannot:
    :meth:`Node.switchover_refusal` says why beforehand."""


@dataclass(frozen=True, slots=True)
class SetMaintenance(Event):
    """The operator turns maintenance on or off (``hanode maintenance``)."""

    on: bool


@dataclass(frozen=True, slots=True)
class FenceFinished(Event):
    """The fence command has ended (``ok``: exit status 0 within its timeout)."""

    ok: bool


class Action:
    """Something the agent must do for the node."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ProbeWitness(Action):
    """Probe the witnesses now and report with ``WitnessChanged``: a take-over
    needs a verdict newer than the loss of the peer."""


@dataclass(frozen=True, slots=True)
class RunFence(Action):
    """Run the fence command (STONITH): the peer must be made harmless
    before this node takes the role without the peer's agreement."""


@dataclass(frozen=True, slots=True)
class SendPeer(Action):
    link: int
    msg: ElectionMessage | HealthMonitorMessage


@dataclass(frozen=True, slots=True)
class ClosePeer(Action):
    link: int
    reason: str


@dataclass(frozen=True, slots=True)
class SendComponent(Action):
    conn: int
    msg: RoleMessage | HealthMonitorMessage


@dataclass(frozen=True, slots=True)
class SendHeartbeats(Action):
    """The node's heartbeat to every bound component connection: to each
    ``(conn, component_id)`` of ``targets``, ``HealthMonitorMessage(
    correlation_id, component_id, HeartBeat(bill))``. One action for all, so
    that the agent encodes and writes them in one go."""

    correlation_id: str
    bill: BillOfHealth
    targets: list[tuple[int, str]]

    def messages(self) -> Iterator[tuple[int, HealthMonitorMessage]]:
        """``(conn, message)`` for each target, as separate sends would carry them."""
        beat = HeartBeat(self.bill)
        for conn, component_id in self.targets:
            yield conn, HealthMonitorMessage(self.correlation_id, component_id, beat)


@dataclass(frozen=True, slots=True)
class CloseComponent(Action):
    conn: int
    reason: str


@dataclass(frozen=True, slots=True)
class RunCommand(Action):
    """Run a command component's ``on_active``, ``on_standby`` or ``check``;
    answer with :class:`CommandFinished`."""

    component_id: str
    command: str


@dataclass(frozen=True, slots=True)
class SendClient(Action):
    client: int
    msg: ServiceStatusMessage


@dataclass(frozen=True, slots=True)
class CloseClient(Action):
    client: int
    reason: str


@dataclass(frozen=True, slots=True)
class StatusChanged(Action):
    """The service status token changed (for the ``notify`` hook and the log)."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Log(Action):
    """A line for the log and the dashboard's recent events."""

    level: str   # "info", "warning" or "error"
    kind: str    # "election", "role", "monitor", "status", "peer", "client"
    text: str


@dataclass(frozen=True, slots=True)
class Stopped(Action):
    """Shutdown is complete: the components are standby, the agent may exit."""

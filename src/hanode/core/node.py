"""A node: the four subsystems composed into one sans-IO object.

``handle(event, now)`` is the one entry point and ``next_deadline()`` the one
timer; the Trio agent feeds it bytes (as decoded messages) and time, and
carries out the actions it returns. The subsystems talk through this class
only, in a settle loop run after every event until nothing changes: monitor
availability feeds the role manager; the role manager's progress and the
node's health feed the election; the election's state sets the role
manager's target; and the status token is recomputed last.
"""

from __future__ import annotations

from hanode.codec import HealthMonitorMessage, Role, RoleMessage, SetRole, SetRoleResponse

from .election import Election
from .events import (
    Action,
    ClientConnected,
    ClientDisconnected,
    ClientMessage,
    CloseComponent,
    CommandFinished,
    CommandsFenced,
    ComponentConnected,
    ComponentDisconnected,
    ComponentMessage,
    ComponentMessages,
    Event,
    FenceFinished,
    Log,
    PeerConnected,
    PeerDisconnected,
    PeerMessage,
    PeerRefused,
    RunCommand,
    SendComponent,
    SetMaintenance,
    Shutdown,
    Switchover,
    Tick,
    WitnessChanged,
)
from .monitor import Monitor
from .role import AssignRole, NotStandby, RoleManager
from .settings import NodeSpec
from .status import StatusService, token


class Node:
    """One node's decision logic. Sans-IO: no clock, no sockets, no trio."""

    def __init__(self, spec: NodeSpec, now: float):
        self.spec = spec
        self.election = Election(spec, now)
        self.monitor = Monitor(spec, now)
        self.roles = RoleManager(spec)
        self.status = StatusService()
        self._reported = False  # the role manager's settling was reported for its target
        self._dispatch = {
            Tick: self._tick,
            PeerConnected: lambda e, now: self.election.peer_connected(e.link, now),
            PeerMessage: lambda e, now: self.election.peer_message(e.link, e.msg, now),
            PeerDisconnected: lambda e, now: self.election.peer_disconnected(e.link, now),
            PeerRefused: lambda e, now: self.election.peer_refused(now),
            ComponentConnected: lambda e, now: self.monitor.connected(e.conn) or [],
            ComponentMessage: self._component_message,
            ComponentDisconnected: lambda e, now: self.monitor.disconnected(e.conn, now),
            CommandFinished: self._command_finished,
            ClientConnected: lambda e, now: self.status.connected(e.client),
            ClientMessage: lambda e, now: self.status.message(e.client, e.msg),
            ClientDisconnected: lambda e, now: self.status.disconnected(e.client),
            WitnessChanged: lambda e, now: self.election.set_witness(e.reachable, now),
            Shutdown: lambda e, now: self.election.shutdown(now),
            CommandsFenced: self._commands_fenced,
            Switchover: lambda e, now: self.election.switchover(now),
            SetMaintenance: lambda e, now: self.election.set_maintenance(e.on, now),
            FenceFinished: lambda e, now: self.election.fence_finished(e.ok, now),
        }
        self._settle_actions: list[Action] = []

    # -- the API -------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Action]:
        """Take one event at time ``now``; return what to do, in order."""
        actions, frozen = self.election.check_freeze(now)
        if frozen:
            self.monitor.rejoin(now)
        kind = type(event)
        if kind is ComponentMessages:
            actions += self._component_messages(event.items, now)
        elif kind is ComponentMessage and type(event.msg) is HealthMonitorMessage:
            # The hot path: a heartbeat, straight to the monitor. One that
            # changed nothing (no action, no notice) leaves the node as
            # settled as it was after the previous event; what time alone
            # changes is the ticks' business.
            actions += self.monitor.message(event.conn, event.msg, now, self.election.health is True)
            if not actions and not self.monitor.notices:
                return actions
        else:
            handler = self._dispatch.get(kind)
            if handler is None:
                raise TypeError(f"Node.handle: not an event: {event!r}")
            actions += handler(event, now)
        if actions or self._unsettled(now):
            actions += self._settle(now)
        return actions

    def _unsettled(self, now: float) -> bool:
        """Whether an event that returned no action still left work for the
        settle loop. When it did not (most heartbeats and ticks), nothing the
        status token is made of has changed either."""
        monitor, roles, election = self.monitor, self.roles, self.election
        return bool(
            monitor.notices or roles.notices or election.entered
            or self.healthy(now) != election.health
            or roles.target != election.wanted_role
            or (roles.settled and not self._reported)
        )

    def next_deadline(self) -> float:
        """When the node next wants a :class:`Tick`, in the caller's clock."""
        d = min(self.election.deadline(), self.monitor.deadline())
        r = self.roles.deadline()
        return d if r is None or r > d else r

    def switchover_refusal(self) -> str | None:
        """Why ``Switchover`` would be refused now (None: it would start)."""
        return self.election.switchover_refusal()

    def switchover_outcome(self) -> str:
        """After :class:`Switchover`: "running", "done", "refused" or "interrupted"."""
        return self.election.switchover_outcome()

    @property
    def state(self) -> str:
        return self.election.state

    def healthy(self, now: float) -> bool | None:
        """Our health: None until known, then whether every required component is fine."""
        if not self.monitor.health_known(now):
            return None
        return self.monitor.healthy_required and self.roles.failed_required == 0

    # -- handlers ------------------------------------------------------------------------
    def _tick(self, event: Tick, now: float) -> list[Action]:
        # The election's tick is a few comparisons; the monitor's walks its
        # timers, so it runs only when one of them has come.
        actions = self.election.tick(now)
        if self.monitor.deadline() <= now:
            actions += self.monitor.tick(now, self.election.health is True)
        r = self.roles.deadline()
        if r is not None and r <= now:
            actions += self.roles.tick(now)
        return actions

    def _component_messages(self, items: list, now: float) -> list[Action]:
        """Each message as its own ComponentMessage, in order; a heartbeat the
        monitor takes in its few steps (:meth:`Monitor.heard`) changes nothing
        else, and the next one goes on at once."""
        actions: list[Action] = []
        heard = self.monitor.heard
        for conn, msg in items:
            if type(msg) is HealthMonitorMessage and heard(conn, msg, now):
                continue
            actions += self.handle(ComponentMessage(conn, msg), now)
        return actions

    def _component_message(self, event: ComponentMessage, now: float) -> list[Action]:
        """A role PDU from a component (monitor PDUs go straight to the monitor in handle)."""
        msg = event.msg
        cid = self.monitor.conns.get(event.conn)
        if cid is None:
            if event.conn not in self.monitor.conns:
                return []  # late data from a closed connection
            return self._close_component(event.conn, "a role PDU before any monitor PDU: send a heartbeat first to bind the connection", now)
        body = msg.message
        if type(body) is SetRole:
            return self._close_component(event.conn, f"component {cid} sent a SetRole request; only the agent assigns roles", now)
        assert type(body) is SetRoleResponse
        return self.roles.response(cid, msg.correlation_id, body.return_code, now)

    def _close_component(self, conn: int, reason: str, now: float) -> list[Action]:
        actions: list[Action] = [CloseComponent(conn, reason), Log("warning", "monitor", f"closed a component connection: {reason}")]
        return actions + self.monitor.disconnected(conn, now)

    def _command_finished(self, event: CommandFinished, now: float) -> list[Action]:
        if event.command == "check":
            return self.monitor.check_finished(event.component_id, event.ok, now)
        return self.roles.command_finished(event.component_id, event.command, event.ok, now)

    def _commands_fenced(self, event: CommandsFenced, now: float) -> list[Action]:
        actions: list[Action] = [Log("warning", "role", "the guard fenced the command components while we stalled: assigning their roles again")]
        for c in self.spec.components:
            if c.kind == "command":
                actions += self.roles.reassign(c.id, now)
        return actions

    def _fence(self, notice: NotStandby, now: float) -> list[Action]:
        """A component that did not go standby may still serve: close its
        connection, on which the component library fences itself (SPEC 4),
        before anything lets the peer promote. A command component has no
        connection: its on_standby is retried, and the operator told."""
        spec = self.monitor.components[notice.component_id].spec
        conn = self.monitor.components[spec.id].conn
        if spec.kind == "command" or conn is None:
            return [Log("error", "role", f"component {spec.id} ({spec.name}) did not go standby ({notice.reason}): check it by hand; retrying")]
        return self._close_component(conn, f"component {spec.id} ({spec.name}) did not go standby ({notice.reason}): closing its connection so that it fences itself", now)

    def _assign(self, notice: AssignRole) -> list[Action]:
        spec = self.monitor.components[notice.component_id].spec
        if spec.kind == "command":
            return [RunCommand(spec.id, "on_active" if notice.role == Role.active else "on_standby")]
        conn = self.monitor.components[spec.id].conn
        if conn is None:
            # Its connection was closed in this same step (it did not go
            # standby); the role manager hears of it next and drops the request.
            return []
        return [SendComponent(conn, RoleMessage(notice.correlation_id, SetRole(notice.role)))]

    # -- the settle loop -------------------------------------------------------------------
    def _settle(self, now: float) -> list[Action]:
        actions: list[Action] = []
        monitor, roles, election = self.monitor, self.roles, self.election
        while True:
            # Every state the election passed through is a status clients see, in order.
            while election.entered:
                actions += self.status.update(self._token(election.entered.pop(0)))
            while monitor.notices:
                n = monitor.notices.pop(0)
                actions += roles.availability(n.component_id, n.available, n.reachable, now, n.reason)
            while roles.notices:
                notice = roles.notices.pop(0)
                if type(notice) is NotStandby:
                    actions += self._fence(notice, now)
                else:
                    actions += self._assign(notice)
            health = self.healthy(now)
            if health != election.health:
                actions += election.set_health(health, now)
                continue
            target = election.wanted_role
            if roles.target != target:
                self._reported = False
                actions += roles.set_target(target, now)
                continue
            if roles.settled and not self._reported:
                self._reported = True
                actions += election.role_settled(now, roles.promotion_succeeded)
                continue
            break  # every queue above is empty and nothing changed
        return actions + self.status.update(self._token(election.state))

    def _token(self, state: str) -> str:
        election = self.election
        return token(
            "unassigned" if state == "stopped" else state,
            healthy=election.health is True,
            any_failed=self.monitor.unavailable > 0 or self.roles.any_failed(),
            isolated=election.isolated,
            stopping=election.stopping,
        )

"""Monitor subsystem (SPEC section 5, seed 3.3): who is healthy.

Rules:

- A component connection is bound to the ``componentId`` of the first monitor
  PDU it sends. An id the configuration does not list, or one of a command
  component, is refused (the connection is closed with the reason). When an id
  binds a new connection while an older one is open, the newest wins and the
  older is closed: a restarted component is never locked out by its own
  half-dead connection. A later PDU with another id closes the connection.
- Components heartbeat every interval. Silent for one interval past its
  heartbeat (``PROBE_AFTER`` = 1.5 intervals since it last spoke: a heartbeat
  late by half an interval), a component is a suspect and is probed with
  ``healthQuery`` (also sent at registration); the slack keeps jitter from
  doubling the traffic with probes;
  silent for ``dead_after`` intervals, or reporting ``failed``, it is failed.
  Anything it sends counts as a sign of life. A failed component that speaks
  ``ok`` again, or reconnects, is available again.
- Command components are checked by running their ``check`` every
  ``check_interval``; the exit status is their bill of health, and they
  register with their first result.
- The agent heartbeats every bound component each interval with the node's
  health, so that a component can tell a live agent from a frozen one and
  fence itself; a component's ``healthQuery`` is answered the same way.
- The node's health is known once every component has registered or
  ``startup_grace`` has passed since the node started or rejoined.

Deadlines are exact (a component silent since ``t`` is probed at
``t + 1.5 * interval``, failed at ``t + dead_after * interval``) and cost
O(1) per message: every message is heard at the latest ``now``, so keeping
the healthy components in the order they were last heard (and the suspects
in the order they became suspect) puts the next one due first. A thousand
components heartbeating wake the node for nothing but its own heartbeat.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass

from hanode.codec import (
    ComponentStatus,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
)

from .events import Action, CloseComponent, Log, RunCommand, SendComponent, SendHeartbeats
from .ids import Counter, bill
from .settings import ComponentSpec, NodeSpec
from .table import Transition, TransitionTable

PROBE_AFTER = 1.5  # intervals of silence before a component is probed

HEALTH_TABLE = TransitionTable(
    "component health",
    ("unregistered", "healthy", "suspect", "failed"),
    [
        Transition("unregistered", "registers, reports ok", "healthy", "healthQuery sent"),
        Transition("unregistered", "registers, reports failed", "failed", "healthQuery sent"),
        Transition("healthy", "a heartbeat late", "suspect", "healthQuery sent"),
        Transition("suspect", "speaks, reports ok", "healthy"),
        Transition("suspect", "silent dead_after intervals", "failed"),
        Transition("healthy", "reports failed", "failed"),
        Transition("suspect", "reports failed", "failed"),
        Transition("failed", "reports ok", "healthy"),
        Transition("healthy", "connection closed", "unregistered"),
        Transition("suspect", "connection closed", "unregistered"),
        Transition("failed", "connection closed", "unregistered"),
    ],
    initial="unregistered",
)


@dataclass(frozen=True, slots=True)
class Availability:
    """A notice for the role subsystem. ``reachable``: a role can be sent to
    it (a bound connection; command components always). ``available``: it is
    also healthy. Roles go to every reachable component, healthy or not: a
    component that reports ``failed`` may still hold the active role, and a
    demotion must reach it."""

    component_id: str
    available: bool
    reachable: bool
    reason: str = ""


class _Component:
    __slots__ = ("spec", "conn", "state", "last_rx", "check_running", "reason")

    def __init__(self, spec: ComponentSpec):
        self.spec = spec
        self.conn: int | None = None
        self.state = "unregistered"
        self.last_rx = 0.0
        self.check_running = False
        self.reason = "not registered yet"


class Monitor:
    """Health of this node's components. Sans-IO: every method takes ``now``."""

    def __init__(self, spec: NodeSpec, now: float):
        self.spec = spec
        self.timers = spec.timers
        self.components = {c.id: _Component(c) for c in spec.components}
        self.conns: dict[int, str | None] = {}  # open component connections -> bound id
        self.grace_start = now
        self.notices: list[Availability] = []
        self._corr = Counter()       # our health queries
        self._beat_seq = Counter()   # our heartbeats to components
        self._next_beat = now + self.timers.heartbeat_interval
        self.probe_after = PROBE_AFTER * self.timers.heartbeat_interval
        # Command components' checks: (deadline, component id), superseded entries skipped.
        self._heap: list[tuple[float, str]] = []
        self._armed: dict[str, float] = {}
        # Bound components by silence, the longest silent first (see the module's docstring):
        # healthy ones are probed probe_after after they last spoke, suspects failed dead_time after.
        self._listening: OrderedDict[str, None] = OrderedDict()
        self._suspects: OrderedDict[str, None] = OrderedDict()
        self._grace_passed = False
        # Counts kept in _move, so that health questions cost O(1) per event.
        self.unregistered = len(self.components)
        self.unavailable = len(self.components)
        self.unavailable_required = sum(c.required for c in spec.components)
        for c in self.components.values():
            if c.spec.kind == "command":
                self._arm(now, c.spec.id)

    # -- queries ------------------------------------------------------------------
    def health_known(self, now: float) -> bool:
        return self.unregistered == 0 or now >= self.grace_start + self.timers.startup_grace - 1e-9

    def available(self, component_id: str) -> bool:
        """Registered and neither failed nor silent past ``dead_after``."""
        return self.components[component_id].state in ("healthy", "suspect")

    def unhealthy_required(self) -> list[str]:
        return [c.spec.id for c in self.components.values() if c.spec.required and not self.available(c.spec.id)]

    @property
    def healthy_required(self) -> bool:
        """Every required component is available (kept as counts: the heartbeat path is O(1))."""
        return self.unavailable_required == 0

    def state(self, component_id: str) -> str:
        return self.components[component_id].state

    def reachable(self, component_id: str) -> bool:
        c = self.components[component_id]
        return c.spec.kind == "command" or c.conn is not None

    def heartbeat_age(self, component_id: str, now: float) -> float | None:
        c = self.components[component_id]
        return None if c.state == "unregistered" else now - c.last_rx

    def silence_deadline(self, component_id: str) -> float | None:
        """When the component's silence is next looked at: its probe if it
        is healthy, its failure if suspect; None when not watched (failed,
        unbound, a command component)."""
        c = self.components[component_id]
        if component_id in self._listening:
            return c.last_rx + self.probe_after
        if component_id in self._suspects:
            return c.last_rx + self.timers.dead_time
        return None

    def deadline(self) -> float:
        deadline = self._next_beat
        if self._heap and self._heap[0][0] < deadline:
            deadline = self._heap[0][0]
        # The longest silent of each kind is the first due.
        if self._listening:
            deadline = min(deadline, self.components[next(iter(self._listening))].last_rx + self.probe_after)
        if self._suspects:
            deadline = min(deadline, self.components[next(iter(self._suspects))].last_rx + self.timers.dead_time)
        grace_end = self.grace_start + self.timers.startup_grace
        if not self._grace_passed and grace_end < deadline:
            deadline = grace_end
        return deadline

    def rejoin(self, now: float) -> None:
        """The node rejoins (after a freeze): the startup grace runs again."""
        self.grace_start = now
        self._grace_passed = False

    # -- connections ------------------------------------------------------------------
    def connected(self, conn: int) -> None:
        self.conns[conn] = None

    def disconnected(self, conn: int, now: float) -> list[Action]:
        bound = self.conns.pop(conn, None)
        if bound is None:
            return []
        c = self.components[bound]
        if c.conn != conn:
            return []  # an older connection that a newer one already replaced
        c.conn = None
        return self._move(c, "connection closed", now, "its connection closed")

    def heard(self, conn: int, msg: HealthMonitorMessage, now: float) -> bool:
        """The common case of :meth:`message`, in a few steps: an ``ok``
        heartbeat from a healthy component on its bound connection only
        records when it was heard (its silence check is armed while it is
        healthy). True when taken; False: call ``message``."""
        cid = self.conns.get(conn)
        if cid is None or cid != msg.component_id:
            return False
        c = self.components[cid]
        body = msg.message
        if c.state != "healthy" or type(body) is not HeartBeat or body.bill_of_health.status != ComponentStatus.ok:
            return False
        c.last_rx = now
        self._listening.move_to_end(cid)  # healthy and bound: it is listened to
        return True

    def message(self, conn: int, msg: HealthMonitorMessage, now: float, node_healthy: bool) -> list[Action]:
        """A monitor PDU from a component connection."""
        if conn not in self.conns:
            return []  # late data from a connection already closed
        bound = self.conns[conn]
        cid = msg.component_id
        if bound is None:
            return self._bind(conn, msg, now, node_healthy)
        if cid != bound:
            # The connection goes, and with it the component it was bound to:
            # it is unregistered now, not when silence would tell.
            actions = self._refuse(conn, f"componentId changed from {bound!r} to {cid!r} on a bound connection")
            c = self.components[bound]
            c.conn = None
            return actions + self._move(c, "connection closed", now, "its connection closed")
        return self._receive(self.components[cid], msg, now, node_healthy)

    def _bind(self, conn: int, msg: HealthMonitorMessage, now: float, node_healthy: bool) -> list[Action]:
        cid = msg.component_id
        c = self.components.get(cid)
        if c is None:
            known = ", ".join(sorted(self.components)) or "none"
            return self._refuse(conn, f"unknown componentId {cid!r} (configured: {known})")
        if c.spec.kind == "command":
            return self._refuse(conn, f"componentId {cid!r} is a command component, run by the agent")
        actions: list[Action] = []
        if c.conn is not None:
            old = c.conn
            self.conns.pop(old, None)
            actions.append(CloseComponent(old, f"component {cid} connected again; the newest connection wins"))
            actions.append(Log("warning", "monitor", f"component {cid} ({c.spec.name}) reconnected; closed its older connection"))
            c.conn = None
            if c.state != "unregistered":
                actions += self._move(c, "connection closed", now, "replaced by a new connection")
        self.conns[conn] = cid
        c.conn = conn
        actions.append(Log("info", "monitor", f"component {cid} ({c.spec.name}) registered"))
        actions.append(SendComponent(conn, HealthMonitorMessage(self._corr.next(), cid, HealthQuery())))
        actions += self._receive(c, msg, now, node_healthy)
        return actions

    def _refuse(self, conn: int, reason: str) -> list[Action]:
        self.conns.pop(conn, None)
        return [CloseComponent(conn, reason), Log("warning", "monitor", f"closed a component connection: {reason}")]

    def _receive(self, c: _Component, msg: HealthMonitorMessage, now: float, node_healthy: bool) -> list[Action]:
        c.last_rx = now
        body = msg.message
        actions: list[Action] = []
        if type(body) is HealthQuery:
            actions.append(SendComponent(c.conn, HealthMonitorMessage(msg.correlation_id, c.spec.id, HealthQueryResponse(bill(node_healthy)))))
            status = None
        else:
            status = body.bill_of_health.status
        if c.state == "unregistered":
            if status is None:
                status = ComponentStatus.ok  # its first word was a question; presume ok until it reports
            stimulus = "registers, reports ok" if status == ComponentStatus.ok else "registers, reports failed"
            actions += self._move(c, stimulus, now, "it reports failed")
        elif status == ComponentStatus.failed:
            if c.state != "failed":
                actions += self._move(c, "reports failed", now, "it reports failed")
        elif c.state in ("suspect", "failed"):
            actions += self._move(c, "speaks, reports ok" if c.state == "suspect" else "reports ok", now, "")
        self._watch(c)  # it spoke now: the last to fall silent
        return actions

    # -- commands -------------------------------------------------------------------------
    def check_finished(self, component_id: str, ok: bool, now: float) -> list[Action]:
        c = self.components[component_id]
        c.check_running = False
        c.last_rx = now
        self._arm(now + c.spec.check_interval, component_id)
        if c.state == "unregistered":
            return [Log("info", "monitor", f"component {component_id} ({c.spec.name}) registered")] + self._move(
                c, "registers, reports ok" if ok else "registers, reports failed", now, "its check failed"
            )
        if not ok and c.state != "failed":
            return self._move(c, "reports failed", now, "its check failed")
        if ok and c.state == "failed":
            return self._move(c, "reports ok", now, "")
        return []

    # -- time ----------------------------------------------------------------------------
    def tick(self, now: float, node_healthy: bool) -> list[Action]:
        actions: list[Action] = []
        interval = self.timers.heartbeat_interval
        if now >= self._next_beat:
            seq = self._beat_seq.next()
            targets = [(conn, cid) for conn, cid in self.conns.items() if cid is not None]
            if targets:
                actions.append(SendHeartbeats(seq, bill(node_healthy), targets))
            # Drift-free, but never a burst of catch-up beats after a stall.
            self._next_beat += interval
            if self._next_beat <= now:
                self._next_beat = now + interval
        while self._heap and self._heap[0][0] <= now:
            deadline, cid = heapq.heappop(self._heap)
            if self._armed.get(cid) != deadline:
                continue  # superseded by a later arming
            del self._armed[cid]
            c = self.components[cid]
            if not c.check_running:
                c.check_running = True
                actions.append(RunCommand(cid, "check"))
        components = self.components
        while self._listening:
            c = components[next(iter(self._listening))]
            if now - c.last_rx + 1e-9 < self.probe_after:
                break  # nor any heard after it
            actions += self._move(c, "a heartbeat late", now, "")  # a suspect now: watched for dead_time
            actions.append(SendComponent(c.conn, HealthMonitorMessage(self._corr.next(), c.spec.id, HealthQuery())))
        while self._suspects:
            c = components[next(iter(self._suspects))]
            if now - c.last_rx + 1e-9 < self.timers.dead_time:
                break
            actions += self._move(c, "silent dead_after intervals", now, f"no heartbeat for {now - c.last_rx:.3f} s")
        if not self._grace_passed and now >= self.grace_start + self.timers.startup_grace:
            self._grace_passed = True
        return actions

    # -- helpers -----------------------------------------------------------------------------
    def _move(self, c: _Component, stimulus: str, now: float, reason: str) -> list[Action]:
        was_available = self.available(c.spec.id)
        t = HEALTH_TABLE.get(c.state, stimulus)
        self.unregistered += (t.target == "unregistered") - (c.state == "unregistered")
        c.state = t.target
        now_available = self.available(c.spec.id)
        change = was_available - now_available
        self.unavailable += change
        if c.spec.required:
            self.unavailable_required += change
        self._watch(c)
        actions: list[Action] = []
        if was_available != now_available or t.target == "unregistered" or t.source == "unregistered":
            c.reason = "" if now_available else reason
            self.notices.append(Availability(c.spec.id, now_available, self.reachable(c.spec.id), reason))
        if was_available != now_available:
            if now_available:
                actions.append(Log("info", "monitor", f"component {c.spec.id} ({c.spec.name}) is healthy"))
            else:
                actions.append(Log("warning", "monitor", f"component {c.spec.id} ({c.spec.name}) failed: {reason}"))
        return actions

    def _watch(self, c: _Component) -> None:
        """Watch the silence of a bound healthy or suspect component from now
        on (it is the last heard); stop watching any other."""
        cid = c.spec.id
        self._listening.pop(cid, None)
        self._suspects.pop(cid, None)
        if c.conn is not None:
            if c.state == "healthy":
                self._listening[cid] = None
            elif c.state == "suspect":
                self._suspects[cid] = None

    def _arm(self, deadline: float, cid: str) -> None:
        """Run the command component's check at ``deadline``."""
        if self._armed.get(cid) == deadline:
            return
        self._armed[cid] = deadline
        heapq.heappush(self._heap, (deadline, cid))

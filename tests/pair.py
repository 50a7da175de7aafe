"""A simulated HA pair for the sans-IO cores: two Nodes, a link, components
and clients, in virtual time.

The world is a discrete-event simulation. Every message takes ``latency``
seconds; each node is woken at its ``next_deadline()``. Faults are methods:
``kill`` (the agent is gone: its connections close, dials to it are
refused), ``freeze``/``thaw`` (SIGSTOP/SIGCONT: nothing is processed, the
kernel still accepts connections, events queue up), ``restart``, ``cut`` and
``heal`` of the link, and per component behaviours (answer success, failure,
slowly or never; fall silent; crash; report failed).

Components behave like the real component library: they heartbeat every
interval, answer SetRole as told, and fence themselves (drop to standby) when
their agent has been silent for ``dead_after - 1`` intervals or their
connection closes. ``active_components(node)`` is what the safety invariant
looks at.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from hanode.codec import (
    BillOfHealth,
    ComponentStatus,
    GetStatus,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    ReturnCode,
    Role,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    StatusIndication,
)
from hanode.core import (
    ClientConnected,
    ClientMessage,
    CloseClient,
    CloseComponent,
    ClosePeer,
    CommandFinished,
    ComponentConnected,
    ComponentDisconnected,
    ComponentMessage,
    ComponentSpec,
    FenceFinished,
    Log,
    Node,
    NodeSpec,
    PeerConnected,
    PeerDisconnected,
    PeerMessage,
    PeerRefused,
    ProbeWitness,
    RunCommand,
    RunFence,
    SendClient,
    SendComponent,
    SendHeartbeats,
    SendPeer,
    Shutdown,
    StatusChanged,
    Stopped,
    Tick,
    Timers,
    WitnessChanged,
)

ids = itertools.count(1)


@dataclass
class Behaviour:
    """How a fake component acts. Change the fields during a test."""

    answer: str = "success"        # "success", "failure" or "never"
    answer_delay: float = 0.01     # seconds before a SetRole answer
    status: ComponentStatus = ComponentStatus.ok
    silent: bool = False           # stops sending anything (hung)


@dataclass
class FakeComponent:
    """A component process on one node."""

    world: "World"
    node: str
    spec: ComponentSpec
    behaviour: Behaviour = field(default_factory=Behaviour)
    role: Role = Role.standby
    conn: int | None = None
    alive: bool = True
    last_from_agent: float = 0.0
    seq: int = 0
    set_roles: list[tuple[float, Role]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.spec.kind


@dataclass
class Client:
    node: str
    id: int
    received: list[ServiceStatusMessage] = field(default_factory=list)
    open: bool = True

    @property
    def indications(self) -> list[str]:
        return [m.message.status for m in self.received if type(m.message) is StatusIndication]


class Agent:
    """One node's agent process: a Node plus the bookkeeping a real agent does."""

    def __init__(self, world: "World", spec: NodeSpec):
        self.world = world
        self.spec = spec
        self.node = Node(spec, world.now)
        self.alive = True
        self.frozen = False
        self.queue: list[tuple] = []  # events that arrived while frozen
        self.stopped = False
        self.actions: list = []        # everything it ever returned, with times
        self.tick_at: float | None = None


class World:
    """Two agents, a link between them, their components and clients."""

    def __init__(
        self,
        names: tuple[str, str] = ("alpha", "beta"),
        components: tuple[ComponentSpec, ...] = (ComponentSpec("1", "db", order=10),),
        timers: Timers = Timers(),
        latency: float = 0.001,
        preferred: dict[str, str | None] | None = None,
        witness: bool = False,
        start: bool = True,
        stagger: float = 0.0,
        fence: bool = False,
    ):
        self.now = 0.0
        self.latency = latency
        self.timers = timers
        self.heap: list[tuple[float, int, str, object]] = []
        self.seq = itertools.count()
        self.names = names
        self.specs = {
            n: NodeSpec(
                n, names[1 - i], timers=timers, components=components,
                preferred=(preferred or {}).get(n), witness=witness, fence=fence,
            )
            for i, n in enumerate(names)
        }
        self.agents: dict[str, Agent | None] = {n: None for n in names}
        self.components: dict[str, dict[str, FakeComponent]] = {
            n: {c.id: FakeComponent(self, n, c) for c in components} for n in names
        }
        self.link: tuple[int, str, str] | None = None  # (link id, dialler, acceptor)
        self.link_cut = False
        self.witness_reachable = {n: True for n in names}
        self.clients: dict[int, Client] = {}
        self.trace: list[tuple[float, str, object]] = []  # peer messages: (time, sender, msg)
        self.log: list[tuple[float, str, object]] = []    # every action, per node
        self.violations: list[str] = []
        # The fence command of each node: what it answers and how long it takes; every run.
        self.fence_answer = {n: True for n in names}
        self.fence_delay = 0.05
        self.fence_runs: list[tuple[float, str]] = []
        self.overlap: tuple[float, bool] | None = None  # (since, counted as a violation)
        self.promoted_with_link: dict[str, bool] = {}    # per node: was the link up when it began promoting
        if start:
            self.start(names[0])
            if stagger:
                self.run_for(stagger)
            self.start(names[1])

    # -- scheduling ---------------------------------------------------------------
    def at(self, when: float, target: str, event: object) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), target, event))

    def run_until(self, t: float) -> None:
        while self.heap and self.heap[0][0] <= t:
            when, _, target, event = heapq.heappop(self.heap)
            self.now = max(self.now, when)
            self._dispatch(target, event)
            self.check_safety()
        self.now = max(self.now, t)

    def run_for(self, dt: float) -> None:
        self.run_until(self.now + dt)

    def run_until_true(self, predicate, timeout: float = 30.0) -> float:
        """Run until ``predicate()`` holds; return the virtual time it took."""
        start = self.now
        while not predicate():
            if self.now - start > timeout:
                raise AssertionError(f"condition not met within {timeout} s of virtual time")
            if not self.heap:
                raise AssertionError("nothing left to happen")
            self.run_until(self.heap[0][0])
        return self.now - start

    def _dispatch(self, target: str, event: object) -> None:
        kind, _, rest = target.partition(":")
        if kind == "redial":
            self._try_link()
        elif kind == "node":
            self._deliver(rest, event)
        elif kind == "component":
            node, cid = rest.split("/")
            self._component_event(self.components[node][cid], event)

    # -- agents ---------------------------------------------------------------------------
    def start(self, name: str) -> None:
        agent = Agent(self, self.specs[name])
        self.agents[name] = agent
        self._schedule_tick(agent)
        self.at(self.now, f"node:{name}", WitnessChanged(self.witness_reachable[name])) if self.specs[name].witness else None
        for comp in self.components[name].values():
            if comp.alive:
                self._connect_component(comp)
        self._try_link()

    def restart(self, name: str) -> None:
        self.start(name)

    def kill(self, name: str) -> None:
        """kill -9: the process is gone; its sockets close."""
        agent = self.agents[name]
        assert agent is not None
        agent.alive = False
        self.agents[name] = None
        self._close_link(by=name)
        for comp in self.components[name].values():
            if comp.conn is not None:
                comp.conn = None
                self._fence(comp, "agent connection closed")

    def freeze(self, name: str) -> None:
        self.agents[name].frozen = True

    def thaw(self, name: str) -> None:
        agent = self.agents[name]
        agent.frozen = False
        queued, agent.queue = agent.queue, []
        for event in queued:
            self._deliver(name, event)
        self._schedule_tick(agent, force=True)

    def shutdown(self, name: str) -> None:
        self.at(self.now, f"node:{name}", Shutdown())

    def cut(self) -> None:
        """The network between the nodes fails: the link goes silent, then
        connections time out (no close is seen)."""
        self.link_cut = True

    def heal(self) -> None:
        self.link_cut = False
        self._try_link()

    def set_witness(self, name: str, reachable: bool) -> None:
        self.witness_reachable[name] = reachable
        if self.agents[name] is not None:
            self.at(self.now, f"node:{name}", WitnessChanged(reachable))

    def _deliver(self, name: str, event: object) -> None:
        agent = self.agents[name]
        if agent is None or agent.stopped:
            return
        if agent.frozen:
            if type(event) is not Tick:
                agent.queue.append(event)
            return
        if type(event) is Tick:
            if agent.tick_at is None or self.now < agent.tick_at:
                return  # a superseded tick
            agent.tick_at = None
        actions = agent.node.handle(event, self.now)
        if any(type(a) is Log and a.kind == "election" and " -> promoting (" in a.text for a in actions):
            self.promoted_with_link[name] = self.link_up()
        for action in actions:
            self.log.append((self.now, name, action))
            self._act(agent, name, action)
        self._schedule_tick(agent)

    def _schedule_tick(self, agent: Agent, force: bool = False) -> None:
        if agent.stopped or not agent.alive:
            return
        when = max(agent.node.next_deadline(), self.now)
        if force or agent.tick_at is None or when < agent.tick_at:
            agent.tick_at = when
            self.at(when, f"node:{agent.spec.name}", Tick())

    # -- actions ----------------------------------------------------------------------------
    def _to_component(self, name: str, conn: int, msg) -> None:
        comp = self._component_by_conn(name, conn)
        if comp is not None:
            self.at(self.now + self.latency, f"component:{name}/{comp.spec.id}", msg)

    def _act(self, agent: Agent, name: str, action) -> None:
        t = type(action)
        if t is SendPeer:
            if self.link is not None and self.link[0] == action.link:
                self.trace.append((self.now, name, action.msg))
                if not self.link_cut:
                    other = self.peer_of(name)
                    self.at(self.now + self.latency, f"node:{other}", PeerMessage(action.link, action.msg))
        elif t is ClosePeer:
            if self.link is not None and self.link[0] == action.link:
                self._close_link(by=name)
        elif t is SendComponent:
            self._to_component(name, action.conn, action.msg)
        elif t is SendHeartbeats:
            for conn, msg in action.messages():
                self._to_component(name, conn, msg)
        elif t is CloseComponent:
            comp = self._component_by_conn(name, action.conn)
            if comp is not None:
                comp.conn = None
                self._fence(comp, f"agent closed the connection: {action.reason}")
                self.at(self.now + 0.05, f"component:{name}/{comp.spec.id}", "reconnect")
        elif t is RunCommand:
            comp = self.components[name][action.component_id]
            b = comp.behaviour
            if action.command == "check":
                ok = b.status == ComponentStatus.ok
                self.at(self.now + 0.005, f"node:{name}", CommandFinished(comp.spec.id, "check", ok))
            elif b.answer != "never":
                role = Role.active if action.command == "on_active" else Role.standby
                ok = b.answer == "success"
                if ok:
                    self.at(self.now + b.answer_delay, f"component:{name}/{comp.spec.id}", ("command-role", role))
                self.at(self.now + b.answer_delay, f"node:{name}", CommandFinished(comp.spec.id, action.command, ok))
        elif t is ProbeWitness:
            self.at(self.now + self.latency, f"node:{name}", WitnessChanged(self.witness_reachable[name]))
        elif t is RunFence:
            self.fence_runs.append((self.now, name))
            self.at(self.now + self.fence_delay, f"node:{name}", FenceFinished(self.fence_answer[name]))
        elif t is SendClient:
            client = self.clients.get(action.client)
            if client is not None and client.open:
                client.received.append(action.msg)
        elif t is CloseClient:
            client = self.clients.get(action.client)
            if client is not None:
                client.open = False
        elif t is Stopped:
            agent.stopped = True
            self.agents[name] = None
            self._close_link(by=name)
            for comp in self.components[name].values():
                if comp.conn is not None:
                    comp.conn = None
                    self._fence(comp, "agent stopped")

    # -- the peer link ------------------------------------------------------------------------
    def peer_of(self, name: str) -> str:
        return self.names[1 - self.names.index(name)]

    def _try_link(self) -> None:
        """Both agents dial at once when there is no link (SPEC section 3)."""
        if self.link is not None or self.link_cut:
            return
        a, b = self.names
        live = {n: self.agents[n] is not None and self.agents[n].alive for n in self.names}
        for dialler, acceptor in ((a, b), (b, a)):
            if live[dialler] and not live[acceptor]:
                self.at(self.now + self.latency, f"node:{dialler}", PeerRefused())
        if live[a] and live[b]:
            link = next(ids)
            # The node whose name sorts first dials; a frozen acceptor's kernel still accepts.
            self.link = (link, a, b)
            for n in self.names:
                self.at(self.now + self.latency, f"node:{n}", PeerConnected(link))

    def _close_link(self, by: str) -> None:
        if self.link is None:
            return
        link = self.link[0]
        self.link = None
        other = self.peer_of(by)
        if not self.link_cut:  # over a cut network the close is never seen
            self.at(self.now + self.latency, f"node:{other}", PeerDisconnected(link))
        self.at(self.now + self.latency, f"node:{by}", PeerDisconnected(link))
        self.at(self.now + 2 * self.latency, "redial:", None)

    # -- components ------------------------------------------------------------------------
    def _component_by_conn(self, node: str, conn: int) -> FakeComponent | None:
        return next((c for c in self.components[node].values() if c.conn == conn), None)

    def _connect_component(self, comp: FakeComponent) -> None:
        if comp.kind == "command" or not comp.alive:
            return
        agent = self.agents[comp.node]
        if agent is None:
            return
        comp.conn = next(ids)
        comp.last_from_agent = self.now
        self.at(self.now, f"node:{comp.node}", ComponentConnected(comp.conn))
        self._component_heartbeat(comp)

    def _component_heartbeat(self, comp: FakeComponent) -> None:
        if comp.conn is not None and comp.alive and not comp.behaviour.silent:
            comp.seq += 1
            msg = HealthMonitorMessage(str(comp.seq), comp.spec.id, HeartBeat(BillOfHealth(comp.behaviour.status)))
            self.at(self.now + self.latency, f"node:{comp.node}", ComponentMessage(comp.conn, msg))
        self.at(self.now + self.timers.heartbeat_interval, f"component:{comp.node}/{comp.spec.id}", "beat")

    def _component_event(self, comp: FakeComponent, event) -> None:
        if event == "beat":
            if comp.conn is not None and self.now - comp.last_from_agent >= self.timers.freeze_time - 1e-9:
                # As hanode.component: drop the role, then the connection, and reconnect.
                self._fence(comp, "agent silent")
                conn, comp.conn = comp.conn, None
                if self.agents[comp.node] is not None:
                    self.at(self.now, f"node:{comp.node}", ComponentDisconnected(conn))
                self.at(self.now + 0.05, f"component:{comp.node}/{comp.spec.id}", "reconnect")
                return
            if comp.alive and comp.kind == "process" and comp.conn is not None:
                self._component_heartbeat(comp)
            return
        if event == "reconnect":
            if comp.conn is None and comp.alive:
                self._connect_component(comp)
                if comp.conn is not None:
                    return
            self.at(self.now + 0.05, f"component:{comp.node}/{comp.spec.id}", "reconnect")
            return
        if isinstance(event, tuple) and event[0] == "command-role":
            comp.role = event[1]
            comp.set_roles.append((self.now, event[1]))
            return
        if isinstance(event, tuple) and event[0] == "answer":
            _, conn, corr, role, code = event
            if comp.conn == conn and comp.alive:
                if code == ReturnCode.success:
                    comp.role = role
                comp.set_roles.append((self.now, role))
                self.at(self.now + self.latency, f"node:{comp.node}", ComponentMessage(conn, RoleMessage(corr, SetRoleResponse(code))))
            return
        # A PDU from the agent.
        if comp.conn is None or not comp.alive:
            return
        comp.last_from_agent = self.now
        if comp.behaviour.silent:
            return
        if type(event) is RoleMessage and type(event.message) is SetRole:
            b = comp.behaviour
            if b.answer == "never":
                return
            code = ReturnCode.success if b.answer == "success" else ReturnCode.failure
            self.at(self.now + b.answer_delay, f"component:{comp.node}/{comp.spec.id}", ("answer", comp.conn, event.correlation_id, event.message.role, code))
        elif type(event) is HealthMonitorMessage and type(event.message) is HealthQuery:
            reply = HealthMonitorMessage(event.correlation_id, comp.spec.id, HealthQueryResponse(BillOfHealth(comp.behaviour.status)))
            self.at(self.now + self.latency, f"node:{comp.node}", ComponentMessage(comp.conn, reply))

    def _fence(self, comp: FakeComponent, why: str) -> None:
        if comp.role == Role.active:
            comp.role = Role.standby
            comp.set_roles.append((self.now, Role.standby))

    def crash_component(self, node: str, cid: str, restart_after: float | None = 0.5) -> None:
        comp = self.components[node][cid]
        conn, comp.conn = comp.conn, None
        comp.role = Role.standby
        if conn is not None and self.agents[node] is not None:
            self.at(self.now, f"node:{node}", ComponentDisconnected(conn))
        if restart_after is not None:
            self.at(self.now + restart_after, f"component:{node}/{cid}", "reconnect")

    # -- clients ------------------------------------------------------------------------------
    def connect_client(self, node: str) -> Client:
        client = Client(node, next(ids))
        self.clients[client.id] = client
        self.at(self.now, f"node:{node}", ClientConnected(client.id))
        return client

    def ask_status(self, client: Client, corr: str) -> None:
        self.at(self.now, f"node:{client.node}", ClientMessage(client.id, ServiceStatusMessage(corr, GetStatus())))

    # -- observations --------------------------------------------------------------------------
    def state(self, name: str) -> str | None:
        agent = self.agents[name]
        return None if agent is None else agent.node.state

    def status(self, name: str) -> str | None:
        agent = self.agents[name]
        return None if agent is None else agent.node.status.status

    def active_components(self, name: str) -> list[str]:
        return [c.spec.id for c in self.components[name].values() if c.role == Role.active]

    def link_up(self) -> bool:
        if self.link is None or self.link_cut:
            return False
        agents = [self.agents[n] for n in self.names]
        return all(a is not None and not a.frozen and a.node.election.link_up for a in agents)

    def check_safety(self) -> None:
        """While the link is up, at most one node has active components.

        An overlap is a violation when the link is up as it begins and the
        node that joined it began its promotion with the link up too. One
        whose promotion began while the link was down (a silence of
        dead_after intervals: a cut, or a frozen peer; SPEC section 8's one
        exception) is resolved by rule 6 once the link is back."""
        both = all(self.active_components(n) for n in self.names)
        if not both:
            self.overlap = None
            return
        if self.overlap is None:
            joined = max(self.names, key=self._activated_at)
            violation = self.link_up() and self.promoted_with_link.get(joined, True)
            self.overlap = (self.now, violation)
            if violation:
                self.violations.append(f"t={self.now:.3f}: {joined} became active while its peer was active and the link up")

    def _activated_at(self, name: str) -> float:
        times = [t for c in self.components[name].values() for t, role in c.set_roles if role == Role.active]
        return max(times, default=-1.0)

    def election_messages(self, sender: str | None = None) -> list[tuple[float, str, object]]:
        from hanode.codec import ElectionMessage

        return [(t, s, m) for t, s, m in self.trace if type(m) is ElectionMessage and (sender is None or s == sender)]

    def actions(self, name: str, kind: type) -> list[tuple[float, object]]:
        return [(t, a) for t, n, a in self.log if n == name and type(a) is kind]

    def status_changes(self, name: str) -> list[tuple[str, str]]:
        return [(a.old, a.new) for _, a in self.actions(name, StatusChanged)]


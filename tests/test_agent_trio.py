"""The node agent on Trio: two real Agents, in-memory streams, virtual time.

Every test runs under pytest-trio's ``autojump_clock`` (a MockClock that jumps
to the next deadline whenever every task is blocked), so durations are exact:
a peer silent since ``t`` is lost at ``t + dead_after * interval``, not
"about then". Nothing here opens a socket: the agents run with
``listen=False, guard=False``; the peer link is a
``trio.testing.memory_stream_pair`` that the dialling side's connector
creates and hands to the other side's ``accept_peer``; components and status
clients are hand-rolled fakes speaking frames on in-memory streams.

The harness:

- :class:`Host`: one agent plus the tasks serving its connections (one
  nursery, so ``kill()`` is a killed process: every connection closes, dials
  to it are refused). ``freeze()``/``thaw()`` stop one agent's loop (its
  streams and its ticker) while the other runs on: a SIGSTOP under a shared
  MockClock.
- :class:`FakeComponent`: heartbeats every interval, answers SetRole
  (success, failure or never) and health queries, records what it receives
  with the virtual time, and writes role changes to the world's journal.
- :class:`FakeClient`: a status client that records what it receives.
"""

from __future__ import annotations

import errno
import logging
import math
import sys

import pytest
import trio
import trio.testing

import hanode.core.monitor
from hanode.agent.agent import Agent
from hanode.codec import (
    BillOfHealth,
    ComponentStatus,
    GetStatus,
    GetStatusResponse,
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
from hanode.config import loads
from hanode.wire import CLIENT_TYPES, COMPONENT_TYPES, MessageReader, frame_message

if sys.version_info < (3, 11):  # pragma: no cover - trio brings the backport there
    from exceptiongroup import BaseExceptionGroup

INTERVAL = 0.1
DEAD_AFTER = 3
DEAD_TIME = INTERVAL * DEAD_AFTER
# Silence before a component is probed: SPEC 5 says one interval; the
# monitor may add slack for jitter (PROBE_AFTER intervals), and says so.
PROBE = getattr(hanode.core.monitor, "PROBE_AFTER", 1.0) * INTERVAL
EPS = 1e-6
CAP = 30.0  # virtual seconds: no test may take longer

PORTS = {"alpha": 7401, "beta": 7402}


def config_text(
    name: str,
    peer: str,
    components: tuple[str, ...] = ("1",),
    *,
    preferred: str | None = None,
    set_role_timeout: float | None = None,
    client_queue: int | None = None,
    handover_after: float | None = None,
    key_file: str | None = None,
) -> str:
    text = f"""
[node]
name = "{name}"

[peer]
name = "{peer}"
address = "127.0.0.1:{PORTS[peer]}"
"""
    if key_file is not None:
        text += f'key_file = "{key_file}"\n'
    text += f"""

[election]
listen = "127.0.0.1:{PORTS[name]}"
heartbeat_interval = {INTERVAL}
dead_after = {DEAD_AFTER}
"""
    if preferred is not None:
        text += f'preferred = "{preferred}"\n'
    if handover_after is not None:
        text += f"handover_after = {handover_after}\n"
    text += f'\n[components]\nlisten = "/tmp/hanode-test-{name}.sock"\n'
    for cid in components:
        text += f'\n[[component]]\nid = "{cid}"\nname = "c{cid}"\n'
        if set_role_timeout is not None:
            text += f"set_role_timeout = {set_role_timeout}\n"
    if client_queue is not None:
        text += f"\n[limits]\nclient_queue = {client_queue}\n"
    return text


# -- streams --------------------------------------------------------------------------------------


class Gate:
    """Open: data flows. Closed: a frozen process (nothing read, nothing sent)."""

    def __init__(self) -> None:
        self._open = trio.Event()
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        if self._open.is_set():
            self._open = trio.Event()

    def open(self) -> None:
        self._open.set()

    async def wait_open(self) -> None:
        while not self._open.is_set():
            await self._open.wait()


class Tap(trio.abc.Stream):
    """The agent's end of a stream, behind its host's gate.

    ``mute``: what this end sends is lost (a cut cable in one direction).
    ``last_sent``: when data last went out."""

    def __init__(self, inner: trio.abc.Stream, gate: Gate):
        self.inner = inner
        self.gate = gate
        self.mute = False
        self.last_sent: float | None = None
        self.close_delay = 0.0  # a close that takes a moment (shielded)

    async def send_all(self, data) -> None:
        await self.gate.wait_open()
        if self.mute:
            await trio.lowlevel.checkpoint()
            return
        await self.inner.send_all(data)
        self.last_sent = trio.current_time()

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes=None):
        await self.gate.wait_open()
        data = await self.inner.receive_some(max_bytes)
        await self.gate.wait_open()  # what arrived while frozen waits for the thaw
        return data

    async def aclose(self) -> None:
        if self.close_delay:
            with trio.CancelScope(shield=True):
                await trio.sleep(self.close_delay)
        await self.inner.aclose()


# -- the world ------------------------------------------------------------------------------------


class World:
    """Two hosts, their components and clients, and a journal of role changes."""

    def __init__(self, nursery: trio.Nursery):
        self.nursery = nursery
        self.hosts: dict[str, Host] = {}
        self.journal: list[tuple[float, str, str, str, object]] = []  # (time, node, component, what, value)

    def note(self, node: str, component: str, what: str, value) -> None:
        self.journal.append((trio.current_time(), node, component, what, value))

    async def start_pair(self, nursery: trio.Nursery | None = None, **options) -> tuple["Host", "Host"]:
        """beta first (the accepting side), then alpha (which dials at once)."""
        nursery = nursery or self.nursery
        comps = options.pop("components", {"alpha": ("1",), "beta": ("1",)})
        keys = options.pop("keys", {})
        beta = Host(self, loads(config_text("beta", "alpha", comps["beta"], key_file=keys.get("beta"), **options)))
        alpha = Host(self, loads(config_text("alpha", "beta", comps["alpha"], key_file=keys.get("alpha"), **options)))
        await nursery.start(beta.serve)
        await nursery.start(alpha.serve)
        return alpha, beta

    async def converge(self, alpha: "Host", beta: "Host", *, active="alpha") -> tuple["FakeComponent", "FakeComponent"]:
        """Start one component each (id 1) and wait for the election to settle."""
        ca = await alpha.component("1")
        cb = await beta.component("1")
        act, stb = (alpha, beta) if active == "alpha" else (beta, alpha)
        await wait_until(lambda: act.state == "active" and stb.state == "standby" and act.node.status.status == "active")
        return ca, cb


class Host:
    def __init__(self, world: World, config):
        self.world = world
        self.name = config.name
        self.agent = Agent(config, connector=self.connect, listen=False, guard=False)
        self.gate = Gate()
        self.nursery: trio.Nursery | None = None
        self.killed = False
        self.refuse = False        # dials from this host are refused
        self.peer_taps: list[Tap] = []
        self.dials = 0

    @property
    def node(self):
        return self.agent.node

    @property
    def state(self) -> str:
        return self.agent.node.state

    @property
    def alive(self) -> bool:
        """Something listens at this host's address."""
        a = self.agent
        return self.nursery is not None and not self.killed and a.node is not None and not a.stopped.is_set()

    def other(self) -> "Host":
        return next(h for h in self.world.hosts.values() if h is not self)

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self.world.hosts[self.name] = self
            await nursery.start(self.agent.run)
            task_status.started()
            await self.agent.finished.wait()
            nursery.cancel_scope.cancel()

    def spawn(self, fn, *args) -> None:
        """Serve a connection of this agent (in the host's nursery, beside run())."""
        self.nursery.start_soon(fn, *args)

    def kill(self) -> None:
        """The agent's process dies: its connections close, nothing listens,
        and it processes nothing more. (``stopped`` is set first, as the CLI's
        force_stop does; cancelling run() is clean too, see
        test_cancelling_run_is_clean.)"""
        self.killed = True
        self.agent.stopped.set()
        self.nursery.cancel_scope.cancel()

    async def connect(self, endpoint):
        """The connector: a memory stream to the other host's accept_peer."""
        self.dials += 1
        await trio.lowlevel.checkpoint()
        other = self.other()
        if self.refuse or not other.alive:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"Connection refused: {endpoint}")
        mine, theirs = trio.testing.memory_stream_pair()
        my_tap, their_tap = Tap(mine, self.gate), Tap(theirs, other.gate)
        self.peer_taps.append(my_tap)
        other.peer_taps.append(their_tap)
        other.spawn(other.agent.accept_peer, their_tap, self.name)
        return my_tap

    async def freeze(self) -> None:
        """SIGSTOP: its streams stop and its ticker does not fire. (Whatever
        is due at this instant runs first: a tick already fired is not undone.)"""
        await settle()
        scope = self.agent._tick_scope
        assert scope is not None and not scope.cancel_called
        self.gate.close()
        scope.deadline = math.inf

    def thaw(self) -> None:
        self.agent._tick_scope.deadline = self.agent.node.next_deadline()
        self.gate.open()

    async def component(self, cid: str, **behaviour) -> "FakeComponent":
        c = FakeComponent(self, cid, **behaviour)
        await self.world.nursery.start(c.run)
        return c

    async def client(self, *, reads: bool = True) -> "FakeClient":
        c = FakeClient(self, reads=reads)
        await self.world.nursery.start(c.run)
        return c

    def log_times(self, text: str, kind: str | None = None) -> list[float]:
        return [t for t, entry in self.agent.recent if text in entry.text and kind in (None, entry.kind)]

    def first_log(self, text: str) -> float:
        times = self.log_times(text)
        assert times, f"{self.name}: no log line with {text!r}: {[e.text for _, e in self.agent.recent]}"
        return times[0]


class FakeComponent:
    """A component process: heartbeats, roles, health queries, all recorded."""

    def __init__(self, host: Host, cid: str, *, answer: str = "success", beat: bool = True,
                 answer_queries: bool = True, heartbeat_id: str | None = None):
        self.host = host
        self.cid = cid
        self.answer = answer              # "success", "failure", "never" or "standby-only"
        self.beat = beat                  # heartbeat every interval
        self.answer_queries = answer_queries
        self.status = ComponentStatus.ok
        self.heartbeat_id = heartbeat_id or cid
        self.role = Role.standby
        self.received: list[tuple[float, object]] = []
        self.last_sent: float | None = None
        self.closed = trio.Event()
        self.closed_at: float | None = None
        self.stream = None
        self._lock = trio.StrictFIFOLock()
        self._seq = 0

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        mine, agents = trio.testing.memory_stream_pair()
        self.stream = mine
        self.agent_tap = Tap(agents, self.host.gate)
        self.host.spawn(self.host.agent.accept_component, self.agent_tap, f"component {self.cid}")
        await self.send(self.heartbeat())  # binds the connection
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._beat)
            await self._read()
            nursery.cancel_scope.cancel()

    def heartbeat(self) -> HealthMonitorMessage:
        self._seq += 1
        return HealthMonitorMessage(str(self._seq), self.heartbeat_id, HeartBeat(BillOfHealth(self.status)))

    async def send(self, msg) -> None:
        await self.send_raw(frame_message(msg))

    async def send_raw(self, data: bytes) -> None:
        async with self._lock:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            self.last_sent = trio.current_time()

    async def _beat(self) -> None:
        next_beat = trio.current_time()
        while True:
            next_beat += INTERVAL
            await trio.sleep_until(next_beat)
            if self.beat:
                await self.send(self.heartbeat())

    async def _read(self) -> None:
        reader = MessageReader(COMPONENT_TYPES)
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self.closed_at = trio.current_time()
                self.closed.set()
                return
            for msg in reader.feed(data):
                self.received.append((trio.current_time(), msg))
                body = msg.message
                if type(body) is SetRole:
                    self.host.world.note(self.host.name, self.cid, "asked", body.role)
                    if self.answer == "never" or (self.answer == "standby-only" and body.role == Role.active):
                        continue
                    ok = self.answer in ("success", "standby-only")
                    if ok:
                        self.role = body.role
                        self.host.world.note(self.host.name, self.cid, "role", body.role)
                    code = ReturnCode.success if ok else ReturnCode.failure
                    await self.send(RoleMessage(msg.correlation_id, SetRoleResponse(code)))
                elif type(body) is HealthQuery and self.answer_queries:
                    await self.send(HealthMonitorMessage(msg.correlation_id, self.cid, HealthQueryResponse(BillOfHealth(self.status))))

    # -- what it received -------------------------------------------------------------------
    def set_roles(self) -> list[tuple[float, Role]]:
        return [(t, m.message.role) for t, m in self.received if type(m) is RoleMessage and type(m.message) is SetRole]

    def queries(self) -> list[float]:
        return [t for t, m in self.received if type(m) is HealthMonitorMessage and type(m.message) is HealthQuery]

    def agent_beats(self) -> list[tuple[float, HealthMonitorMessage]]:
        return [(t, m) for t, m in self.received if type(m) is HealthMonitorMessage and type(m.message) is HeartBeat]


class FakeClient:
    def __init__(self, host: Host, *, reads: bool = True):
        self.host = host
        self.reads = reads
        self.received: list[tuple[float, ServiceStatusMessage]] = []
        self.closed = trio.Event()
        self.stream = None

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        # A reading client gets an unbounded buffer; one that never reads a
        # lockstep stream, so that the agent's writer really blocks on it.
        pair = trio.testing.memory_stream_pair if self.reads else trio.testing.lockstep_stream_pair
        mine, agents = pair()
        self.stream = mine
        self.host.spawn(self.host.agent.accept_client, Tap(agents, self.host.gate), "client")
        task_status.started()
        if not self.reads:
            await self.closed.wait()
            return
        reader = MessageReader(CLIENT_TYPES)
        while True:
            try:
                data = await mine.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self.closed.set()
                return
            for msg in reader.feed(data):
                self.received.append((trio.current_time(), msg))

    async def ask(self, corr: str) -> None:
        await self.stream.send_all(frame_message(ServiceStatusMessage(corr, GetStatus())))

    def indications(self) -> list[str]:
        return [m.message.status for _, m in self.received if type(m.message) is StatusIndication]

    def responses(self) -> list[tuple[str, str]]:
        return [(m.correlation_id, m.message.status) for _, m in self.received if type(m.message) is GetStatusResponse]


async def wait_until(predicate, step: float = 0.005) -> None:
    """Poll in small virtual steps (the agents' deadlines are unaffected)."""
    while True:
        await trio.testing.wait_all_tasks_blocked()
        if predicate():
            return
        await trio.sleep(step)


async def settle() -> None:
    """Let everything that can happen at this virtual instant happen."""
    await trio.testing.wait_all_tasks_blocked()


@pytest.fixture
async def world(autojump_clock):
    # pytest-trio passes a clock to trio.run only when the test function
    # itself takes it: every test here names autojump_clock.
    async with trio.open_nursery() as nursery:
        w = World(nursery)
        yield w
        for host in w.hosts.values():
            host.agent.stopped.set()  # the CLI's way to end; cancelling is clean too (test_cancelling_run_is_clean)
        nursery.cancel_scope.cancel()


# -- startup --------------------------------------------------------------------------------------


async def test_startup_election_preferred_active_other_standby(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        t0 = trio.current_time()
        ca = await alpha.component("1")
        cb = await beta.component("1")
        await wait_until(lambda: alpha.state == "active" and beta.state == "standby")
        # Each was first given standby on registration (the node was unassigned).
        assert [r for _, r in ca.set_roles()] == [Role.standby, Role.active]
        assert [r for _, r in cb.set_roles()] == [Role.standby]
        assert ca.role == Role.active and cb.role == Role.standby
        # Convergence needs no timer: with zero-latency links it completes
        # before the first heartbeat interval has passed.
        converged = ca.set_roles()[-1][0]
        assert converged - t0 < INTERVAL
        assert alpha.first_log("unassigned -> promoting") - t0 < INTERVAL
        assert beta.first_log("unassigned -> standby") - t0 < INTERVAL
        assert alpha.node.status.status == "active"
        assert beta.node.status.status == "standby"
        # Only alpha (sorts first) dialled.
        assert alpha.dials == 1 and beta.dials == 0


async def test_startup_preferred_beta(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(preferred="beta")
        ca, cb = await world.converge(alpha, beta, active="beta")
        assert cb.role == Role.active and ca.role == Role.standby


# -- the peer link ----------------------------------------------------------------------------------


async def test_silent_peer_lost_after_exactly_dead_after_intervals(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        await world.converge(alpha, beta)
        await trio.sleep(0.55)  # a few heartbeats; mute between two of them
        await settle()
        tap = alpha.peer_taps[-1]
        tap.mute = True  # alpha's PDUs no longer reach beta
        last = tap.last_sent
        assert last is not None
        assert beta.agent.peer.last_rx == pytest.approx(last, abs=EPS)
        # Beta promotes, and yields again at the same instant (below).
        await wait_until(lambda: beta.log_times("standby -> promoting"))
        promoted = beta.first_log("standby -> promoting")
        assert promoted == pytest.approx(last + DEAD_TIME, abs=EPS)
        assert beta.first_log(f"peer alpha lost: nothing received for {DEAD_TIME:.3f} s") == promoted
        # The link comes back at once (alpha redials): dual active, the name
        # that sorts first stays active (rule 6), beta yields.
        await wait_until(lambda: beta.state == "standby")
        assert alpha.state == "active"
        assert alpha.log_times("-> demoting") == []


async def test_peer_not_lost_one_tick_early(autojump_clock, world):
    """Just before dead_after intervals of silence, nothing has moved."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        await world.converge(alpha, beta)
        await trio.sleep(0.55)
        await settle()
        tap = alpha.peer_taps[-1]
        tap.mute = True
        last = tap.last_sent
        await trio.sleep_until(last + DEAD_TIME - 0.001)
        await settle()
        assert beta.log_times("standby -> promoting") == []
        await trio.sleep(0.002)
        await settle()
        assert beta.log_times("standby -> promoting") != []


@pytest.mark.parametrize("dead", ["alpha", "beta"])
async def test_refused_dial_promotes_the_standby_at_once(autojump_clock, world, dead):
    """The active agent is killed: the standby's dial is refused and it
    promotes at the same virtual instant (beta probes as the accepting side,
    alpha redials as the dialling side)."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(preferred=dead)
        survivor, victim = (beta, alpha) if dead == "alpha" else (alpha, beta)
        await world.converge(alpha, beta, active=dead)
        await trio.sleep(0.25)
        killed_at = trio.current_time()
        victim.kill()
        await wait_until(lambda: survivor.state == "active")
        promoted = survivor.first_log("standby -> promoting")
        assert promoted - killed_at == pytest.approx(0.0, abs=EPS)
        assert survivor.first_log("peer " + victim.name + " lost: its address refused our connection") == promoted


# -- component monitoring -----------------------------------------------------------------------------


async def test_silent_component_probed_then_failed_after_dead_after(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, _ = await world.converge(alpha, beta)
        await trio.sleep(0.35)
        ca.beat = False
        ca.answer_queries = False
        last = ca.last_sent
        queries_before = len(ca.queries())
        await wait_until(lambda: alpha.node.monitor.state("1") == "failed")
        probes = ca.queries()[queries_before:]
        assert probes[0] == pytest.approx(last + PROBE, abs=EPS)
        failed = alpha.first_log("component 1 (c1) failed")
        assert failed == pytest.approx(last + DEAD_AFTER * INTERVAL, abs=EPS)
        await settle()
        assert alpha.node.status.status == "degraded"


async def test_suspect_component_that_answers_is_not_failed(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, _ = await world.converge(alpha, beta)
        await trio.sleep(0.35)
        ca.beat = False  # silent, but it answers the probe
        last = ca.last_sent
        queries_before = len(ca.queries())
        await trio.sleep_until(last + PROBE + 0.001)
        assert ca.queries()[queries_before:] == [pytest.approx(last + PROBE, abs=EPS)]
        ca.beat = True
        await trio.sleep(DEAD_TIME * 2)
        assert alpha.node.monitor.available("1")
        assert alpha.log_times("component 1 (c1) failed") == []
        assert alpha.node.status.status == "active"


async def test_probe_after_recovery_counts_from_the_last_pdu(autojump_clock, world):
    """A suspect that speaks starts afresh: the next probe counts from what it
    said last, not from the old dead_after deadline."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, _ = await world.converge(alpha, beta)
        await trio.sleep(0.35)
        ca.beat = False  # silent; it answers the first probe, then nothing more
        first_silence = ca.last_sent
        await trio.sleep_until(first_silence + PROBE + 0.001)
        answered = ca.last_sent  # its answer to the probe
        assert answered == pytest.approx(first_silence + PROBE, abs=EPS)
        ca.answer_queries = False
        n = len(ca.queries())
        await wait_until(lambda: len(ca.queries()) > n)
        assert ca.queries()[n] == pytest.approx(answered + PROBE, abs=EPS)
        await wait_until(lambda: alpha.node.monitor.state("1") == "failed")
        failed = alpha.first_log("component 1 (c1) failed")
        assert failed == pytest.approx(answered + DEAD_TIME, abs=EPS)


async def test_agent_heartbeats_each_component_every_interval(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(components={"alpha": ("1", "2"), "beta": ("1",)})
        c1 = await alpha.component("1")
        c2 = await alpha.component("2")
        await beta.component("1")
        await trio.sleep(1.05)
        for c in (c1, c2):
            beats = c.agent_beats()
            assert len(beats) == 10
            times = [t for t, _ in beats]
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert gaps == [pytest.approx(INTERVAL, abs=EPS)] * 9
            assert {m.component_id for _, m in beats} == {c.cid}
            assert beats[-1][1].message.bill_of_health.status == ComponentStatus.ok
            # The heartbeats are drift-free: on the node's own grid.
            assert times[0] == pytest.approx(INTERVAL, abs=EPS)


async def test_set_role_timeout_fails_the_component_exactly(autojump_clock, world):
    """A component that never answers is failed exactly set_role_timeout
    after the SetRole (here the standby node's, so beta reports failed)."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(set_role_timeout=0.5)
        await alpha.component("1")
        cb = await beta.component("1", answer="never")
        await wait_until(lambda: beta.log_times("timed out after 0.5 s"))
        (asked, role), = cb.set_roles()[:1]
        assert role == Role.standby
        timed_out = beta.first_log("SetRole(standby) timed out after 0.5 s")
        assert timed_out == pytest.approx(asked + 0.5, abs=EPS)
        assert beta.first_log("could not become standby: timed out") == timed_out
        assert beta.first_log("status standby -> failed") == timed_out
        assert alpha.state == "active" and beta.state == "standby"


async def test_set_role_active_timeout_retried_with_backoff(autojump_clock, world):
    """The active node's component takes standby but never answers active: it
    is failed at +set_role_timeout each time and asked again after 1, 2, 4, 8,
    8 s (SPEC 4); the node is degraded until it answers success."""
    with trio.fail_after(60):
        alpha, beta = await world.start_pair(set_role_timeout=0.5, handover_after=1000.0)
        ca = await alpha.component("1", answer="standby-only")
        await beta.component("1")
        await wait_until(lambda: len([r for _, r in ca.set_roles() if r == Role.active]) >= 6, step=0.05)
        sent = [t for t, r in ca.set_roles() if r == Role.active]
        t0 = sent[0]
        expected = [0.0, 1.5, 4.0, 8.5, 17.0, 25.5]
        assert [round(t - t0, 6) for t in sent[:6]] == expected
        timeouts = alpha.log_times("SetRole(active) timed out after 0.5 s")
        assert [round(t - t0, 6) for t in timeouts[:5]] == [e + 0.5 for e in expected[:5]]
        assert alpha.state == "active" and alpha.node.status.status == "degraded"
        assert beta.state == "standby"
        ca.answer = "success"
        await wait_until(lambda: ca.role == Role.active, step=0.05)
        await settle()
        assert alpha.node.status.status == "active"
        assert ca.set_roles()[-1][0] == pytest.approx(t0 + 25.5 + 0.5 + 8.0, abs=EPS)


# -- bad input on component connections ---------------------------------------------------------------


BAD_FRAMES = {
    "unknown pdu type": b"\x00\x01\x09\xff",
    "undecodable role": b"\x00\x04\x02\xff\xff\xff\xff",
    "status pdu on a component socket": frame_message(ServiceStatusMessage("1", GetStatus())),
}


@pytest.mark.parametrize("bad", sorted(BAD_FRAMES))
async def test_malformed_frame_closes_that_component_connection_only(autojump_clock, world, bad, caplog):
    caplog.set_level(logging.WARNING, logger="hanode.agent")
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(components={"alpha": ("1", "2"), "beta": ("1",)})
        c1 = await alpha.component("1")
        c2 = await alpha.component("2")
        await beta.component("1")
        client = await alpha.client()
        await wait_until(lambda: alpha.state == "active" and beta.state == "standby")
        await trio.sleep(0.25)
        peer = alpha.agent.peer
        t = trio.current_time()
        await c1.send_raw(BAD_FRAMES[bad])
        await c1.closed.wait()
        assert c1.closed_at == pytest.approx(t, abs=EPS)
        assert any("closing it on bad input" in r.getMessage() for r in caplog.records)
        # Everything else carries on.
        beats_before = len(c2.agent_beats())
        await trio.sleep(0.5)
        assert not c2.closed.is_set()
        assert len(c2.agent_beats()) == beats_before + 5
        assert alpha.agent.peer is peer and not peer.closed
        assert alpha.state == "active" and beta.state == "standby"
        await client.ask("77")
        await settle()
        assert client.responses()[-1][0] == "77"
        assert len(alpha.agent.components) == 1


async def test_unknown_component_id_is_refused(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        await world.converge(alpha, beta)
        t = trio.current_time()
        stranger = await alpha.component("99")
        await stranger.closed.wait()
        assert stranger.closed_at == pytest.approx(t, abs=EPS)
        assert alpha.first_log("unknown componentId '99'") == pytest.approx(t, abs=EPS)
        assert stranger.set_roles() == []
        assert alpha.state == "active" and alpha.node.status.status == "active"


async def test_second_connection_with_same_id_replaces_the_first(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        old, _ = await world.converge(alpha, beta)
        await trio.sleep(0.2)
        t = trio.current_time()
        new = await alpha.component("1")
        await old.closed.wait()
        assert old.closed_at == pytest.approx(t, abs=EPS)
        # The new connection is given the node's current role at once.
        await wait_until(lambda: new.role == Role.active)
        assert new.set_roles()[0][0] == pytest.approx(t, abs=EPS)
        assert [r for _, r in new.set_roles()] == [Role.active]
        assert not new.closed.is_set()
        await trio.sleep(0.5)
        assert not new.closed.is_set()
        assert alpha.node.monitor.available("1")
        assert alpha.state == "active"


async def test_component_changing_its_id_is_closed(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(components={"alpha": ("1", "2"), "beta": ("1",)})
        c1 = await alpha.component("1")
        c2 = await alpha.component("2")
        await beta.component("1")
        await wait_until(lambda: alpha.state == "active")
        c1.heartbeat_id = "2"
        await c1.closed.wait()
        assert alpha.first_log("componentId changed from '1' to '2'") == pytest.approx(c1.closed_at, abs=EPS)
        await trio.sleep(0.3)
        assert not c2.closed.is_set()
        assert alpha.node.monitor.available("2")


# -- status clients ------------------------------------------------------------------------------------


async def test_status_requests_and_indications(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        clients = [await alpha.client(), await alpha.client()]
        bclient = await beta.client()
        await wait_until(lambda: len(alpha.agent.clients) == 2 and len(beta.agent.clients) == 1)
        ca, _ = await world.converge(alpha, beta)
        await settle()
        for c in clients:
            assert c.indications() == ["promoting", "active"]
        assert bclient.indications() == ["standby"]
        await clients[0].ask("12345")
        await bclient.ask("9")
        await settle()
        assert clients[0].responses() == [("12345", "active")]
        assert clients[1].responses() == []
        assert bclient.responses() == [("9", "standby")]
        # A component fails, then recovers: degraded, then active, in order.
        ca.status = ComponentStatus.failed
        await wait_until(lambda: alpha.node.status.status == "degraded")
        ca.status = ComponentStatus.ok
        await wait_until(lambda: alpha.node.status.status == "active")
        await settle()
        for c in clients:
            assert c.indications() == ["promoting", "active", "degraded", "active"]
        assert bclient.indications() == ["standby"]


async def test_client_that_never_reads_is_disconnected(autojump_clock, world):
    with trio.fail_after(CAP):
        queue = 4
        alpha, beta = await world.start_pair(client_queue=queue)
        await world.converge(alpha, beta)
        good = await alpha.client()
        slow = await alpha.client(reads=False)
        await wait_until(lambda: len(alpha.agent.clients) == 2)
        # The writer holds one response (blocked on the stream), the queue the
        # next `queue`; one more and the client is cut off.
        for i in range(queue + 1):
            await slow.ask(str(i))
            await settle()
        assert len(alpha.agent.clients) == 2
        await slow.ask("999")
        await settle()
        assert len(alpha.agent.clients) == 1
        with pytest.raises((trio.BrokenResourceError, trio.ClosedResourceError)):
            for _ in range(3):
                await slow.ask("998")
        # The agent carries on.
        await good.ask("1")
        await settle()
        assert good.responses() == [("1", "active")]
        await trio.sleep(0.5)
        assert alpha.state == "active" and beta.state == "standby"
        assert alpha.agent.peer is not None and not alpha.agent.peer.closed


# -- graceful shutdown ------------------------------------------------------------------------------------


async def test_graceful_shutdown_hands_over_without_overlap(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        aclient = await alpha.client()
        await wait_until(lambda: len(alpha.agent.clients) == 1)
        ca, cb = await world.converge(alpha, beta)
        await trio.sleep(0.25)
        mark = len(world.journal)
        t = trio.current_time()
        alpha.agent.shutdown()
        await alpha.agent.finished.wait()
        await wait_until(lambda: beta.state == "active")
        assert ca.role == Role.standby and cb.role == Role.active
        events = [(node, what, role) for _, node, _, what, role in world.journal[mark:]]
        assert events == [
            ("alpha", "asked", Role.standby),
            ("alpha", "role", Role.standby),
            ("beta", "asked", Role.active),
            ("beta", "role", Role.active),
        ]
        # Safety: at no point were both nodes' components active.
        roles = {("alpha", "1"): Role.active, ("beta", "1"): Role.standby}
        for _, node, cid, what, role in world.journal[mark:]:
            if what == "role":
                roles[(node, cid)] = role
                assert list(roles.values()).count(Role.active) <= 1
        # No timer is involved: the hand-over completes at once.
        assert world.journal[-1][0] - t < INTERVAL
        assert alpha.agent.stopped.is_set() and alpha.agent.finished.is_set()
        assert alpha.state == "stopped"
        assert aclient.indications()[-1] == "stopping"
        assert aclient.closed.is_set()
        await trio.sleep(0.5)
        assert beta.state == "active"
        assert beta.log_times("-> demoting") == []


async def test_shutdown_of_the_standby_stops_at_once(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, cb = await world.converge(alpha, beta)
        beta.agent.shutdown()
        await beta.agent.finished.wait()
        await trio.sleep(0.5)
        assert alpha.state == "active" and ca.role == Role.active
        assert alpha.log_times("-> demoting") == []


# -- freeze ---------------------------------------------------------------------------------------------------


async def test_frozen_active_demotes_and_rejoins_as_standby(autojump_clock, world):
    """alpha's loop stops for 0.5 s (> (dead_after - 1) intervals) while beta
    runs on: beta takes over after dead_after intervals; alpha, thawed, sees
    the gap on its first wake-up, demotes at once and rejoins as standby."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, cb = await world.converge(alpha, beta)
        await trio.sleep(0.55)
        await alpha.freeze()
        last = alpha.peer_taps[-1].last_sent
        frozen_at = trio.current_time()
        await trio.sleep(0.5)
        promoted = beta.first_log("standby -> promoting")
        assert promoted == pytest.approx(last + DEAD_TIME, abs=EPS)
        assert beta.state == "active" and cb.role == Role.active
        assert alpha.state == "active"  # it has not run since
        thawed_at = trio.current_time()
        alpha.thaw()
        await wait_until(lambda: alpha.state == "standby")
        stalled = alpha.first_log("our loop stalled")
        assert stalled == pytest.approx(thawed_at, abs=EPS)
        assert alpha.first_log("active -> demoting (freeze)") == stalled
        assert ca.role == Role.standby
        # alpha's component was told standby as soon as alpha ran again.
        assert ca.set_roles()[-1] == (pytest.approx(thawed_at, abs=EPS), Role.standby)
        assert thawed_at - frozen_at == pytest.approx(0.5, abs=EPS)
        await trio.sleep(1.0)
        # One fault, one failover: beta never gave the role back.
        assert beta.state == "active" and alpha.state == "standby"
        assert beta.log_times("-> demoting") == []
        assert alpha.log_times("-> promoting", kind="election") == [alpha.first_log("unassigned -> promoting")]


async def test_whole_pair_stall_causes_no_failover(autojump_clock, world):
    """Both loops stall together (the clock jumps under both: a paused VM
    host). Both detect the freeze, rejoin, and nominate the node that was
    active when they froze: alpha is active again, beta standby."""
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, cb = await world.converge(alpha, beta)
        await trio.sleep(0.55)
        await settle()
        autojump_clock.jump(0.5)
        jumped = trio.current_time()
        await wait_until(lambda: alpha.state == "active" and beta.state == "standby" and alpha.log_times("our loop stalled"))
        assert alpha.first_log("our loop stalled") == pytest.approx(jumped, abs=EPS)
        assert beta.first_log("our loop stalled") == pytest.approx(jumped, abs=EPS)
        assert beta.log_times("standby -> promoting") == []
        await trio.sleep(1.0)
        assert alpha.state == "active" and beta.state == "standby"
        assert ca.role == Role.active and cb.role == Role.standby


# -- cancellation -------------------------------------------------------------------------------------------


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for e in error.exceptions for leaf in _leaves(e)]
    return [error]


async def test_cancelling_run_is_clean(autojump_clock, world):
    errors: list[BaseException] = []
    with trio.fail_after(CAP):
        try:
            async with trio.open_nursery() as local:
                alpha, beta = await world.start_pair(nursery=local)
                ca, _ = await world.converge(alpha, beta)
                await trio.sleep(0.25)
                alpha.peer_taps[-1].close_delay = 0.01   # the peer link closes last
                ca.agent_tap.close_delay = 0.005         # the component a moment before
                alpha.killed = True
                alpha.nursery.cancel_scope.cancel()      # the caller cancels run()
                await trio.sleep(0.1)
                assert alpha.agent.finished.is_set()
                beta.agent.stopped.set()
                local.cancel_scope.cancel()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors = _leaves(e)
    assert errors == []


async def test_standby_timeout_while_promoting_does_not_stop_the_agent(autojump_clock, world):
    """alpha's component never answers its registration SetRole(standby);
    alpha promotes meanwhile; at +set_role_timeout the agent must carry on.
    (Regression: a working-tree version crashed here with an AssertionError
    in Node._assign, for a component whose connection it had just closed.)"""
    errors: list[BaseException] = []
    with trio.fail_after(CAP):
        try:
            async with trio.open_nursery() as local:
                alpha, beta = await world.start_pair(nursery=local, set_role_timeout=0.5)
                ca = await alpha.component("1", answer="never")
                await beta.component("1")
                await trio.sleep(1.0)
                assert not alpha.agent.finished.is_set()
                asked = ca.set_roles()[0][0]
                assert ca.set_roles()[0][1] == Role.standby
                assert alpha.first_log("SetRole(standby) timed out") == pytest.approx(asked + 0.5, abs=EPS)
                assert alpha.log_times("unassigned -> promoting")[0] < asked + 0.5
                for host in (alpha, beta):
                    host.agent.stopped.set()
                local.cancel_scope.cancel()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors = _leaves(e)
    assert errors == []


# -- the operator's view: snapshot, round-trip time, the control requests --------------------------------------


async def test_snapshot_shows_roles_health_peer_and_failovers(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        await world.converge(alpha, beta)
        await trio.sleep(1.5)  # past the first round-trip probe (RTT_PERIOD)
        a = alpha.agent.snapshot()
        b = beta.agent.snapshot()
        assert (a.name, a.state, a.role, a.status) == ("alpha", "active", "active", "active")
        assert (b.name, b.state, b.role, b.status) == ("beta", "standby", "standby", "standby")
        assert a.failovers == 1 and b.failovers == 0
        assert a.peer.name == "beta" and a.peer.connected and a.peer.alive and a.peer.healthy is True
        assert a.peer.heartbeat_age is not None and 0 <= a.peer.heartbeat_age <= INTERVAL + EPS
        # In-memory streams under the MockClock: the probe comes back at the same virtual instant.
        assert a.peer.rtt == 0.0
        [ca] = a.components
        assert (ca.id, ca.role, ca.health, ca.connected) == ("1", "active", "healthy", True)
        assert 0 <= ca.heartbeat_age <= INTERVAL + EPS
        assert a.in_state_for > 1.0 and not a.maintenance
        assert any("-> active" in e.text for e in a.events)
        # Rates need two snapshots RATE_WINDOW apart: 10 heartbeats a second.
        await trio.sleep(1.0)
        [ca] = alpha.agent.snapshot().components
        assert ca.heartbeats_per_s == pytest.approx(1 / INTERVAL, rel=0.2)


async def test_snapshot_after_a_failover_counts_it_and_loses_the_peer(autojump_clock, world):
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        await world.converge(alpha, beta)
        alpha.kill()
        await wait_until(lambda: beta.state == "active")
        b = beta.agent.snapshot()
        assert b.failovers == 1 and b.in_state_for < INTERVAL
        assert not b.peer.connected and not b.peer.alive and b.peer.rtt is None


async def test_control_switchover_and_maintenance(autojump_clock, world):
    from hanode.control import ControlError, handle_request

    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        ca, cb = await world.converge(alpha, beta)
        with pytest.raises(ControlError, match="refused by beta: this node is standby, not active"):
            await handle_request(beta.agent, {"command": "switchover"})
        reply = await handle_request(alpha.agent, {"command": "switchover", "timeout": 5})
        assert reply == {"ok": True, "text": "beta took the role; alpha is standby"}
        await wait_until(lambda: beta.state == "active")
        assert (ca.role, cb.role) == (Role.standby, Role.active)
        # Maintenance on the new standby: a lost peer is not taken over.
        assert (await handle_request(alpha.agent, {"command": "maintenance", "on": True}))["ok"]
        assert alpha.agent.snapshot().maintenance
        with pytest.raises(ControlError, match="in maintenance"):
            await handle_request(alpha.agent, {"command": "switchover"})
        beta.kill()
        await trio.sleep(1.0)
        assert alpha.state == "standby" and ca.role == Role.standby
        await handle_request(alpha.agent, {"command": "maintenance", "on": False})
        await wait_until(lambda: alpha.state == "active")
        status = await handle_request(alpha.agent, {"command": "status"})
        assert status["snapshot"]["state"] == "active" and status["snapshot"]["maintenance"] is False


@pytest.mark.parametrize("request_, error", [
    ({"command": "reboot"}, "unknown command 'reboot'"),
    ({"command": "maintenance"}, 'needs "on": true or false'),
    ({"command": "maintenance", "on": "yes"}, 'needs "on": true or false'),
    ({"command": "switchover", "timeout": -1}, "positive number of seconds"),
    ({"command": "switchover", "timeout": True}, "positive number of seconds"),
])
async def test_control_bad_requests_say_what_is_wrong(autojump_clock, world, request_, error):
    from hanode.control import ControlError, handle_request

    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair()
        with pytest.raises(ControlError, match=error):
            await handle_request(alpha.agent, request_)



# -- the authenticated peer link ---------------------------------------------------------------------------------


def make_key(path) -> str:
    from hanode.peerauth import write_key

    write_key(str(path))
    return str(path)


async def test_authenticated_link_elects_and_fails_over_as_before(autojump_clock, world, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="hanode")
    key = make_key(tmp_path / "cluster.key")
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(keys={"alpha": key, "beta": key})
        ca, cb = await world.converge(alpha, beta)
        assert (alpha.state, beta.state) == ("active", "standby")
        assert "authenticated with the cluster key" in caplog.text
        assert "not authenticated" not in caplog.text
        await trio.sleep(1.0)
        assert beta.state == "standby"  # heartbeats keep flowing: no peer loss
        alpha.kill()
        await wait_until(lambda: beta.state == "active")


async def test_a_peer_with_the_wrong_key_never_reaches_the_election(autojump_clock, world, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="hanode")
    keys = {"alpha": make_key(tmp_path / "a.key"), "beta": make_key(tmp_path / "b.key")}
    with trio.fail_after(CAP):
        alpha, beta = await world.start_pair(keys=keys)
        seen: list[str] = []
        real = beta.agent.node.handle

        def spy(event, now):
            seen.append(type(event).__name__)
            return real(event, now)

        beta.agent.node.handle = spy
        await trio.sleep(3.0)
        assert not {"PeerConnected", "PeerMessage", "PeerDisconnected"} & set(seen)
        assert beta.agent.node.election.link is None and alpha.agent.node.election.link is None
        assert "the hello is not signed with our cluster key" in caplog.text


async def test_without_a_key_the_agent_warns_at_startup(autojump_clock, world, caplog):
    with trio.fail_after(CAP):
        await world.start_pair()
        assert "the peer link is not authenticated" in caplog.text

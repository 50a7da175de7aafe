"""Acceptance scenarios: SPEC sections 3-6 and 8 on the simulated pair.

Each test drives ``tests/pair.py`` (two sans-IO Nodes, a link, fake
components and clients, in virtual time) through one scenario and checks
what SPEC's tables state: the election messages exchanged (kind,
correlationId, fields), the node states and status tokens over time, the
components' roles, and the safety invariant (``world.violations``).

Conventions: "alpha" sorts first and is the preferred node by default; A is
alpha, B is beta. Latency is 1 ms, heartbeat_interval 0.1 s, dead_after 3,
startup_grace 2 s, handover_after 1 s (the defaults) unless a test says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pair import Client, World

from hanode.codec import (
    Assigment,
    ComponentStatus,
    ElectionError,
    ElectionMessage,
    GetStatusResponse,
    HealthMonitorMessage,
    HealthQuery,
    NominationMessage,
    Role,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    StatusIndication,
    Veto,
)
from hanode.core import ComponentSpec, Log, PeerMessage, SendComponent, SetMaintenance, Shutdown, Stopped, Switchover, Timers
from hanode.core.status import TOKENS
from hanode.core import StatusChanged

A, B = "alpha", "beta"
EPS = 1e-6
TIMERS = Timers()
LATENCY = 0.001


# -- a world that samples every node after every event --------------------------------------


@dataclass(frozen=True)
class Snap:
    """What one node looks like between two events."""

    state: str | None             # election state; None: agent not running
    status: str | None            # service status token
    health: bool | None           # the election's view of our own health
    active: tuple[str, ...]       # fake components holding the active role
    roles: tuple[str, ...]        # role manager state per component, in spec order
    monitor: tuple[str, ...]      # monitor health state per component, in spec order


class Sim(World):
    """A :class:`World` that records every change of every node's :class:`Snap`."""

    def __init__(self, *args, **kwargs):
        self.samples: dict[str, list[tuple[float, Snap]]] = {}
        self.conn_ids: dict[int, str] = {}  # every component connection ever opened -> component id
        super().__init__(*args, **kwargs)

    def _connect_component(self, comp):
        super()._connect_component(comp)
        if comp.conn is not None:
            self.conn_ids[comp.conn] = comp.spec.id

    def _dispatch(self, target, event):
        super()._dispatch(target, event)
        for name in self.names:
            snap = self.snap(name)
            history = self.samples.setdefault(name, [])
            if not history or history[-1][1] != snap:
                history.append((self.now, snap))

    def snap(self, name: str) -> Snap:
        agent = self.agents[name]
        active = tuple(self.active_components(name))
        if agent is None:
            return Snap(None, None, None, active, (), ())
        node = agent.node
        cids = [c.id for c in agent.spec.components]
        return Snap(
            node.state, node.status.status, node.election.health, active,
            tuple(node.roles.state(c) for c in cids), tuple(node.monitor.state(c) for c in cids),
        )

    def node(self, name: str):
        return self.agents[name].node


def history(w: Sim, name: str, field: str, since: float = 0.0) -> list[tuple[float, object]]:
    """(time, value) of each change of one Snap field, from ``since`` on."""
    out: list[tuple[float, object]] = []
    for t, snap in w.samples.get(name, []):
        value = getattr(snap, field)
        if not out or out[-1][1] != value:
            out.append((t, value))
    # The value in force just before ``since`` (unless it changed right then), then every change.
    before = [x for x in out if x[0] < since]
    after = [x for x in out if x[0] >= since]
    if after and after[0][0] == since:
        return after
    return before[-1:] + after


def values(w: Sim, name: str, field: str, since: float = 0.0) -> list[object]:
    return [v for _, v in history(w, name, field, since)]


def entered_at(w: Sim, name: str, field: str, value: object, since: float = 0.0) -> float:
    """The first time at or after ``since`` that ``field`` took ``value``."""
    for t, v in history(w, name, field, since):
        if v == value and t >= since:
            return t
    raise AssertionError(f"{name}.{field} never became {value!r} after t={since}")


def holders(w: Sim, since: float = 0.0) -> list[tuple[str, ...]]:
    """Which nodes held active components, each change once; idle gaps skipped."""
    times = sorted({t for n in w.names for t, _ in w.samples.get(n, []) if t >= since} | {since})
    out: list[tuple[str, ...]] = []
    for t in times:
        now = tuple(n for n in w.names if _active_at(w, n, t))
        if now and (not out or out[-1] != now):
            out.append(now)
    return out


def _active_at(w: Sim, name: str, t: float) -> bool:
    active = False
    for ts, snap in w.samples.get(name, []):
        if ts > t:
            break
        active = bool(snap.active)
    return active


# -- election messages ----------------------------------------------------------------------


def describe(msg: ElectionMessage) -> tuple:
    """An ElectionMessage as a comparable tuple: (kind, correlationId, fields...)."""
    body = msg.message
    if type(body) is NominationMessage:
        return ("nomination", msg.correlation_id, body.nominee)
    if type(body) is ElectionError:
        return ("error", msg.correlation_id)
    kind = "assigment" if type(body) is Assigment else "veto"
    return (kind, msg.correlation_id, body.active, body.standby)


def messages(w: World, since: float = 0.0) -> list[tuple]:
    """Every election message sent from ``since`` on: (sender, kind, corr, fields...)."""
    return [(s, *describe(m)) for t, s, m in w.election_messages() if t >= since - EPS]


def message_times(w: World, since: float = 0.0) -> list[tuple[float, tuple]]:
    return [(t, (s, *describe(m))) for t, s, m in w.election_messages() if t >= since - EPS]


def announcement(sender: str) -> tuple:
    other = B if sender == A else A
    return (sender, "assigment", "", sender, other)


def assert_replies_answer_requests(w: World, since: float = 0.0) -> None:
    """A reply carries the id of a nomination its peer sent before it; an
    announcement carries ""; a nomination never does; no request gets two replies."""
    asked: dict[tuple[str, str], float] = {}
    answered: set[tuple[str, str]] = set()
    for t, (sender, kind, corr, *_) in message_times(w, since):
        peer = B if sender == A else A
        if kind == "nomination":
            assert corr != "", "a nomination is a request: it never uses the empty correlationId"
            asked[(sender, corr)] = t
        elif corr != "":
            assert (peer, corr) in asked and asked[(peer, corr)] <= t, f"{sender}'s {kind} {corr!r} answers no nomination of {peer}"
            assert (peer, corr) not in answered, f"{peer}'s nomination {corr!r} answered twice"
            answered.add((peer, corr))
        else:
            assert kind == "assigment", f"unsolicited {kind} from {sender}"


# -- role messages ----------------------------------------------------------------------------


def set_roles_sent(w: Sim, name: str, role: Role, since: float = 0.0) -> list[tuple[float, str]]:
    """(time, component id) of each SetRole(role) the node sent from ``since`` on."""
    return [
        (t, w.conn_ids[a.conn])
        for t, a in w.actions(name, SendComponent)
        if t >= since - EPS and type(a.msg) is RoleMessage and type(a.msg.message) is SetRole and a.msg.message.role == role
    ]


def answered(w: World, name: str, cid: str, role: Role, since: float = 0.0) -> list[float]:
    """When component ``cid`` of ``name`` answered SetRole(role) (success or not)."""
    return [t for t, r in w.components[name][cid].set_roles if r == role and t >= since - EPS]


def logs(w: World, name: str, since: float = 0.0, level: str | None = None) -> list[tuple[float, Log]]:
    return [(t, a) for t, a in w.actions(name, Log) if t >= since - EPS and (level is None or a.level == level)]


def started_pair(**kwargs) -> Sim:
    """A pair after a normal start: A active, B standby."""
    w = Sim(**kwargs)
    w.run_for(1.0)
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert w.violations == []
    return w


def fail_promotion(w: Sim, name: str, answer: str) -> None:
    w.components[name]["1"].behaviour.answer = answer


# =============================================================================================
# 3.1 Election: the seed's sequences
# =============================================================================================


def test_3_1_2_startup_election():
    w = Sim()
    w.run_for(1.0)
    # Crossing nominations of the preferred node, each answered with an assigment.
    assert sorted(messages(w)) == sorted([
        (A, "nomination", "1", A),
        (B, "nomination", "1", A),
        (A, "assigment", "1", A, B),
        (B, "assigment", "1", A, B),
    ])
    assert_replies_answer_requests(w)
    assert values(w, A, "state") == ["unassigned", "promoting", "active"]
    assert values(w, B, "state") == ["unassigned", "standby"]
    assert (w.status(A), w.status(B)) == ("active", "standby")
    # Components got their roles: A's active, B's standby (each confirmed by the component).
    assert w.active_components(A) == ["1"] and w.active_components(B) == []
    assert w.node(A).roles.state("1") == "active"
    assert w.node(B).roles.state("1") == "standby"
    assert [r for _, r in w.components[B]["1"].set_roles] == [Role.standby]
    assert [r for _, r in w.components[A]["1"].set_roles] == [Role.standby, Role.active]
    assert holders(w) == [(A,)]
    assert w.violations == []


def test_3_1_3_active_restart_after_peer_promotion():
    w = started_pair()
    w.kill(A)
    took = w.run_until_true(lambda: w.active_components(B) == ["1"] and w.state(B) == "active")
    assert took < 0.05  # refused dial: noticed in milliseconds, then one SetRole round trip
    b_active = entered_at(w, B, "state", "active")
    w.run_for(1.0)
    restart = w.now
    w.restart(A)
    w.run_for(2.0)

    sent = messages(w, restart)
    # B announces and A nominates (they cross), then B vetoes A's nomination with its id.
    assert sorted(sent[:2]) == sorted([announcement(B), (A, "nomination", "1", A)])
    assert sent[2:] == [(B, "veto", "1", B, A)]
    assert_replies_answer_requests(w, restart)
    # B never leaves active, not even for a moment.
    assert values(w, B, "state", b_active) == ["active"]
    assert values(w, B, "status", b_active) == ["active"]
    assert values(w, A, "state", restart) == ["unassigned", "standby"]
    assert w.active_components(A) == [] and w.active_components(B) == ["1"]
    assert holders(w) == [(A,), (B,)]  # one fault, one failover
    assert w.violations == []


@pytest.mark.parametrize("answer", ["failure", "never"])
def test_3_1_4_active_restart_during_peer_promotion_failure(answer):
    w = started_pair()
    fail_promotion(w, B, answer)
    w.kill(A)
    # B's promotion fails: "failure" at once, "never" after set_role_timeout (5 s).
    w.run_until_true(lambda: w.status(B) == "degraded", timeout=10)
    assert w.state(B) == "active" and w.node(B).roles.state("1") == "failed"
    assert w.active_components(B) == []
    w.run_for(0.3)
    restart = w.now
    w.restart(A)
    w.run_until_true(lambda: w.state(A) == "active" and w.state(B) == "standby", timeout=15)
    w.run_for(0.5)

    sent = message_times(w, restart)
    assert sorted(s for _, s in sent[:2]) == sorted([announcement(B), (A, "nomination", "1", A)])
    # B, unhealthy, answers A's nomination with assigment (A active) ...
    assert [s for _, s in sent[2:]] == [(B, "assigment", "1", A, B)]
    reply_at = sent[2][0]
    # ... after demoting first: B asked its component for standby and ended its demotion before replying.
    assert values(w, B, "state", restart) == ["active", "demoting", "standby"]
    assert set_roles_sent(w, B, Role.standby, restart)[0][0] < reply_at
    assert entered_at(w, B, "state", "standby", restart) <= reply_at
    assert entered_at(w, A, "state", "promoting", restart) > reply_at
    assert (w.state(A), w.status(A), w.state(B)) == ("active", "active", "standby")
    assert w.status(B) == "failed"  # standby with a failed component: cannot take over
    assert w.active_components(A) == ["1"] and w.active_components(B) == []
    assert_replies_answer_requests(w, restart)
    assert w.violations == []


def test_3_1_5_active_restart_during_peer_promotion():
    w = started_pair()
    w.components[B]["1"].behaviour.answer_delay = 2.0
    w.kill(A)
    w.run_for(0.5)
    assert w.state(B) == "promoting"
    restart = w.now
    w.restart(A)
    w.run_for(0.1)
    # B vetoes while still promoting.
    sent = message_times(w, restart)
    assert sorted(s for _, s in sent[:2]) == sorted([announcement(B), (A, "nomination", "1", A)])
    assert [s for _, s in sent[2:]] == [(B, "veto", "1", B, A)]
    assert w.state(B) == "promoting"
    w.run_for(3.0)
    assert messages(w, restart) == [s for _, s in sent]  # nothing more was said
    # B completes its promotion; A stays standby.
    assert values(w, B, "state", restart) == ["promoting", "active"]
    assert values(w, A, "state", restart) == ["unassigned", "standby"]
    assert (w.status(A), w.status(B)) == ("standby", "active")
    assert w.active_components(B) == ["1"] and w.active_components(A) == []
    assert holders(w) == [(A,), (B,)]
    assert w.violations == []


def test_3_1_6_standby_restart():
    w = started_pair()
    a_active = entered_at(w, A, "state", "active")
    w.kill(B)
    w.run_for(1.0)
    restart = w.now
    w.restart(B)
    w.run_for(2.0)
    sent = messages(w, restart)
    # A announces, B nominates the preferred node (A), A agrees.
    assert sorted(sent[:2]) == sorted([announcement(A), (B, "nomination", "1", A)])
    assert sent[2:] == [(A, "assigment", "1", A, B)]
    assert_replies_answer_requests(w, restart)
    assert values(w, A, "state", a_active) == ["active"]
    assert values(w, A, "status", a_active) == ["active"]
    assert values(w, B, "state", restart) == ["unassigned", "standby"]
    assert w.status(B) == "standby"
    assert holders(w) == [(A,)]
    assert w.violations == []


# =============================================================================================
# 3.2 Role subsystem
# =============================================================================================

ORDERED = (
    ComponentSpec("1", "db", order=10),
    ComponentSpec("2", "cache", order=10),
    ComponentSpec("3", "vip", order=20),
)


def test_3_2_1_role_assignment_order():
    # A graceful shutdown of A: A demotes (descending order), then B promotes (ascending).
    # Unequal answer delays, so that "after both answered" is told from "after the first".
    w = started_pair(components=ORDERED)
    for name in (A, B):
        for cid, delay in (("1", 0.01), ("2", 0.05), ("3", 0.02)):
            w.components[name][cid].behaviour.answer_delay = delay
    assert w.active_components(A) == ["1", "2", "3"]
    stop = w.now
    w.shutdown(A)
    w.run_for(1.0)

    # Demotion: order 20 first, then both order-10 components at the same instant, once it answered.
    down = dict((cid, t) for t, cid in set_roles_sent(w, A, Role.standby, stop))
    assert sorted(down) == ["1", "2", "3"]
    assert down["3"] == pytest.approx(stop, abs=EPS)
    assert down["1"] == down["2"]
    assert down["1"] == pytest.approx(answered(w, A, "3", Role.standby, stop)[0] + LATENCY, abs=EPS)

    # Promotion: both order-10 at the same instant, order 20 only once both answered.
    up = dict((cid, t) for t, cid in set_roles_sent(w, B, Role.active, stop))
    assert sorted(up) == ["1", "2", "3"]
    assert up["1"] == up["2"]
    slowest_10 = max(answered(w, B, "1", Role.active, stop)[0], answered(w, B, "2", Role.active, stop)[0])
    assert slowest_10 == answered(w, B, "2", Role.active, stop)[0]
    assert up["3"] == pytest.approx(slowest_10 + LATENCY, abs=EPS)  # the slower answer's arrival
    assert entered_at(w, B, "state", "active", stop) == pytest.approx(answered(w, B, "3", Role.active, stop)[0] + LATENCY, abs=EPS)
    assert w.active_components(B) == ["1", "2", "3"]
    # A's last component was standby before B's first went active.
    assert max(down.values()) < min(up.values())
    assert w.violations == []


def test_3_2_2_component_role_states():
    # B promotes after A dies; its component answers failure, then recovers.
    w = started_pair()
    fail_promotion(w, B, "failure")
    kill = w.now
    w.kill(A)
    w.run_for(0.5)
    assert w.node(B).roles.state("1") == "failed"
    assert w.status(B) == "degraded"  # active with a failed component
    w.components[B]["1"].behaviour.answer = "success"
    w.run_for(2.0)

    states = history(w, B, "roles", kill)
    assert [s for _, (s,) in states] == ["standby", "assigning", "failed", "assigning", "active"]
    (_, _), (t_assign, _), (t_failed, _), (t_retry, _), (t_active, _) = states
    assert t_failed == pytest.approx(t_assign + 0.01 + 2 * LATENCY, abs=EPS)  # answer_delay + round trip
    assert t_retry == pytest.approx(t_failed + 1.0, abs=EPS)                  # backoff: 1 s
    assert t_active == pytest.approx(t_retry + 0.01 + 2 * LATENCY, abs=EPS)
    assert len(set_roles_sent(w, B, Role.active, kill)) == 2
    assert values(w, B, "status", kill) == ["standby", "promoting", "degraded", "active"]
    assert entered_at(w, B, "status", "active", kill) == t_active
    assert w.state(B) == "active" and w.active_components(B) == ["1"]
    assert w.violations == []


# =============================================================================================
# 3.3 Monitor subsystem
# =============================================================================================


def health_queries(w: World, name: str, since: float) -> list[float]:
    return [
        t for t, a in w.actions(name, SendComponent)
        if t >= since - EPS and type(a.msg) is HealthMonitorMessage and type(a.msg.message) is HealthQuery
    ]


@pytest.mark.parametrize("answers", [True, False], ids=["answered", "unanswered"])
def test_3_3_1_query_health(answers):
    w = Sim(timers=Timers(heartbeat_interval=0.1, dead_after=3))
    w.run_until(1.05)
    comp = w.components[A]["1"]
    comp.behaviour.silent = True
    last = w.node(A).monitor.components["1"].last_rx  # its last heartbeat arrived then
    assert last == pytest.approx(1.001, abs=1e-3)
    # Probed when its heartbeat is late by half an interval: 1.5 intervals of silence.
    w.run_until(last + 0.15 + LATENCY / 2)  # the probe is on its way
    assert health_queries(w, A, 1.05) == [pytest.approx(last + 0.15, abs=EPS)]
    assert w.node(A).monitor.state("1") == "suspect"
    if answers:
        comp.behaviour.silent = False  # it answers the probe, and beats again
        w.run_for(2.0)
        assert values(w, A, "monitor", 1.05) == [("healthy",), ("suspect",), ("healthy",)]
        # Nothing else changes: no failure, same role, same status, same node active.
        assert values(w, A, "roles", 1.05) == [("active",)]
        assert values(w, A, "status", 1.05) == ["active"]
        assert len(health_queries(w, A, 1.05)) == 1
        assert messages(w, 1.05) == []
        assert logs(w, A, 1.05, "warning") == []
    else:
        w.run_for(1.0)
        # Failed exactly dead_after intervals after the last sign of life; probed once.
        t_failed = entered_at(w, A, "monitor", ("failed",), 1.05)
        assert t_failed == pytest.approx(last + 0.3, abs=EPS)
        assert values(w, A, "monitor", 1.05) == [("healthy",), ("suspect",), ("failed",)]
        assert len(health_queries(w, A, 1.05)) == 1
        assert entered_at(w, A, "status", "degraded", 1.05) == t_failed
    assert w.violations == []


# =============================================================================================
# 3.4 Service status subsystem
# =============================================================================================

# SPEC section 6: the node state behind each token, and its health where it matters.
DOCUMENTED = {
    "electing": ("unassigned", None),
    "standby": ("standby", True),
    "failed": ("standby", False),
    "promoting": ("promoting", None),
    "active": ("active", True),
    "degraded": ("active", None),
    "demoting": ("demoting", None),
    "isolated": ("unassigned", None),
    "stopping": ("demoting", None),
}


def reach_electing() -> tuple[Sim, str]:
    w = Sim(start=False)
    w.start(A)  # alone, within startup_grace
    w.run_for(0.5)
    return w, A


def reach_standby() -> tuple[Sim, str]:
    return started_pair(), B


def reach_failed() -> tuple[Sim, str]:
    w = started_pair()
    w.components[B]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(0.5)
    return w, B


def reach_promoting() -> tuple[Sim, str]:
    w = started_pair()
    w.components[B]["1"].behaviour.answer_delay = 1.0
    w.kill(A)
    w.run_for(0.5)
    return w, B


def reach_active() -> tuple[Sim, str]:
    return started_pair(), A


def reach_degraded() -> tuple[Sim, str]:
    w = started_pair()
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(0.5)  # < handover_after
    return w, A


def reach_demoting() -> tuple[Sim, str]:
    w = started_pair()
    comp = w.components[A]["1"]
    comp.behaviour.status = ComponentStatus.failed
    comp.behaviour.answer_delay = 1.0
    w.run_until_true(lambda: w.state(A) == "demoting", timeout=3)  # hand-over on failure
    w.run_for(0.2)
    return w, A


def reach_isolated() -> tuple[Sim, str]:
    w = started_pair(witness=True)
    w.kill(B)
    w.run_for(0.5)
    w.set_witness(A, False)
    w.run_for(1.0)
    return w, A


def reach_stopping() -> tuple[Sim, str]:
    w = started_pair()
    w.components[A]["1"].behaviour.answer_delay = 1.0
    w.shutdown(A)
    w.run_for(0.5)
    return w, A


REACH = {
    "electing": reach_electing, "standby": reach_standby, "failed": reach_failed,
    "promoting": reach_promoting, "active": reach_active, "degraded": reach_degraded,
    "demoting": reach_demoting, "isolated": reach_isolated, "stopping": reach_stopping,
}


def test_3_4_2_every_token_has_a_scenario():
    assert set(REACH) == set(DOCUMENTED) == set(TOKENS)
    assert len(TOKENS) == 9


@pytest.mark.parametrize("token", TOKENS)
def test_3_4_2_status_states(token):
    w, name = REACH[token]()
    state, health = DOCUMENTED[token]
    assert w.status(name) == token
    assert w.state(name) == state
    if health is not None:
        assert w.node(name).election.health is health
    election = w.node(name).election
    if token == "degraded":
        assert w.node(name).roles.any_failed() or w.node(name).monitor.unavailable > 0
    if token == "isolated":
        assert election.witness_ok is False and not election.peer_alive
        assert w.active_components(name) == []
    if token == "stopping":
        assert election.stopping
    if token == "electing":
        assert not election.isolated
    # The token was announced as a change (and to the notify hook); "electing" is the initial one.
    changes = w.status_changes(name)
    assert (changes[-1][1] if changes else "electing") == token
    assert w.violations == []


def test_3_4_3_client_request_status():
    w = started_pair()
    ca, cb = w.connect_client(A), w.connect_client(B)
    w.run_for(0.01)
    w.ask_status(ca, "42")
    w.ask_status(cb, "7")
    w.ask_status(ca, "43")
    w.run_for(0.01)
    assert ca.received == [
        ServiceStatusMessage("42", GetStatusResponse("active")),
        ServiceStatusMessage("43", GetStatusResponse("active")),
    ]
    assert cb.received == [ServiceStatusMessage("7", GetStatusResponse("standby"))]
    assert w.violations == []


def test_3_4_4_component_changes_status():
    w = started_pair()
    clients: list[Client] = [w.connect_client(A), w.connect_client(A)]
    on_b = w.connect_client(B)
    w.run_for(0.05)
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(0.5)  # < handover_after: A recovers in place
    w.components[A]["1"].behaviour.status = ComponentStatus.ok
    w.run_for(1.0)
    expected = [
        ServiceStatusMessage("", StatusIndication("degraded")),
        ServiceStatusMessage("", StatusIndication("active")),
    ]
    for client in clients:
        assert client.received == expected
    assert on_b.received == []  # B's status never changed
    assert w.state(A) == "active"
    assert w.violations == []


# =============================================================================================
# Section 3 beyond the seed: partitions, freezes, preferences, witness, hand-over, shutdown
# =============================================================================================


def test_dual_active_after_partition_heals():
    w = started_pair()
    w.cut()
    w.run_for(1.0)
    assert (w.state(A), w.state(B)) == ("active", "active")  # no witness: SPEC's documented gap
    heal = w.now
    w.heal()
    # Bound: link up (1 ms), announcements cross (1 ms), B demotes (one SetRole round trip, 12 ms).
    took = w.run_until_true(lambda: w.state(B) == "standby" and not w.active_components(B), timeout=1)
    assert took <= 0.05
    w.run_for(1.0)
    assert sorted(messages(w, heal)) == sorted([announcement(A), announcement(B)])
    assert values(w, A, "state", heal) == ["active"]  # rule 6: the name that sorts first stays
    assert values(w, B, "state", heal) == ["active", "demoting", "standby"]
    assert w.active_components(A) == ["1"] and w.active_components(B) == []
    assert w.violations == []  # the overlap began while the link was down


def test_freeze_of_the_active():
    w = started_pair()
    w.freeze(A)
    took = w.run_until_true(lambda: w.active_components(B) == ["1"] and w.state(B) == "active")
    assert took <= TIMERS.dead_time + 0.05  # liveness: dead_after plus the promotion
    b_active = entered_at(w, B, "state", "active")
    w.run_for(0.5)
    thaw = w.now
    w.thaw(A)
    w.run_for(3.0)
    # A rejoins. Its components fenced themselves and closed their connections
    # while it was frozen (as hanode.component does), so A is unhealthy when it
    # opens: it nominates its peer rather than the node active when it froze
    # (itself), and B agrees. Either way B keeps the role.
    sent = messages(w, thaw)
    assert announcement(B) in sent
    nominations = [m for m in sent if m[1] == "nomination"]
    assert nominations == [(A, "nomination", nominations[0][2], B)]
    assert sent[-1] == (B, "assigment", nominations[0][2], B, A)
    assert_replies_answer_requests(w, thaw)
    assert values(w, B, "state", b_active) == ["active"]
    assert w.state(A) == "standby" and w.active_components(A) == []
    assert "promoting" not in values(w, A, "state", thaw)
    assert holders(w) == [(A,), (B,)]  # exactly one change of active node
    assert w.violations == []


def test_freeze_of_the_standby():
    w = started_pair()
    a_active = entered_at(w, A, "state", "active")
    w.freeze(B)
    w.run_for(0.5)
    thaw = w.now
    w.thaw(B)
    w.run_for(3.0)
    assert values(w, A, "state", a_active) == ["active"]
    assert values(w, A, "status", a_active) == ["active"]
    assert "promoting" not in values(w, B, "state")
    assert w.state(B) == "standby" and w.status(B) == "standby"
    assert set_roles_sent(w, B, Role.active) == []
    assert sorted(messages(w, thaw)) == sorted([announcement(A), (B, "nomination", "2", A), (A, "assigment", "2", A, B)])
    assert holders(w) == [(A,)]
    assert w.violations == []


@pytest.mark.parametrize(
    "preferred, nominees, replies",
    [
        ({A: A, B: B}, {A: A, B: B}, {A: ("veto", A, B), B: ("assigment", A, B)}),
        ({A: B, B: A}, {A: B, B: A}, {A: ("assigment", A, B), B: ("veto", A, B)}),
    ],
    ids=["each-prefers-itself", "each-prefers-the-other"],
)
def test_crossing_nominations_with_disagreeing_preferences(preferred, nominees, replies):
    w = Sim(preferred=preferred)
    w.run_for(1.0)
    expected = [(n, "nomination", "1", nominees[n]) for n in (A, B)]
    expected += [(n, replies[n][0], "1", *replies[n][1:]) for n in (A, B)]
    assert sorted(messages(w)) == sorted(expected)
    assert_replies_answer_requests(w)
    # Both computed the same winner: the nominee that sorts first.
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert w.active_components(A) == ["1"] and w.active_components(B) == []
    w.run_for(3.0)
    assert holders(w) == [(A,)]
    assert w.violations == []


def test_witness_lost_on_the_active_while_the_peer_is_lost():
    w = started_pair(witness=True)
    w.kill(B)
    w.run_for(0.5)
    assert w.state(A) == "active"  # peer lost, witness reachable: keeps serving
    lost = w.now
    w.set_witness(A, False)
    w.run_for(1.0)
    assert values(w, A, "status", lost) == ["demoting", "isolated"]  # demotes at once
    assert values(w, A, "state", lost) == ["demoting", "unassigned"]
    assert entered_at(w, A, "state", "demoting", lost) == pytest.approx(lost, abs=EPS)
    assert set_roles_sent(w, A, Role.standby, lost) == [(pytest.approx(lost, abs=EPS), "1")]
    assert w.active_components(A) == []
    w.run_for(5.0)  # stays out of service
    assert w.status(A) == "isolated" and w.active_components(A) == []
    assert w.violations == []


def test_isolated_node_whose_witness_comes_back():
    w = started_pair(witness=True)
    w.kill(B)
    w.run_for(0.5)
    w.set_witness(A, False)
    w.run_for(1.0)
    assert w.status(A) == "isolated"
    back = w.now
    w.set_witness(A, True)
    w.run_for(TIMERS.startup_grace + 1.0)
    changes = [(t, old, new) for t, a in w.actions(A, StatusChanged) if t >= back for old, new in [(a.old, a.new)]]
    # SPEC 6: isolated until the witness is back, then electing; alone, it
    # serves again once the peer has had startup_grace to show up.
    assert [(old, new) for _, old, new in changes][:3] == [("isolated", "electing"), ("electing", "promoting"), ("promoting", "active")]
    assert changes[1][0] - back == pytest.approx(TIMERS.startup_grace)
    assert w.state(A) == "active"


@pytest.mark.parametrize("how", ["standby-loses-peer", "starts-alone"])
def test_no_witness_reachable_never_promotes(how):
    if how == "standby-loses-peer":
        w = started_pair(witness=True)
        w.set_witness(B, False)
        w.run_for(0.5)
        w.kill(A)
    else:
        w = Sim(witness=True, start=False)
        w.witness_reachable[B] = False
        w.start(B)
    since = w.now
    w.run_for(3 * TIMERS.startup_grace)
    assert not {"promoting", "active"} & set(values(w, B, "state"))
    assert w.state(B) == "unassigned" and w.status(B) == "isolated"
    assert set_roles_sent(w, B, Role.active) == []
    assert w.active_components(B) == []
    assert history(w, B, "status", since)[-1][1] == "isolated"
    assert w.violations == []


def component_reports_failed_midway(w: Sim) -> None:
    w.components[B]["1"].behaviour.answer_delay = 0.5
    w.kill(A)
    w.run_for(0.2)
    w.components[B]["1"].behaviour.status = ComponentStatus.failed


@pytest.mark.parametrize("fault", [
    "answers-failure",
    "times-out",
    "reports-failed-while-assigning",
])
def test_component_failing_during_promotion(fault):
    w = started_pair()
    kill = w.now
    if fault == "answers-failure":
        fail_promotion(w, B, "failure")
        w.kill(A)
    elif fault == "times-out":
        fail_promotion(w, B, "never")
        w.kill(A)
    else:
        component_reports_failed_midway(w)
    w.run_for(6.0)
    # SPEC 6: a node promoting with a failed component is promoting, then degraded.
    assert values(w, B, "status", kill) == ["standby", "promoting", "degraded"]
    assert w.state(B) == "active"
    assert w.node(B).election.health is False
    assert w.violations == []


def test_component_recovers_within_handover_after():
    w = started_pair()
    fault = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(TIMERS.handover_after * 0.6)
    w.components[A]["1"].behaviour.status = ComponentStatus.ok
    w.run_for(3.0)
    assert values(w, A, "state", fault) == ["active"]
    assert values(w, A, "status", fault) == ["active", "degraded", "active"]
    assert values(w, B, "state", fault) == ["standby"]
    assert messages(w, fault) == []  # no election at all
    # Given the active role again in place (SPEC 4: a recovered component gets the node's role).
    assert len(set_roles_sent(w, A, Role.active, fault)) == 1
    assert holders(w) == [(A,)]
    assert w.violations == []


def test_component_that_does_not_recover_hands_over():
    w = started_pair()
    fault = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(3.0)
    t_degraded = entered_at(w, A, "status", "degraded", fault)
    t_demoting = entered_at(w, A, "state", "demoting", fault)
    assert t_demoting == pytest.approx(t_degraded + TIMERS.handover_after, abs=EPS)
    # A demotes first, then nominates B; B agrees with the same id.
    sent = message_times(w, fault)
    assert [s for _, s in sent] == [(A, "nomination", "2", B), (B, "assigment", "2", B, A)]
    assert answered(w, A, "1", Role.standby, fault)[0] < sent[0][0]
    assert entered_at(w, A, "state", "standby", fault) <= sent[0][0]
    assert (w.state(A), w.status(A)) == ("standby", "failed")
    assert (w.state(B), w.status(B)) == ("active", "active")
    assert holders(w, fault) == [(A,), (B,)]  # one change of active node, no overlap
    assert w.violations == []


def test_nodes_starting_a_few_milliseconds_apart():
    w = Sim(stagger=0.003)
    w.run_for(1.0)
    assert sorted(messages(w)) == sorted([
        (A, "nomination", "1", A),
        (B, "nomination", "1", A),
        (A, "assigment", "1", A, B),
        (B, "assigment", "1", A, B),
    ])
    assert_replies_answer_requests(w)
    assert values(w, A, "state") == ["unassigned", "promoting", "active"]
    assert values(w, B, "state") == [None, "unassigned", "standby"]
    assert entered_at(w, B, "state", "unassigned") == pytest.approx(0.003, abs=EPS)
    assert holders(w) == [(A,)]
    assert w.violations == []


@pytest.mark.parametrize("target, body", [
    (A, Assigment(B, A)),
    (A, Veto(B, A)),
    (B, Assigment(B, A)),
    (B, Veto(B, A)),
])
def test_stale_reply_is_ignored(target, body):
    w = started_pair()
    before = w.snap(target)
    at = w.now
    w.at(at, f"node:{target}", PeerMessage(w.link[0], ElectionMessage("999", body)))
    w.run_for(1.0)
    warned = [(t, a) for t, a in logs(w, target, at, "warning") if "'999'" in a.text]
    assert len(warned) == 1 and warned[0][0] == pytest.approx(at, abs=EPS)
    assert "stale" in warned[0][1].text
    assert values(w, target, "state", at) == [before.state]
    assert values(w, target, "status", at) == [before.status]
    assert messages(w, at) == []  # not answered either
    assert holders(w) == [(A,)]
    assert w.violations == []


def test_stale_reply_while_a_nomination_is_pending():
    # A restarts and nominates itself; B's announcement makes A standby, and B's veto is lost in
    # a cut. A reply with another id must not be taken for the answer: accepted, this assigment
    # would make A promote while B is active.
    w = started_pair()
    w.kill(A)
    w.run_for(1.0)
    restart = w.now
    w.restart(A)
    w.run_until(restart + 2.5 * LATENCY)  # A's nomination is on the wire, B's veto not yet
    w.cut()
    w.run_for(LATENCY)
    assert w.state(A) == "standby" and w.node(A).election.pending == ("1", A)
    at = w.now
    w.at(at, f"node:{A}", PeerMessage(w.link[0], ElectionMessage("999", Assigment(A, B))))
    w.run_for(TIMERS.dead_time / 2)  # well before the cut is noticed
    assert any("'999'" in a.text for _, a in logs(w, A, at, "warning"))
    assert values(w, A, "state", at) == ["standby"]
    assert w.node(A).election.pending == ("1", A)  # still waiting for the real answer
    assert set_roles_sent(w, A, Role.active, restart) == []
    assert w.violations == []


def test_optional_component_failure_only_degrades():
    w = started_pair(components=(ComponentSpec("1", "db", order=10), ComponentSpec("2", "log", order=20, required=False)))
    fault = w.now
    w.components[A]["2"].behaviour.status = ComponentStatus.failed
    w.run_for(3 * TIMERS.handover_after)
    assert (w.state(A), w.status(A)) == ("active", "degraded")
    assert w.node(A).election.health is True  # required components only
    assert w.node(B).election.peer_health is True
    assert messages(w, fault) == []  # no hand-over
    w.components[A]["2"].behaviour.status = ComponentStatus.ok
    w.run_for(1.0)
    assert values(w, A, "status", fault) == ["active", "degraded", "active"]
    assert holders(w) == [(A,)]
    assert w.violations == []


def test_graceful_shutdown_of_the_active():
    w = started_pair()
    stop = w.now
    w.shutdown(A)
    w.run_for(2.0)
    sent = message_times(w, stop)
    assert [s for _, s in sent] == [(A, "nomination", "2", B), (B, "assigment", "2", B, A)]
    # Demotes first: its component confirmed standby before the nomination left.
    assert answered(w, A, "1", Role.standby, stop)[0] < sent[0][0]
    assert values(w, A, "status", stop) == ["stopping", None]  # at once, and throughout
    stopped = w.actions(A, Stopped)
    assert len(stopped) == 1 and stopped[0][0] > sent[1][0]
    assert w.agents[A] is None
    assert (w.state(B), w.status(B)) == ("active", "active")
    assert w.active_components(B) == ["1"] and w.active_components(A) == []
    assert holders(w, stop) == [(A,), (B,)]
    assert w.violations == []


def test_hand_over_crossing_the_restarted_peers_nomination():
    # B is active and degraded (its promotion failed) while A is dead. A restarts so that B's
    # hand-over timer fires after B learned A is healthy (A's heartbeat, 2 ms after the restart)
    # and before A's nomination arrives (3 ms after): B demotes, holding A's nomination, then
    # nominates A (hand-over) and answers the held nomination. handover_after is 0.5 s so that the
    # timer does not coincide with the 1 s retry of the failed SetRole (see the next test).
    w = started_pair(timers=Timers(handover_after=0.5))
    fail_promotion(w, B, "failure")
    w.kill(A)
    w.run_until_true(lambda: w.status(B) == "degraded")
    e = w.node(B).election
    handover = max(e.unhealthy_since, e.active_since) + 0.5
    w.run_until(handover - 2.5 * LATENCY)
    w.restart(A)
    w.run_for(2.0)
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert w.violations == []
    assert w.active_components(A) == ["1"]
    assert w.violations == []


def test_new_role_is_sent_once_the_outstanding_answer_is_in():
    w = started_pair()
    fail_promotion(w, B, "failure")
    w.components[B]["1"].behaviour.answer_delay = 0.3
    w.kill(A)  # B promotes; its component answers failure at ~1.3 s and is retried at ~2.3 s
    w.run_until(2.35)
    assert w.node(B).roles.components["1"].outstanding is not None  # the retry is in flight
    w.restart(A)  # B, unhealthy, demotes to hand over (rule 2) while the retry is outstanding
    w.run_for(4.0)
    retry_answer = answered(w, B, "1", Role.active, 2.3)[0]
    standby_sent = set_roles_sent(w, B, Role.standby, 2.3)
    assert standby_sent and standby_sent[0][0] == pytest.approx(retry_answer + LATENCY, abs=EPS)
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert w.violations == []


# =============================================================================================
# Moving the role by hand (SPEC 7: switchover, maintenance)
# =============================================================================================


def control(w: Sim, name: str, event) -> None:
    w.at(w.now, f"node:{name}", event)


def test_switchover_demotes_first_then_the_peer_promotes():
    w = started_pair()
    start = w.now
    assert w.node(A).switchover_refusal() is None
    control(w, A, Switchover())
    w.run_for(0.001)
    assert w.node(A).switchover_outcome() == "running"  # demoting first
    w.run_for(2.0)
    assert w.node(A).switchover_outcome() == "done"
    sent = message_times(w, start)
    assert [s for _, s in sent] == [(A, "nomination", "2", B), (B, "assigment", "2", B, A)]
    assert answered(w, A, "1", Role.standby, start)[0] < sent[0][0]  # demoted before nominating
    assert (w.state(A), w.state(B)) == ("standby", "active")
    assert (w.status(A), w.status(B)) == ("standby", "active")
    assert holders(w, start) == [(A,), (B,)]  # one change of the active node, no overlap
    assert w.violations == []
    # And no way back by itself: the pair stays as it is.
    w.run_for(5.0)
    assert (w.state(A), w.state(B)) == ("standby", "active")


def test_switchover_to_a_peer_in_maintenance_is_refused_and_the_role_comes_back():
    w = started_pair()
    control(w, B, SetMaintenance(True))
    w.run_for(0.1)
    assert w.node(A).switchover_refusal() is None  # only the peer knows: it vetoes
    control(w, A, Switchover())
    w.run_for(2.0)
    assert w.node(A).switchover_outcome() == "refused"
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert w.violations == []


def test_switchover_interrupted_by_a_shutdown():
    w = started_pair()
    node = w.node(A)
    control(w, A, Switchover())
    w.run_for(0.001)
    control(w, A, Shutdown())  # the operator stops the agent meanwhile
    w.run_for(2.0)
    assert node.state == "stopped" and node.switchover_outcome() == "interrupted"
    assert w.state(B) == "active" and w.violations == []


@pytest.mark.parametrize("setup, reason", [
    ("standby", "not active; run switchover on the active node"),
    ("maintenance", "in maintenance"),
    ("peer down", "peer link to beta is down"),
    ("peer unhealthy", "peer beta is not healthy"),
    ("stopping", "shutting down"),
])
def test_switchover_refused_with_the_reason(setup, reason):
    w = started_pair()
    target = B if setup == "standby" else A
    if setup == "maintenance":
        control(w, A, SetMaintenance(True))
    elif setup == "peer down":
        w.kill(B)
    elif setup == "peer unhealthy":
        w.components[B]["1"].behaviour.status = ComponentStatus.failed
    elif setup == "stopping":
        w.node(A).election.stopping = True  # the instant a shutdown began
    w.run_for(0.5)
    refusal = w.node(target).switchover_refusal()
    assert refusal is not None and reason in refusal
    start = w.now
    control(w, target, Switchover())
    w.run_for(0.5)
    assert any("switchover refused" in a.text and reason in a.text for _, a in logs(w, target, start, "warning"))
    assert [s for _, s in message_times(w, start) if s[1] == "nomination"] == []
    assert w.violations == []


def test_maintenance_standby_does_not_take_over_until_it_ends():
    w = started_pair()
    control(w, B, SetMaintenance(True))
    w.run_for(0.1)
    w.kill(A)
    w.run_for(3.0)
    assert w.state(B) == "standby" and w.active_components(B) == []
    assert any("not taking over" in a.text for _, a in logs(w, B, level="warning"))
    off = w.now
    control(w, B, SetMaintenance(False))
    w.run_for(1.0)
    assert entered_at(w, B, "state", "promoting", off) == pytest.approx(off, abs=EPS)
    assert (w.state(B), w.active_components(B)) == ("active", ["1"])


def test_maintenance_active_does_not_hand_over_when_unhealthy():
    w = started_pair()
    control(w, A, SetMaintenance(True))
    w.run_for(0.1)
    fault = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(3 * TIMERS.handover_after)
    assert values(w, A, "state", fault) == ["active"]
    assert messages(w, fault) == []
    # Maintenance off: the hand-over it held back happens at once.
    off = w.now
    control(w, A, SetMaintenance(False))
    w.run_for(2.0)
    assert entered_at(w, A, "state", "demoting", off) == pytest.approx(off, abs=0.11)
    assert (w.state(A), w.state(B)) == ("standby", "active")
    assert w.violations == []


def test_maintenance_vetoes_nominations_that_move_its_role():
    # A is unhealthy and wants to hand over; B, in maintenance, vetoes it and A keeps the role.
    w = started_pair()
    control(w, B, SetMaintenance(True))
    w.run_for(0.1)
    fault = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(3.0)
    sent = [s for _, s in message_times(w, fault)]
    assert (A, "nomination", "2", B) in sent and (B, "veto", "2", A, B) in sent
    assert w.state(B) == "standby" and w.active_components(B) == []
    assert w.violations == []


def test_maintenance_active_vetoes_a_nomination_of_its_peer_even_when_unhealthy():
    w = started_pair()
    node = w.node(A)
    node.handle(SetMaintenance(True), w.now)
    node.election.health = False
    node.election.peer_health = True
    actions = node.election._nomination("7", B, w.now)
    assert [describe(a.msg) for a in actions if hasattr(a, "msg")] == [("veto", "7", A, B)]
    assert node.state == "active"


def test_maintenance_keeps_an_unassigned_node_from_promoting_itself():
    w = Sim()
    w.kill(B)
    control(w, A, SetMaintenance(True))
    w.run_for(TIMERS.startup_grace + 1.0)
    assert w.state(A) == "unassigned"
    off = w.now
    control(w, A, SetMaintenance(False))
    w.run_for(0.5)
    assert entered_at(w, A, "state", "promoting", off) == pytest.approx(off, abs=EPS)


def test_maintenance_toggle_is_idempotent_and_logged():
    w = started_pair()
    node = w.node(A)
    assert node.handle(SetMaintenance(False), w.now) == []  # already off
    on = node.handle(SetMaintenance(True), w.now)
    assert any(type(a) is Log and "maintenance on" in a.text for a in on)
    assert node.handle(SetMaintenance(True), w.now) == []
    assert node.election.maintenance is True


def test_refused_hand_overs_back_off_instead_of_flapping():
    # B in maintenance vetoes every hand-over of an unhealthy A: A must not demote and promote
    # again every handover_after, but after 1, 2, 4, 8 ... times handover_after.
    w = started_pair()
    control(w, B, SetMaintenance(True))
    w.run_for(0.1)
    fault = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(16.0)
    demotions = [t for t, v in history(w, A, "state", fault) if v == "demoting"]
    gaps = [b - a for a, b in zip(demotions, demotions[1:])]
    assert len(demotions) == 4, demotions  # ~1 s, ~3 s, ~7 s, ~15 s after the fault: not 16 of them
    assert all(later > 1.8 * earlier for earlier, later in zip(gaps, gaps[1:])), gaps
    assert w.state(A) in ("active", "promoting", "demoting") and w.active_components(B) == []
    # Healthy again, then a new fault: the first hand-over comes after handover_after again.
    w.components[A]["1"].behaviour.status = ComponentStatus.ok
    w.run_for(2.0)
    control(w, B, SetMaintenance(False))
    w.run_for(0.1)
    second = w.now
    w.components[A]["1"].behaviour.status = ComponentStatus.failed
    w.run_for(3.0)
    t_degraded = entered_at(w, A, "status", "degraded", second)
    assert entered_at(w, A, "state", "demoting", second) == pytest.approx(t_degraded + TIMERS.handover_after, abs=EPS)
    assert w.state(B) == "active"
    assert w.violations == []


# =============================================================================================
# Fencing (an optional fence command before a take-over without the peer's word)
# =============================================================================================


def test_fence_runs_before_the_standby_takes_over():
    w = started_pair(fence=True)
    kill = w.now
    w.kill(A)
    w.run_for(1.0)
    assert [n for _, n in w.fence_runs] == [B]
    fenced_at = w.fence_runs[0][0]
    t_promoting = entered_at(w, B, "state", "promoting", kill)
    assert t_promoting == pytest.approx(fenced_at + w.fence_delay, abs=EPS)  # only once the fence succeeded
    assert w.state(B) == "active" and w.active_components(B) == ["1"]
    assert w.violations == []


def test_failed_fence_keeps_the_standby_standby_and_is_retried():
    w = started_pair(fence=True)
    w.fence_answer[B] = False
    w.kill(A)
    w.run_for(2.0)
    assert w.state(B) == "standby" and w.active_components(B) == []
    runs = [t for t, n in w.fence_runs if n == B]
    assert len(runs) >= 3
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    assert all(g == pytest.approx(w.fence_delay + TIMERS.dead_time, abs=EPS) for g in gaps), gaps
    assert any("the fence command failed: not taking the role" in a.text for _, a in logs(w, B, level="error"))
    w.fence_answer[B] = True  # the fence works again: B takes over at its next try
    w.run_for(1.0)
    assert w.state(B) == "active"


def test_a_peer_back_during_the_fence_cancels_the_take_over():
    w = started_pair(fence=True)
    w.fence_delay = 2.0  # a slow fence (a power switch that answers slowly)
    w.kill(A)
    w.run_for(0.5)
    assert [n for _, n in w.fence_runs] == [B]
    w.restart(A)  # back before the fence answered
    w.run_for(3.0)
    assert any(f"{A} is back: not taking the role" in a.text for _, a in logs(w, B))
    # The restarted A was elected over the live link; B never took the role.
    assert (w.state(A), w.state(B)) == ("active", "standby")
    assert "promoting" not in values(w, B, "state", 0.0)[1:]
    assert w.violations == []


def test_fence_before_self_promotion_at_startup():
    w = Sim(fence=True, start=False)
    w.start(A)
    w.run_for(TIMERS.startup_grace + 0.5)
    assert [n for _, n in w.fence_runs] == [A]
    assert w.state(A) == "active"


def test_fence_is_needed_again_after_the_peer_came_back():
    w = started_pair(fence=True)
    w.kill(A)
    w.run_for(1.0)
    w.restart(A)
    w.run_for(2.0)
    assert (w.state(A), w.state(B)) == ("standby", "active")
    w.kill(B)
    w.run_for(1.0)
    assert [n for _, n in w.fence_runs] == [B, A]
    assert w.state(A) == "active"

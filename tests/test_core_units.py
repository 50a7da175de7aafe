"""Unit tests of each sans-IO core class, driven by hand with an explicit ``now``.

Every test asserts the exact actions, messages, states and deadlines a call
returns. The pair simulation (``tests/pair.py``) is only used where a bug is
easiest to show end to end. Names: the node under test is ``alpha`` (sorts
first) unless a test says otherwise; its peer is ``beta``. Default timers:
heartbeat 0.1 s, dead_after 3 (dead_time 0.3 s, freeze_time 0.2 s),
startup_grace 2 s, handover_after 1 s.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanode.codec import (
    Assigment,
    BillOfHealth,
    ComponentStatus,
    ElectionError,
    ElectionMessage,
    GetStatus,
    GetStatusResponse,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    NominationMessage,
    ReturnCode,
    Role,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    StatusIndication,
    Veto,
)
from hanode.core import (
    ClientConnected,
    ClientDisconnected,
    ClientMessage,
    CloseClient,
    CloseComponent,
    ClosePeer,
    CommandFinished,
    CommandsFenced,
    ComponentConnected,
    ComponentDisconnected,
    ComponentMessage,
    ComponentMessages,
    ComponentSpec,
    Log,
    Node,
    NodeSpec,
    PeerConnected,
    PeerDisconnected,
    PeerMessage,
    PeerRefused,
    RunCommand,
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
    ProbeWitness,
)
from hanode.core.election import ELECTION_TABLE, Election
from hanode.core.monitor import HEALTH_TABLE, Availability, Monitor
from hanode.core.role import NotStandby, BACKOFF_MAX, ROLE_TABLE, AssignRole, RoleManager
from hanode.core.status import STATUS_TABLE, TOKENS, StatusService, token
from hanode.core.table import LocalProtocolError, Transition, TransitionTable

A, B = "alpha", "beta"
OK = BillOfHealth(ComponentStatus.ok)
FAILED = BillOfHealth(ComponentStatus.failed)


# -- helpers ------------------------------------------------------------------------------
def beat(ok: bool = True, seq: str = "1", cid: str = "") -> HealthMonitorMessage:
    return HealthMonitorMessage(seq, cid, HeartBeat(OK if ok else FAILED))


def nom(corr: str, nominee: str) -> ElectionMessage:
    return ElectionMessage(corr, NominationMessage(nominee))


def reply(corr: str, body) -> ElectionMessage:
    return ElectionMessage(corr, body)


def announce(active: str = B, standby: str = A) -> ElectionMessage:
    return ElectionMessage("", Assigment(active, standby))


def sent(actions) -> list:
    """The messages of the SendPeer actions."""
    return [a.msg for a in actions if type(a) is SendPeer]


def texts(actions, level: str | None = None) -> list[str]:
    return [a.text for a in actions if type(a) is Log and (level is None or a.level == level)]


def no_logs(actions) -> list:
    return [a for a in actions if type(a) is not Log]


def espec(name: str = A, peer: str = B, **kw) -> NodeSpec:
    return NodeSpec(name, peer, **kw)


def link_up(e: Election, now: float, link: int = 1, peer_healthy: bool = True) -> list:
    """Open ``link`` and receive the peer's first heartbeat on it."""
    return e.peer_connected(link, now) + e.peer_message(link, beat(peer_healthy), now)


def live(e: Election, until: float, link: int = 1, peer_healthy: bool = True) -> list:
    """Run ``e``'s loop every 0.1 s up to ``until``: the peer heartbeats on
    ``link`` before each tick. Returns the actions of the last step."""
    actions: list = []
    t = e.last_now
    while t < until - 1e-9:
        t = round(min(t + 0.1, until), 10)
        assert e.check_freeze(t) == ([], False)
        actions = e.peer_message(link, beat(peer_healthy, f"p{t}"), t) + e.tick(t)
    return actions


def standby(now: float = 0.0, **kw) -> Election:
    """alpha, standby behind an announcing beta, healthy, link 1 up."""
    e = Election(espec(**kw), now)
    e.set_health(True, now)
    link_up(e, now)
    e.peer_message(1, announce(), now)
    assert e.state == "standby" and e.pending == ("1", A)
    e.peer_message(1, reply("1", Veto(B, A)), now)  # beta answers our nomination: no pre-emption
    assert e.pending is None
    return e


def active(now: float = 0.0, name: str = A, peer: str = B, peer_healthy: bool = True, **kw) -> Election:
    """``name`` made active by the peer's answer to its nomination, link 1 up."""
    e = Election(espec(name, peer, preferred=name, **kw), now)
    e.set_health(True, now)
    link_up(e, now, peer_healthy=peer_healthy)
    assert e.pending == ("1", name)
    e.peer_message(1, reply("1", Assigment(name, peer)), now)
    assert e.state == "promoting"
    e.role_settled(now, True)
    assert e.state == "active"
    return e


# ==========================================================================================
# TransitionTable
# ==========================================================================================
class TestTransitionTable:
    def table(self) -> TransitionTable:
        return TransitionTable(
            "t", ("a", "b", "c"),
            [Transition("a", "go", "b", "note"), Transition("b", "go", "c"), Transition("c", "loop", "c")],
            initial="a",
        )

    def test_get_allows_and_move(self):
        t = self.table()
        assert t.get("a", "go") == Transition("a", "go", "b", "note")
        assert t.allows("b", "go") and not t.allows("a", "loop")
        assert t.move("b", "c") == Transition("b", "go", "c")
        assert t.move("c", "c") == Transition("c", "loop", "c")

    def test_get_raises_local_protocol_error(self):
        with pytest.raises(LocalProtocolError, match=r"t: 'loop' is not allowed in state 'a'"):
            self.table().get("a", "loop")

    def test_move_raises_when_no_transition_is_drawn(self):
        with pytest.raises(LocalProtocolError, match=r"t: no transition from 'a' to 'c'"):
            self.table().move("a", "c")

    def test_unknown_source_or_target_state(self):
        with pytest.raises(ValueError, match="names an unknown state"):
            TransitionTable("t", ("a",), [Transition("x", "go", "a")], initial="a")
        with pytest.raises(ValueError, match="names an unknown state"):
            TransitionTable("t", ("a",), [Transition("a", "go", "x")], initial="a")

    def test_duplicate_transition(self):
        with pytest.raises(ValueError, match=r"two transitions for \(a, go\)"):
            TransitionTable("t", ("a", "b"), [Transition("a", "go", "b"), Transition("a", "go", "a")], initial="a")

    def test_mermaid(self):
        assert self.table().mermaid() == (
            "stateDiagram-v2\n    [*] --> a\n    a --> b: go / note\n    b --> c: go\n    c --> c: loop"
        )

    @pytest.mark.parametrize("table", [ELECTION_TABLE, ROLE_TABLE, HEALTH_TABLE, STATUS_TABLE], ids=lambda t: t.name)
    def test_real_tables_are_well_formed(self, table):
        assert table.initial in table.states
        used = {t.source for t in table.transitions} | {t.target for t in table.transitions}
        assert used == set(table.states)  # no state is drawn without a way in or out

    def test_local_protocol_error_is_an_exception(self):
        assert issubclass(LocalProtocolError, Exception)


# ==========================================================================================
# settings
# ==========================================================================================
def test_timers_and_spec_properties():
    t = Timers(heartbeat_interval=0.5, dead_after=4)
    assert t.dead_time == 2.0 and t.freeze_time == 1.5
    assert espec().preferred_node == A
    assert espec(B, A).preferred_node == A
    assert espec(preferred=B).preferred_node == B


# ==========================================================================================
# status
# ==========================================================================================
class TestToken:
    @pytest.mark.parametrize(
        "state, healthy, any_failed, isolated, stopping, expected",
        [
            ("active", True, False, False, True, "stopping"),
            ("unassigned", True, False, True, True, "stopping"),
            ("unassigned", False, False, False, False, "electing"),
            ("unassigned", False, False, True, False, "isolated"),
            ("standby", True, True, False, False, "standby"),
            ("standby", False, False, False, False, "failed"),
            ("active", True, False, False, False, "active"),
            ("active", True, True, False, False, "degraded"),
            ("active", False, False, False, False, "degraded"),
            ("promoting", False, True, False, False, "promoting"),
            ("demoting", True, False, True, False, "demoting"),
        ],
    )
    def test_token(self, state, healthy, any_failed, isolated, stopping, expected):
        assert token(state, healthy, any_failed, isolated, stopping) == expected
        assert expected in TOKENS


class TestStatusService:
    def test_update_tells_every_client_in_order(self):
        s = StatusService()
        assert s.status == "electing"
        assert s.connected(7) == [] and s.connected(8) == []
        actions = s.update("standby")
        ind = ServiceStatusMessage("", StatusIndication("standby"))
        assert actions[:2] == [StatusChanged("electing", "standby"), Log("info", "status", "status electing -> standby")]
        assert sorted(actions[2:], key=lambda a: a.client) == [SendClient(7, ind), SendClient(8, ind)]
        assert s.status == "standby"

    def test_update_to_the_same_token_is_silent(self):
        s = StatusService()
        s.connected(1)
        assert s.update("electing") == []

    def test_undrawn_change_raises(self):
        s = StatusService()
        with pytest.raises(LocalProtocolError, match="no transition from 'electing' to 'active'"):
            s.update("active")
        assert s.status == "electing"

    def test_get_status(self):
        s = StatusService()
        s.connected(3)
        assert s.message(3, ServiceStatusMessage("42", GetStatus())) == [
            SendClient(3, ServiceStatusMessage("42", GetStatusResponse("electing")))
        ]

    def test_a_client_that_sends_anything_else_is_closed(self):
        s = StatusService()
        s.connected(3)
        reason = "clients may only send getStatus, got StatusIndication"
        assert s.message(3, ServiceStatusMessage("", StatusIndication("active"))) == [
            CloseClient(3, reason), Log("warning", "client", f"closed status client 3: {reason}"),
        ]
        assert s.clients == set()
        assert s.update("standby") == [StatusChanged("electing", "standby"), Log("info", "status", "status electing -> standby")]

    def test_late_data_and_disconnect(self):
        s = StatusService()
        assert s.message(9, ServiceStatusMessage("1", GetStatus())) == []
        s.connected(9)
        assert s.disconnected(9) == [] and s.disconnected(9) == []
        assert s.message(9, ServiceStatusMessage("1", GetStatus())) == []


# ==========================================================================================
# Election
# ==========================================================================================
class TestElectionBasics:
    def test_initial_state(self):
        e = Election(espec(), 5.0)
        assert (e.state, e.health, e.peer_health, e.witness_ok) == ("unassigned", None, None, True)
        assert e.wanted_role == Role.standby
        assert not e.isolated
        assert e.deadline() == pytest.approx(5.1)
        assert Election(espec(witness=True), 0.0).witness_ok is None

    def test_since_and_activations_start_with_the_node(self):
        e = Election(espec(), 5.0)
        assert (e.since, e.activations) == (5.0, 0)
        e = active(1.0)  # unassigned -> promoting -> active, all at 1.0
        assert (e.since, e.activations) == (1.0, 1)

    def test_isolated_needs_witness_known_unreachable_and_no_peer(self):
        e = Election(espec(witness=True), 0.0)
        assert not e.isolated  # not probed yet
        e.set_witness(False, 0.0)
        assert e.isolated
        link_up(e, 0.0)
        assert not e.isolated

    def test_wanted_role_follows_the_state(self):
        e = active()
        assert e.wanted_role == Role.active
        e.state = "promoting"
        assert e.wanted_role == Role.active
        for s in ("unassigned", "standby", "demoting", "stopped"):
            e.state = s
            assert e.wanted_role == Role.standby

    def test_heartbeat_sequence_and_correlation_wrap(self):
        e = Election(espec(), 0.0)
        e._beat_seq.value = 10**16 - 1
        e._corr.value = 10**16 - 1
        assert e._heartbeat() == HealthMonitorMessage("1", "", HeartBeat(FAILED))  # health unknown: failed
        assert e._corr.next() == "1"


class TestElectionDeadline:
    def test_startup_grace_is_a_deadline_until_it_has_passed(self):
        e = Election(espec(timers=Timers(startup_grace=0.25, dead_after=10)), 0.0)
        e.check_freeze(0.1)
        e.tick(0.1)
        e.check_freeze(0.2)
        e.tick(0.2)
        assert e.deadline() == pytest.approx(0.25)
        assert e.check_freeze(0.25) == ([], False)
        e.witness_ok = False  # (keeps it from promoting: the grace has ended)
        assert e.deadline() == pytest.approx(0.3)  # grace_end == last_now: no longer a deadline

    def test_peer_silence_and_unconfirmed_link_are_deadlines(self):
        timers = Timers(heartbeat_interval=1.0, dead_after=2)
        e = Election(espec(timers=timers), 0.0)
        e.tick(1.0)  # next beat at 2.0
        e.peer_connected(1, 0.5)
        assert e.deadline() == pytest.approx(2.0)  # link opened at 0.5: dead at 2.5
        e.check_freeze(0.5)
        e.peer_message(1, beat(), -0.25)  # a first PDU (its time decides the peer's deadline)
        assert e.deadline() == pytest.approx(1.75)

    def test_handover_time_is_a_deadline(self):
        e = active(0.0)
        e.peer_message(1, beat(True), 0.0)
        e.set_health(False, 0.05)
        for i in range(1, 11):  # a live loop: the peer heartbeats, we tick every 0.1 s
            now = i / 10
            assert e.check_freeze(now) == ([], False)
            e.peer_message(1, beat(True, str(i)), now)
            e.tick(now)
        assert e.state == "active" and e.next_beat == pytest.approx(1.1)
        assert e.deadline() == pytest.approx(1.05)
        e.check_freeze(1.06)  # past the hand-over time: no longer a future deadline
        assert e.deadline() == pytest.approx(1.1)

    def test_handover_time_conditions(self):
        e = active(0.0)
        e.peer_message(1, beat(True), 0.0)
        e.set_health(False, 0.5)
        assert e._handover_time() == pytest.approx(1.5)
        e.active_since = 0.8
        assert e._handover_time() == pytest.approx(1.8)
        e.peer_health = False
        assert e._handover_time() is None
        e.peer_health = True
        e.stopping = True
        assert e._handover_time() is None
        e.stopping = False
        e.unhealthy_since = None
        assert e._handover_time() is None


class TestElectionFreeze:
    def test_no_freeze_within_freeze_time(self):
        e = Election(espec(), 0.0)
        assert e.check_freeze(0.2) == ([], False)
        assert e.last_now == 0.2

    def test_active_freezes_demotes_and_rejoins_nominating_itself(self):
        e = active(0.0)
        actions, frozen = e.check_freeze(0.5)
        assert frozen
        assert actions == [
            Log("warning", "election", "our loop stalled for 0.500 s (> 0.2 s): rejoining"),
            ClosePeer(1, "we were frozen; rejoining through a new link"),
            Log("info", "election", "active -> demoting (freeze)"),
        ]
        assert (e.state, e.then, e.active_at_freeze, e.peer_alive, e.peer_health, e.last_rx) == ("demoting", "rejoin", A, False, None, None)
        assert e.role_settled(0.6, True) == [Log("info", "election", "demoting -> unassigned (demoted, rejoining)")]
        assert e.started == 0.6
        # On the new link it nominates the node that was active when it froze: itself.
        e.peer_connected(2, 0.7)
        acts = e.peer_message(2, beat(), 0.7)
        assert sent(acts) == [nom("2", A)]

    def test_standby_freeze_records_the_peer_as_active(self):
        e = standby(0.0)
        actions, frozen = e.check_freeze(1.0)
        assert frozen and e.state == "unassigned" and e.active_at_freeze == B and e.started == 1.0
        assert no_logs(actions) == [ClosePeer(1, "we were frozen; rejoining through a new link")]
        assert texts(actions)[-1] == "standby -> unassigned (freeze)"
        link_up(e, 1.0, link=2)
        e.set_health(False, 1.0)
        e.set_health(True, 1.0)  # health stays known; opening sent already
        assert e.own_nominee == B

    def test_unassigned_freeze_keeps_active_at_freeze(self):
        e = Election(espec(), 0.0)
        e.active_at_freeze = B
        actions, frozen = e.check_freeze(3.0)
        assert frozen and actions == [Log("warning", "election", "our loop stalled for 3.000 s (> 0.2 s): rejoining")]
        assert e.active_at_freeze == B and e.started == 3.0

    def test_freeze_while_demoting_to_stop_keeps_stopping(self):
        e = active(0.0, peer_healthy=False)
        e.shutdown(0.0)  # unhealthy peer: no hand-over
        assert (e.state, e.then) == ("demoting", "stop")
        actions, frozen = e.check_freeze(1.0)
        assert frozen and e.then == "stop"
        assert texts(actions) == ["our loop stalled for 1.000 s (> 0.2 s): rejoining"]  # demoting -> demoting
        assert e.role_settled(1.0, True)[-1] == Stopped()
        assert e.state == "stopped"

    def test_stopped_node_never_freezes(self):
        e = Election(espec(), 0.0)
        e.state = "stopped"
        assert e.check_freeze(100.0) == ([], False)


class TestElectionLink:
    def test_connect_sends_a_heartbeat_first(self):
        e = Election(espec(), 0.0)
        assert e.peer_connected(4, 0.0) == [SendPeer(4, beat(False, "1"))]
        assert (e.link, e.link_up, e.opening_sent) == (4, False, False)

    def test_a_new_connection_replaces_the_current_one(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_connected(2, 0.0) == [ClosePeer(1, "replaced by a new connection"), SendPeer(2, beat(False, "2"))]
        assert e.peer_connected(2, 0.0) == [SendPeer(2, beat(False, "3"))]  # the same connection again

    def test_first_pdu_makes_the_link(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_message(1, beat(True), 0.01) == [
            Log("info", "peer", "peer link up with beta"),
            Log("info", "peer", "peer beta is healthy"),
        ]
        assert e.link_up and e.peer_alive and e.last_rx == 0.01 and e.peer_health is True
        assert e.peer_message(1, beat(True, "2"), 0.02) == []
        assert e.peer_message(1, beat(False, "3"), 0.03) == [Log("info", "peer", "peer beta is unhealthy")]

    def test_pdus_from_another_connection_or_when_stopped_are_ignored(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_message(2, beat(), 0.0) == []
        assert not e.link_up
        e.state = "stopped"
        assert e.peer_message(1, beat(), 0.0) == []

    def test_peer_health_query_is_answered_with_our_health(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        q = HealthMonitorMessage("77", "", HealthQuery())
        assert e.peer_message(1, q, 0.1) == [SendPeer(1, HealthMonitorMessage("77", "", HealthQueryResponse(OK)))]
        # A HealthQueryResponse carries the peer's health like a heartbeat.
        assert e.peer_message(1, HealthMonitorMessage("5", "", HealthQueryResponse(FAILED)), 0.1) == [
            Log("info", "peer", "peer beta is unhealthy")
        ]

    def test_monitor_pdu_with_a_component_id_is_ignored(self):
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, beat(cid="3"), 0.1) == [
            Log("warning", "peer", "ignored a monitor PDU with componentId '3' on the peer link")
        ]

    def test_disconnect_of_another_connection_is_ignored(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_disconnected(2, 0.0) == []
        assert e.link == 1

    def test_disconnect_before_the_link_came_up_is_silent(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_disconnected(1, 0.0) == []
        assert e.link is None

    def test_disconnect_drops_our_pending_opening_nomination(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.pending == ("1", A)
        assert e.peer_disconnected(1, 0.1) == [Log("warning", "peer", "peer link closed")]
        assert e.pending is None and e.state == "unassigned"
        # A late answer to it is stale.
        assert e.peer_message(1, reply("1", Assigment(A, B)), 0.1) == []  # from a closed link: dropped

    def test_disconnect_is_not_peer_loss(self):
        e = standby(0.0)
        assert e.peer_disconnected(1, 0.1) == [Log("warning", "peer", "peer link closed")]
        assert (e.state, e.link, e.link_up, e.peer_alive) == ("standby", None, False, True)
        assert e.tick(0.1) == []  # no link: no heartbeat
        # nothing received for dead_after intervals: lost
        actions = e.tick(0.3)
        assert texts(actions) == ["peer beta lost: nothing received for 0.300 s", "standby -> promoting (peer lost)"]
        assert e.state == "promoting"

    def test_refused_dial_loses_the_peer_at_once(self):
        e = standby(0.0)
        assert e.peer_refused(0.05) == [
            Log("warning", "peer", "peer beta lost: its address refused our connection"),
            ClosePeer(1, "peer lost: its address refused our connection"),
            Log("info", "election", "standby -> promoting (peer lost)"),
        ]
        assert e.peer_refused(0.06) == []  # already lost

    def test_silent_new_connection_is_dropped(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.tick(0.1) == [SendPeer(1, beat(False, "2"))]
        assert e.tick(0.3) == [SendPeer(1, beat(False, "3")), ClosePeer(1, "no PDU arrived on the new connection")]
        assert e.link is None

    def test_heartbeats_never_burst_after_a_stall(self):
        e = Election(espec(), 0.0)
        e.tick(0.05)
        assert e.next_beat == pytest.approx(0.1)
        e.tick(0.1)
        assert e.next_beat == pytest.approx(0.2)
        e.tick(0.75)
        assert e.next_beat == pytest.approx(0.85)


class TestElectionOpenings:
    def test_unassigned_nominates_the_preferred_node_once_health_is_known(self):
        e = Election(espec(), 0.0)
        e.peer_connected(1, 0.0)
        assert e.peer_message(1, beat(), 0.0) == [Log("info", "peer", "peer link up with beta"), Log("info", "peer", "peer beta is healthy")]
        assert not e.opening_sent
        assert e.set_health(True, 0.1) == [
            SendPeer(1, beat(True, "2")),
            Log("info", "election", "nominating alpha"),
            SendPeer(1, nom("1", A)),
        ]
        assert e.pending == ("1", A) and not e.handing_over and e.own_nominee == A

    def test_unhealthy_preferred_node_nominates_its_peer(self):
        e = Election(espec(), 0.0)
        e.set_health(False, 0.0)
        actions = link_up(e, 0.0)
        assert sent(actions) == [beat(False, "1"), nom("1", B)]

    def test_unhealthy_non_preferred_node_still_nominates_the_preferred(self):
        e = Election(espec(B, A), 0.0)
        e.set_health(False, 0.0)
        assert sent(link_up(e, 0.0))[-1] == nom("1", A)

    def test_set_health_without_a_link_sends_nothing(self):
        e = Election(espec(), 0.0)
        assert e.set_health(True, 0.0) == []
        assert e.set_health(True, 0.0) == []
        assert e.set_health(False, 0.5) == [] and e.unhealthy_since == 0.5

    def test_active_and_promoting_announce(self):
        e = active()
        e.peer_disconnected(1, 0.1)
        e.peer_connected(2, 0.1)
        assert sent(e.peer_message(2, beat(), 0.1)) == [announce(A, B)]
        e.state = "promoting"
        e.peer_connected(3, 0.2)
        assert sent(e.peer_message(3, beat(), 0.2)) == [announce(A, B)]

    def test_standby_opening_is_nothing(self):
        e = standby()
        e.peer_disconnected(1, 0.1)
        e.peer_connected(2, 0.1)
        assert e.peer_message(2, beat(), 0.1) == [Log("info", "peer", "peer link up with beta")]
        assert e.opening_sent

    def test_demoting_opening_waits(self):
        e = active()
        e.peer_message(1, beat(False), 0.0)
        e.peer_message(1, announce(), 0.0)  # dual active, alpha sorts first: stays
        e.shutdown(0.1)
        assert e.state == "demoting"
        e.peer_connected(2, 0.1)
        assert e.peer_message(2, beat(), 0.1) == [Log("info", "peer", "peer link up with beta"), Log("info", "peer", "peer beta is healthy")]
        assert not e.opening_sent
        assert e._opening(0.1) == []


class TestElectionRules:
    # rule 1 ---------------------------------------------------------------------------------
    @pytest.mark.parametrize("state", ["unassigned", "standby", "promoting", "active", "demoting"])
    def test_unknown_nominee_gets_an_election_error(self, state):
        e = active() if state in ("active", "promoting", "demoting") else standby() if state == "standby" else Election(espec(), 0.0)
        if state == "unassigned":
            e.peer_connected(1, 0.0)
        e.state = state
        assert e.peer_message(1, nom("9", "gamma"), 0.1)[-1] == SendPeer(
            1, reply("9", ElectionError("unknown nominee 'gamma': this pair is alpha and beta"))
        )
        assert e.state == state

    # rule 2 ---------------------------------------------------------------------------------
    def test_active_agrees_to_its_own_nomination(self):
        e = active()
        assert e.peer_message(1, nom("5", A), 0.1) == [SendPeer(1, reply("5", Assigment(A, B)))]
        assert e.state == "active"

    def test_active_vetoes_the_peer_no_pre_emption(self):
        e = active()
        assert e.peer_message(1, nom("5", B), 0.1) == [SendPeer(1, reply("5", Veto(A, B)))]
        e.set_health(False, 0.1)
        e.peer_message(1, beat(False), 0.1)
        assert sent(e.peer_message(1, nom("6", B), 0.1)) == [reply("6", Veto(A, B))]  # peer not healthy either
        assert e.state == "active"

    def test_unhealthy_active_hands_over_demoting_first(self):
        e = active()
        e.set_health(False, 0.1)
        assert e.peer_message(1, nom("5", B), 0.2) == [Log("info", "election", "active -> demoting (nomination of peer, we unhealthy)")]
        assert e.held == [("5", B)] and e.then == "standby"
        # The answer leaves only once the components are standby.
        assert e.role_settled(0.3, True) == [
            Log("info", "election", "demoting -> standby (demoted)"),
            SendPeer(1, reply("5", Assigment(B, A))),
        ]
        assert e.state == "standby"

    def test_stopping_active_does_not_hand_over_by_rule_2(self):
        e = active()
        e.set_health(False, 0.1)
        e.shutdown(0.1)
        e.state = "active"  # as if still active while stopping
        assert sent(e.peer_message(1, nom("5", B), 0.2)) == [reply("5", Veto(A, B))]

    # rule 3 ---------------------------------------------------------------------------------
    def test_standby_agrees_to_the_peer(self):
        e = standby()
        assert e.peer_message(1, nom("3", B), 0.1) == [SendPeer(1, reply("3", Assigment(B, A)))]
        assert e.state == "standby"

    def test_healthy_standby_takes_a_hand_over(self):
        e = standby()
        assert e.peer_message(1, nom("3", A), 0.1) == [
            SendPeer(1, reply("3", Assigment(A, B))),
            Log("info", "election", "standby -> promoting (nomination of self, healthy)"),
        ]
        assert e.state == "promoting"

    def test_unhealthy_standby_vetoes_a_hand_over(self):
        e = standby()
        e.set_health(False, 0.1)
        assert e.peer_message(1, nom("3", A), 0.1) == [SendPeer(1, reply("3", Veto(B, A)))]
        assert e.state == "standby"

    # rule 4 ---------------------------------------------------------------------------------
    def test_demoting_holds_nominations_until_demoted(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.shutdown(0.1)  # healthy peer: hand over
        assert (e.state, e.then) == ("demoting", "nominate")
        assert e.peer_message(1, nom("8", B), 0.1) == []
        assert e.held == [("8", B)]
        actions = e.role_settled(0.2, True)
        assert actions == [
            Log("info", "election", "demoting -> standby (demoted)"),
            Log("info", "election", "nominating beta"),
            SendPeer(1, nom("2", B)),
            SendPeer(1, reply("8", Assigment(B, A))),
        ]
        assert e.pending == ("2", B) and e.handing_over

    # rule 5 ---------------------------------------------------------------------------------
    def test_unassigned_becomes_standby_on_an_announcement(self):
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, announce(), 0.0) == [Log("info", "election", "unassigned -> standby (announcement)")]
        assert e.opening_sent and e.state == "standby"

    def test_nomination_before_our_opening_is_held(self):
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, nom("4", A), 0.0) == []
        assert e.held == [("4", A)]
        # Health becomes known: our opening, then the held nomination is answered as crossing.
        actions = e.set_health(True, 0.1)
        assert sent(actions) == [beat(True, "2"), nom("1", A), reply("4", Assigment(A, B))]
        assert texts(actions)[-1] == "unassigned -> promoting (crossing nominations won)"
        assert e.crossed == ("1", A) and e.pending is None

    def test_crossing_nominations_lost(self):
        e = Election(espec(B, A), 0.0)  # beta: alpha sorts first
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.own_nominee == A
        actions = e.peer_message(1, nom("7", A), 0.0)
        assert actions == [SendPeer(1, reply("7", Assigment(A, B))), Log("info", "election", "unassigned -> standby (crossing nominations lost)")]
        # alpha's answer to our nomination agrees: nothing to do.
        assert e.peer_message(1, reply("1", Assigment(A, B)), 0.0) == []
        assert e.crossed is None

    def test_crossing_different_nominees_first_name_wins(self):
        e = Election(espec(B, A, preferred=B), 0.0)  # beta nominates itself
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        actions = e.peer_message(1, nom("7", A), 0.0)  # alpha nominated alpha
        assert sent(actions) == [reply("7", Assigment(A, B))]
        assert e.state == "standby"
        e2 = Election(espec(A, B, preferred=B), 0.0)  # alpha nominates beta; beta nominated alpha
        e2.set_health(True, 0.0)
        link_up(e2, 0.0)
        assert sent(e2.peer_message(1, nom("7", A), 0.0)) == [reply("7", Assigment(A, B))]
        assert e2.state == "promoting" and e2.crossed == ("1", A)
        # beta's answer disagrees: logged as an error.
        assert e2.peer_message(1, reply("1", Assigment(B, A)), 0.0) == [
            Log("error", "election", "the peer resolved crossing nominations differently: Assigment(active='beta', standby='alpha'), we chose alpha")
        ]
        e3 = Election(espec(A, B), 0.0)  # alpha nominates alpha; beta nominated beta: alpha wins
        e3.set_health(True, 0.0)
        link_up(e3, 0.0)
        assert sent(e3.peer_message(1, nom("7", B), 0.0)) == [reply("7", Veto(A, B))]
        assert e3.state == "promoting"
        assert e3.peer_message(1, reply("1", Veto(A, B)), 0.0) == []  # beta agrees

    def test_crossing_answered_with_an_error_is_logged(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        e.peer_message(1, nom("7", A), 0.0)
        assert texts(e.peer_message(1, reply("1", ElectionError("x")), 0.0), "error") == [
            "the peer resolved crossing nominations differently: ElectionError(description='x'), we chose alpha"
        ]

    def test_nomination_after_our_answered_with_error(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, reply("1", ElectionError("no")), 0.0) == [
            Log("error", "election", "peer could not process our nomination: no")
        ]
        assert e.state == "unassigned" and e.pending is None
        actions = e.peer_message(1, nom("2", B), 0.0)
        assert sent(actions) == [reply("2", Veto(A, B))]
        assert e.crossed is None and e.state == "promoting"

    def test_answers_to_our_nomination(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, reply("1", Veto(B, A)), 0.0) == [Log("info", "election", "unassigned -> standby (assigned standby)")]
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, reply("1", Assigment(A, B)), 0.0) == [Log("info", "election", "unassigned -> promoting (assigned active)")]
        assert e.active_at_freeze is None

    def test_stale_or_foreign_replies_are_ignored(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, reply("99", Assigment(A, B)), 0.0) == [
            Log("warning", "election", "ignored a reply to an unknown or stale request '99': Assigment(active='alpha', standby='beta')")
        ]
        assert e.peer_message(1, reply("1", Assigment(A, "gamma")), 0.0) == [
            Log("warning", "election", "ignored a reply that does not name this pair: Assigment(active='alpha', standby='gamma')")
        ]
        assert e.state == "unassigned" and e.pending is None

    def test_unsolicited_non_announcements_are_ignored(self):
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert e.peer_message(1, ElectionMessage("", Veto(B, A)), 0.0) == [
            Log("warning", "election", "ignored an unsolicited Veto that is not an announcement of beta: Veto(active='beta', standby='alpha')")
        ]
        assert texts(e.peer_message(1, announce(A, B), 0.0), "warning") == [
            "ignored an unsolicited Assigment that is not an announcement of beta: Assigment(active='alpha', standby='beta')"
        ]
        assert e.state == "unassigned"

    # rule 6 ---------------------------------------------------------------------------------
    def test_dual_active_first_name_stays(self):
        e = active()
        assert e.peer_message(1, announce(), 0.1) == [Log("warning", "election", "dual active: alpha sorts first and stays active")]
        assert e.state == "active"

    def test_dual_active_other_yields(self):
        e = active(name=B, peer=A)
        assert e.peer_message(1, announce(A, B), 0.1) == [
            Log("warning", "election", "dual active: alpha sorts first; yielding"),
            Log("info", "election", "active -> demoting (announcement, peer sorts first)"),
        ]
        assert e.then == "standby"
        assert e.role_settled(0.2, True) == [Log("info", "election", "demoting -> standby (demoted)")]
        assert e.opening_sent  # a standby says nothing

    def test_announcement_while_standby_or_demoting_changes_nothing(self):
        e = standby()
        assert e.peer_message(1, announce(), 0.1) == []
        e = active()
        e.shutdown(0.1)
        assert e.peer_message(1, announce(), 0.1) == []
        assert e.state == "demoting"


class TestElectionHandOver:
    def _unhealthy_active(self) -> Election:
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.set_health(False, 0.2)
        return e

    def _handing_over(self) -> Election:
        e = self._unhealthy_active()
        assert no_logs(live(e, 1.1)) == [SendPeer(1, beat(False, "12"))]
        assert e.state == "active"
        actions = live(e, 1.2)
        assert actions == [
            SendPeer(1, beat(False, "13")),
            Log("warning", "election", "unhealthy for 1.000 s with a healthy peer: handing over"),
            Log("info", "election", "active -> demoting (unhealthy for handover_after)"),
        ]
        assert e.then == "nominate"
        return e

    def _nominated(self) -> Election:
        e = self._handing_over()
        actions = e.role_settled(1.25, True)
        assert actions == [Log("info", "election", "demoting -> standby (demoted)"), Log("info", "election", "nominating beta"), SendPeer(1, nom("2", B))]
        assert e.pending == ("2", B) and e.handing_over
        return e

    def test_hand_over_accepted(self):
        e = self._nominated()
        assert e.peer_message(1, reply("2", Assigment(B, A)), 1.3) == []  # standby -> standby
        assert e.state == "standby" and e.pending is None

    def test_hand_over_done_by_the_peers_announcement(self):
        e = self._nominated()
        assert e.peer_message(1, announce(), 1.3) == []
        assert e.pending is None and not e.handing_over and e.state == "standby"

    def test_hand_over_vetoed_promotes_again(self):
        e = self._nominated()
        # "assigned active" from standby: the row drawn as "hand-over refused: promote again"
        assert e.peer_message(1, reply("2", Veto(A, B)), 1.3) == [Log("info", "election", "standby -> promoting (assigned active)")]

    def test_since_and_activations_count_each_time_it_becomes_active(self):
        e = self._nominated()
        assert (e.state, e.since, e.activations) == ("standby", 1.25, 1)
        e.peer_message(1, reply("2", Veto(A, B)), 1.3)  # refused: promotes again
        assert (e.state, e.since, e.activations) == ("promoting", 1.3, 1)
        e.role_settled(1.4, True)
        assert (e.state, e.since, e.activations) == ("active", 1.4, 2)

    def test_hand_over_error_promotes_again(self):
        e = self._nominated()
        assert e.peer_message(1, reply("2", ElectionError("busy")), 1.3) == [
            Log("error", "election", "peer could not process our nomination: busy"),
            Log("info", "election", "standby -> promoting (hand-over unanswered)"),
        ]

    def test_hand_over_unanswered_promotes_again(self):
        e = self._nominated()
        assert e.peer_disconnected(1, 1.3) == [
            Log("warning", "peer", "peer link closed"),
            Log("info", "election", "standby -> promoting (hand-over unanswered)"),
        ]

    def test_no_hand_over_to_an_unhealthy_peer(self):
        e = self._unhealthy_active()
        live(e, 1.5, peer_healthy=False)
        assert e.state == "active" and e._handover_time() is None

    def test_refused_hand_over_without_witness_stays_standby(self):
        e = active(witness=True)
        e.set_witness(True, 0.0)
        e.peer_message(1, beat(True), 0.0)
        e.set_health(False, 0.0)
        live(e, 1.0)
        assert e.state == "demoting"
        e.role_settled(1.0, True)
        assert e.pending == ("2", B)
        e.set_witness(False, 1.0)
        assert e.peer_message(1, reply("2", Veto(A, B)), 1.1) == [
            Log("warning", "election", "hand-over refused but no witness is reachable: staying standby")
        ]
        assert e.state == "standby"

    def test_demoted_to_nominate_without_a_link_lands_in_standby(self):
        e = self._handing_over()
        e.peer_disconnected(1, 1.25)
        actions = e.role_settled(1.3, True)
        assert actions == [Log("info", "election", "demoting -> standby (demoted)")]
        assert e.pending is None and e.state == "standby" and e.peer_alive

    def test_demoted_to_nominate_after_the_peer_was_lost_promotes(self):
        e = self._handing_over()
        e.peer_refused(1.25)
        assert e.state == "demoting"
        actions = e.role_settled(1.3, True)
        assert actions == [
            Log("info", "election", "demoting -> standby (demoted)"),
            Log("info", "election", "standby -> promoting (peer lost)"),
        ]


class TestElectionPeerLoss:
    def test_standby_promotes(self):
        e = standby()
        e.tick(0.3)
        assert e.state == "promoting"

    def test_standby_without_witness_goes_unassigned(self):
        e = standby(witness=True)
        e.set_witness(False, 0.0)
        actions = e.peer_refused(0.1)
        assert texts(actions)[-1] == "standby -> unassigned (peer and witness lost)"
        assert e.isolated
        # An unprobed witness blocks promotion too, without being "isolated".
        e = standby(witness=True)
        e.peer_refused(0.1)
        assert e.state == "unassigned" and not e.isolated

    def test_take_over_waits_for_a_witness_verdict_newer_than_the_loss(self):
        e = standby(witness=True)
        e.set_witness(True, 0.0)  # reachable, before the cut
        actions = e.peer_refused(0.5)
        assert e.state == "standby" and ProbeWitness() in actions and e.awaiting_witness
        assert e.tick(0.6) == []  # no second probe asked while one is awaited
        # Cut off from the witness too: the fresh verdict isolates it instead.
        actions = e.set_witness(False, 0.7)
        assert texts(actions)[-1] == "standby -> unassigned (peer and witness lost)"
        assert not e.awaiting_witness
        # Reachable now: the same wait, then the take-over.
        e = standby(witness=True)
        e.set_witness(True, 0.0)
        e.peer_refused(0.5)
        assert texts(e.set_witness(True, 0.51))[-1] == "standby -> promoting (peer lost)"

    def test_unassigned_node_asks_the_witness_once_per_loss(self):
        e = Election(espec(witness=True), 0.0)
        e.set_health(True, 0.0)
        e.set_witness(True, 0.0)
        link_up(e, 0.1)
        e.peer_refused(0.2)  # lost before any election: wait for startup_grace
        assert e.state == "unassigned"
        actions = e.tick(2.0)
        assert ProbeWitness() in actions and e.awaiting_witness
        assert ProbeWitness() not in e.tick(2.1)
        assert texts(e.set_witness(True, 2.15))[-1] == "unassigned -> promoting (no peer after startup_grace)"

    def test_active_keeps_the_role_with_a_witness(self):
        e = active()
        actions = e.peer_refused(0.1)
        assert e.state == "active" and texts(actions) == ["peer beta lost: its address refused our connection"]
        assert ProbeWitness() not in actions  # no witness to ask
        e = active(witness=True)
        assert e.witness_ok is None
        assert ProbeWitness() in e.peer_refused(0.1)
        assert e.state == "active"  # only a witness known unreachable demotes

    def test_active_without_peer_and_witness_isolates(self):
        e = active(witness=True)
        e.set_witness(False, 0.0)
        actions = e.peer_refused(0.1)
        assert texts(actions)[-1] == "active -> demoting (peer and witness lost)"
        assert e.then == "isolated"
        assert e.role_settled(0.2, True) == [Log("info", "election", "demoting -> unassigned (demoted, rejoining)")]
        assert e.started == 0.0  # isolation does not restart the grace

    def test_witness_lost_after_the_peer_isolates(self):
        e = active(witness=True)
        e.set_witness(True, 0.0)
        # Asks for a verdict at once: cut off, it steps down within one probe.
        assert ProbeWitness() in e.peer_refused(0.1)
        assert e.set_witness(False, 0.2) == [
            Log("warning", "election", "witness unreachable"),
            Log("info", "election", "active -> demoting (peer and witness lost)"),
        ]
        assert e.then == "isolated"

    def test_witness_lost_with_the_peer_alive_changes_nothing(self):
        e = active(witness=True)
        assert e.set_witness(False, 0.1) == [Log("warning", "election", "witness unreachable")]
        assert e.set_witness(False, 0.1) == []
        assert e.state == "active"

    def test_unassigned_waits_startup_grace(self):
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert texts(e.peer_refused(0.5)) == ["peer beta lost: its address refused our connection"]
        assert e.state == "unassigned"
        assert e.tick(1.99) == []
        assert texts(e.tick(2.0)) == ["no peer after startup_grace (2 s): promoting", "unassigned -> promoting (no peer after startup_grace)"]

    def test_no_self_promotion_while_stopping_or_without_witness(self):
        e = Election(espec(witness=True), 0.0)
        assert e.tick(3.0) == []  # witness not probed
        assert e.set_witness(True, 3.0)[-1] == Log("info", "election", "unassigned -> promoting (no peer after startup_grace)")
        e = Election(espec(), 0.0)
        e.stopping = True
        assert e._maybe_self_promote(3.0) == []
        e = Election(espec(), 0.0)
        link_up(e, 0.0)
        assert e._maybe_self_promote(3.0) == []  # the peer is there

    def test_demoting_peer_loss_waits_for_the_demotion(self):
        e = active(name=B, peer=A)
        e.peer_message(1, announce(A, B), 0.1)
        assert texts(e.peer_refused(0.2)) == ["peer alpha lost: its address refused our connection"]
        assert e.state == "demoting"

    def test_stopped_node_losing_its_peer_stays_stopped(self):
        e = active(peer_healthy=False)
        e.shutdown(0.0)
        e.role_settled(0.1, True)
        assert e.state == "stopped" and e.peer_alive
        assert texts(e.tick(0.4)) == ["peer beta lost: nothing received for 0.400 s"]
        assert e.state == "stopped"

    def test_standby_stopping_while_handing_over_stops_on_peer_loss(self):
        e = active()
        e.shutdown(0.1)
        e.role_settled(0.2, True)
        assert e.state == "standby" and e.pending == ("2", B) and e.stopping
        assert e.peer_refused(0.3) == [
            Log("warning", "peer", "peer beta lost: its address refused our connection"),
            ClosePeer(1, "peer lost: its address refused our connection"),
            Log("info", "election", "standby -> stopped (shutdown)"),
            Stopped(),
        ]
        assert e.state == "stopped"


class TestElectionShutdown:
    def test_stopping_standby_whose_hand_over_answer_was_garbled_stops_on_peer_loss(self):
        e = active()
        e.shutdown(0.1)
        e.role_settled(0.2, True)
        assert e.pending == ("2", B)
        assert texts(e.peer_message(1, reply("2", Assigment(B, "gamma")), 0.25), "warning") == [
            "ignored a reply that does not name this pair: Assigment(active='beta', standby='gamma')"
        ]
        assert e.pending is None and e.state == "standby" and e.stopping
        assert e.peer_refused(0.3)[-2:] == [Log("info", "election", "standby -> stopped (shutdown)"), Stopped()]

    def test_a_stopping_node_never_takes_the_role_back(self):
        e = active()
        e.shutdown(0.1)
        assert e.peer_message(1, nom("9", A), 0.15) == []  # held: we are demoting
        actions = e.role_settled(0.2, True)
        assert sent(actions) == [nom("2", B), reply("9", Veto(B, A))]
        assert e.state == "standby"

    def test_shutdown_after_a_freeze_that_interrupted_a_hand_over_stops(self):
        e = active()
        e.set_health(False, 0.0)
        live(e, 1.0)
        e.role_settled(1.0, True)
        assert e.pending == ("2", B) and e.handing_over
        _, frozen = e.check_freeze(2.0)
        assert frozen and e.state == "unassigned" and e.link is None
        # The nomination died with the link: nothing is in flight any more.
        assert (e.pending, e.handing_over, e.crossed, e.held) == (None, False, None, [])
        assert e.shutdown(2.0) == [
            Log("info", "election", "shutting down"),
            Log("info", "election", "unassigned -> stopped (shutdown)"),
            Stopped(),
        ]

    def test_active_with_healthy_peer_demotes_then_nominates_then_stops(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        assert e.shutdown(0.1) == [Log("info", "election", "shutting down"), Log("info", "election", "active -> demoting (shutdown)")]
        assert e.shutdown(0.1) == []
        actions = e.role_settled(0.2, True)
        assert sent(actions) == [nom("2", B)]
        assert e.state == "standby" and e.stopping
        assert e.peer_message(1, reply("2", Assigment(B, A)), 0.3) == [
            Log("info", "election", "standby -> stopped (shutdown)"),
            ClosePeer(1, "shutting down"),
            Stopped(),
        ]

    def test_stopping_hand_over_vetoed_still_stops(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.shutdown(0.1)
        e.role_settled(0.2, True)
        assert e.peer_message(1, reply("2", Veto(A, B)), 0.3)[-1] == Stopped()

    def test_stopping_hand_over_error_or_link_loss_stops(self):
        for finish in (lambda e: e.peer_message(1, reply("2", ElectionError("x")), 0.3), lambda e: e.peer_disconnected(1, 0.3)):
            e = active()
            e.peer_message(1, beat(True), 0.0)
            e.shutdown(0.1)
            e.role_settled(0.2, True)
            actions = finish(e)
            assert actions[-1] == Stopped() and e.state == "stopped"

    def test_stopping_hand_over_done_by_announcement(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.shutdown(0.1)
        e.role_settled(0.2, True)
        assert e.peer_message(1, announce(), 0.3) == [
            Log("info", "election", "standby -> stopped (shutdown)"), ClosePeer(1, "shutting down"), Stopped(),
        ]

    def test_active_without_hand_over_demotes_then_stops(self):
        e = active(peer_healthy=False)
        e.shutdown(0.1)
        assert e.then == "stop"
        assert e.role_settled(0.2, True) == [
            Log("info", "election", "demoting -> stopped (demoted, stopping)"),
            ClosePeer(1, "shutting down"),
            Stopped(),
        ]
        assert e.shutdown(0.3) == []
        assert e.role_settled(0.3, True) == []

    def test_shutdown_while_demoting(self):
        e = active(name=B, peer=A)
        e.peer_message(1, announce(A, B), 0.1)  # yielding, then standby
        assert e.shutdown(0.1) == [Log("info", "election", "shutting down")]
        assert e.then == "stop"
        assert e.role_settled(0.2, True)[-1] == Stopped()

    def test_shutdown_while_demoting_to_nominate_keeps_the_hand_over(self):
        e = active()
        e.set_health(False, 0.0)
        live(e, 1.0)
        assert e.then == "nominate"
        e.shutdown(1.0)
        assert e.then == "nominate"
        assert sent(e.role_settled(1.1, True)) == [nom("2", B)]

    def test_shutdown_while_standby_handing_over_waits_for_the_answer(self):
        e = active()
        e.set_health(False, 0.0)
        live(e, 1.0)
        e.role_settled(1.0, True)
        assert e.pending == ("2", B) and e.handing_over and e.state == "standby"
        assert e.shutdown(1.05) == [Log("info", "election", "shutting down")]
        assert e.state == "standby"
        assert e.peer_message(1, reply("2", Assigment(B, A)), 1.1)[-1] == Stopped()

    def test_demoted_to_nominate_without_a_link_while_stopping_stops(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.shutdown(0.1)
        e.peer_disconnected(1, 0.15)
        assert e.role_settled(0.2, True) == [
            Log("info", "election", "demoting -> standby (demoted)"),
            Log("info", "election", "standby -> stopped (shutdown)"),
            Stopped(),
        ]

    def test_demoted_rejoining_while_stopping_stops(self):
        e = active()
        e.peer_message(1, beat(True), 0.0)
        e.shutdown(0.1)
        e.check_freeze(1.0)
        assert e.then == "rejoin"
        assert e.role_settled(1.1, True)[-1] == Stopped()

    def test_shutdown_of_an_unassigned_node_stops_at_once(self):
        e = Election(espec(), 0.0)
        assert e.shutdown(0.5) == [
            Log("info", "election", "shutting down"),
            Log("info", "election", "unassigned -> stopped (shutdown)"),
            Stopped(),
        ]
        assert e.state == "stopped" and e.entered == ["stopped"]

    def test_shutdown_of_a_standby_stops_at_once_and_closes_the_link(self):
        e = standby()
        assert e.shutdown(0.5) == [
            Log("info", "election", "shutting down"),
            Log("info", "election", "standby -> stopped (shutdown)"),
            ClosePeer(1, "shutting down"),
            Stopped(),
        ]
        assert e.link is None
        assert e.tick(0.2) == []  # no more heartbeats: the link is closed


class TestElectionRoleSettled:
    def test_promoted(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        e.peer_message(1, reply("1", Assigment(A, B)), 0.0)
        assert e.role_settled(0.4, True) == [Log("info", "election", "promoting -> active (promoted)")]
        assert e.active_since == 0.4

    def test_promoted_degraded(self):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)
        e.peer_message(1, reply("1", Assigment(A, B)), 0.0)
        assert texts(e.role_settled(0.4, False)) == ["promoting -> active (promoted)", "promoted with a failed required component: degraded"]

    @pytest.mark.parametrize("state", ["unassigned", "standby", "active"])
    def test_other_states_ignore_it(self, state):
        e = Election(espec(), 0.0)
        e.state = state
        assert e.role_settled(0.1, True) == []

    def test_demoted_lands_and_answers_held_and_self_promotes(self):
        # A rejoin after a freeze with nothing around: grace restarted, then promote.
        e = active()
        e.check_freeze(1.0)
        e.role_settled(1.0, True)
        assert e.state == "unassigned"
        assert e.tick(2.9) == []
        assert texts(e.tick(3.0))[-1] == "unassigned -> promoting (no peer after startup_grace)"


class TestElectionTableGuard:
    def test_undrawn_moves_raise(self):
        e = Election(espec(), 0.0)
        with pytest.raises(LocalProtocolError):
            e._go("promoted", 0.0)
        with pytest.raises(LocalProtocolError):
            e._check("nomination of self")

    @pytest.mark.parametrize(
        "answer, expected",
        [
            (Veto(B, A), [Log("warning", "election", "ignored an answer overtaken by the election: Veto(active='beta', standby='alpha') while promoting")]),
            (Assigment(A, B), []),  # consistent with where the hand-over took us
        ],
        ids=["veto", "assigment"],
    )
    def test_an_answer_overtaken_by_a_hand_over_is_ignored(self, answer, expected):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)  # we nominate alpha (corr 1)
        e.peer_message(1, announce(), 0.0)  # beta is active: we are standby, our nomination still pending
        e.peer_message(1, nom("7", A), 0.0)  # beta hands over to us before answering it
        assert e.state == "promoting" and e.pending == ("1", A)
        assert e.peer_message(1, reply("1", answer), 0.0) == expected
        assert e.state == "promoting" and e.pending is None

    @pytest.mark.parametrize(
        "meanwhile, state",
        [([announce()], "standby"), ([announce(), nom("7", A)], "promoting")],
        ids=["error-in-standby", "error-in-promoting"],
    )
    def test_a_late_election_error_never_raises(self, meanwhile, state):
        e = Election(espec(), 0.0)
        e.set_health(True, 0.0)
        link_up(e, 0.0)  # we nominate alpha (corr 1)
        for msg in meanwhile:
            e.peer_message(1, msg, 0.0)
        assert e.state == state and e.pending == ("1", A)
        assert e.peer_message(1, reply("1", ElectionError("no")), 0.0) == [
            Log("error", "election", "peer could not process our nomination: no")
        ]
        assert e.state == state and e.pending is None


# ==========================================================================================
# RoleManager
# ==========================================================================================
def rspec(*components: ComponentSpec) -> NodeSpec:
    return NodeSpec(A, B, components=components)


DB = ComponentSpec("1", "db", order=10)
DB2 = ComponentSpec("2", "db2", order=10)
VIP = ComponentSpec("3", "vip", order=20, kind="command")
OPT = ComponentSpec("4", "opt", order=30, required=False, set_role_timeout=2.0)


def registered(r: RoleManager, now: float, *ids: str) -> None:
    """Register process components (available, reachable) and confirm standby."""
    for cid in ids:
        r.availability(cid, True, True, now)
    for n in list(r.notices):
        if n.role == Role.standby:
            r.notices.remove(n)
            r.response(n.component_id, n.correlation_id, ReturnCode.success, now)


class TestRoleManager:
    def test_initial(self):
        r = RoleManager(rspec(DB, VIP))
        assert r.target == Role.standby and r.settled and r.orders == [10, 20]
        assert r.state("1") == "unassigned" and r.failed_required == 0 and not r.any_failed()
        assert r.deadline() is None and r.active_components() == []
        assert not r.promotion_succeeded
        assert RoleManager(rspec()).promotion_succeeded

    def test_registration_gives_the_current_role(self):
        r = RoleManager(rspec(DB))
        assert r.availability("1", True, True, 0.0) == []
        assert r.notices == [AssignRole("1", Role.standby, "1")]
        assert r.state("1") == "assigning" and r.deadline() == 5.0
        assert r.response("1", "1", ReturnCode.success, 0.1) == []
        assert r.state("1") == "standby" and r.components["1"].confirmed == Role.standby and r.deadline() is None

    def test_command_components_are_reachable_from_the_start(self):
        r = RoleManager(rspec(VIP))
        assert r.set_target(Role.active, 0.0) == []
        assert r.notices == [AssignRole("3", Role.active, "1")]
        assert r.deadline() is None  # no timeout: command_timeout bounds it
        assert r.active_components() == ["3"]
        assert r.command_finished("3", "on_active", True, 0.5) == []
        assert r.settled and r.promotion_succeeded and r.state("3") == "active"

    def test_command_end_that_was_not_asked_for(self):
        r = RoleManager(rspec(VIP))
        assert r.command_finished("3", "on_standby", True, 0.0) == [Log("warning", "role", "component 3: ignored the end of an unexpected on_standby")]
        r.set_target(Role.active, 0.0)
        assert r.command_finished("3", "on_standby", True, 0.0) == [Log("warning", "role", "component 3: ignored the end of an unexpected on_standby")]

    def test_command_failure_retries_with_backoff(self):
        r = RoleManager(rspec(VIP))
        r.set_target(Role.active, 0.0)
        r.notices.clear()
        assert r.command_finished("3", "on_active", False, 0.5) == [
            Log("warning", "role", "component 3 (vip) could not become active: on_active failed; retry in 1 s")
        ]
        assert r.state("3") == "failed" and r.failed_required == 1 and r.any_failed()
        assert r.settled and not r.promotion_succeeded  # answered: the promotion goes on without it
        assert r.deadline() == 1.5
        assert r.tick(1.4) == [] and r.notices == []
        assert r.tick(1.5) == []
        assert r.notices == [AssignRole("3", Role.active, "2")] and r.state("3") == "assigning"
        assert r.failed_required == 1  # counts as failed until it answers success
        r.command_finished("3", "on_active", True, 1.6)
        assert r.failed_required == 0 and not r.any_failed() and r.state("3") == "active"

    def test_promotion_goes_in_ascending_order_equal_orders_in_parallel(self):
        r = RoleManager(rspec(DB, DB2, VIP))
        registered(r, 0.0, "1", "2")
        r.notices.clear()
        r.command_finished("3", "on_standby", True, 0.0)  # nothing outstanding: ignored
        r.notices.clear()
        r.set_target(Role.active, 1.0)
        assert [(n.component_id, n.role) for n in r.notices] == [("1", Role.active), ("2", Role.active)]
        first = {n.component_id: n.correlation_id for n in r.notices}
        r.notices.clear()
        assert r.response("1", first["1"], ReturnCode.success, 1.1) == []
        assert r.notices == []  # order 20 waits for all of order 10
        r.response("2", first["2"], ReturnCode.success, 1.2)
        assert [(n.component_id, n.role) for n in r.notices] == [("3", Role.active)]

    def test_demotion_goes_in_descending_order(self):
        r = RoleManager(rspec(DB, VIP))
        registered(r, 0.0, "1")
        r.notices.clear()
        r.set_target(Role.active, 0.0)
        n1 = r.notices.pop()
        r.response("1", n1.correlation_id, ReturnCode.success, 0.0)
        n3 = r.notices.pop()
        r.command_finished("3", "on_active", True, 0.0)
        assert r.settled and r.active_components() == ["1", "3"]
        r.set_target(Role.standby, 1.0)
        assert [(n.component_id, n.role) for n in r.notices] == [("3", Role.standby)]
        r.notices.clear()
        r.command_finished("3", "on_standby", True, 1.1)
        assert [(n.component_id, n.role) for n in r.notices] == [("1", Role.standby)]
        del n3

    def test_set_target_to_the_same_role_does_nothing(self):
        r = RoleManager(rspec(DB))
        assert r.set_target(Role.standby, 0.0) == []
        assert r.notices == []

    def test_timeout_fails_and_retries(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        assert r.deadline() == 5.0
        actions = r.tick(5.0)
        assert actions == [
            Log("warning", "role", "component 1 (db): SetRole(standby) timed out after 5.0 s"),
            Log("warning", "role", "component 1 (db) could not become standby: timed out; retry in 1 s"),
        ]
        assert r.state("1") == "failed" and r.deadline() == 6.0
        # A late answer to the timed-out request is ignored and logged.
        assert r.response("1", "1", ReturnCode.success, 5.5) == [
            Log("warning", "role", "component 1: ignored a SetRoleResponse to unknown or stale request '1'")
        ]

    def test_backoff_doubles_to_eight_seconds(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        now, waits = 0.0, []
        for _ in range(6):
            n = r.notices.pop()
            r.response("1", n.correlation_id, ReturnCode.failure, now)
            waits.append(r.deadline() - now)
            now = r.deadline()
            r.tick(now)
        assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
        assert BACKOFF_MAX == 8.0

    def test_failure_response_text(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        assert r.response("1", "1", ReturnCode.failure, 0.2) == [
            Log("warning", "role", "component 1 (db) could not become standby: answered failure; retry in 1 s")
        ]

    def test_new_target_skips_the_backoff(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        r.response("1", r.notices.pop().correlation_id, ReturnCode.failure, 0.0)
        assert r.components["1"].retry_at == 1.0
        assert r.notices == [NotStandby("1", "answered failure")]  # it may still serve: the node fences it
        r.notices.clear()
        r.set_target(Role.active, 0.1)
        assert r.notices == [AssignRole("1", Role.active, "2")]

    def test_one_outstanding_request_newest_role_after_the_answer(self):
        r = RoleManager(rspec(DB))
        registered(r, 0.0, "1")
        r.notices.clear()
        r.set_target(Role.active, 1.0)
        n = r.notices.pop()
        r.set_target(Role.standby, 1.1)
        assert r.notices == []  # the active request is still outstanding
        assert not r.settled
        r.response("1", n.correlation_id, ReturnCode.success, 1.2)
        assert r.notices == [AssignRole("1", Role.standby, "3")]

    def test_newest_role_is_sent_once_a_superseded_request_fails(self):
        # SPEC 4: the newest wanted role goes out once the answer is in, with no backoff.
        r = RoleManager(rspec(DB))
        registered(r, 0.0, "1")
        r.notices.clear()
        r.set_target(Role.active, 1.0)
        assert r.notices == [AssignRole("1", Role.active, "2")]
        r.notices.clear()
        r.set_target(Role.standby, 1.1)  # demote while the active request is outstanding
        assert r.notices == []
        assert r.response("1", "2", ReturnCode.failure, 1.2) == [
            Log("warning", "role", "component 1 (db) could not become active: answered failure; retry in 1 s")
        ]
        assert r.notices == [AssignRole("1", Role.standby, "3")]
        assert r.components["1"].retry_at is None and r.state("1") == "assigning"
        r.response("1", "3", ReturnCode.success, 1.3)
        assert r.settled and r.state("1") == "standby" and r.failed_required == 0

    def test_a_group_in_backoff_for_another_role_holds_the_frontier(self):
        r = RoleManager(rspec(DB, VIP))
        r.availability("1", True, True, 0.0)
        assert r.notices == [AssignRole("1", Role.standby, "1"), AssignRole("3", Role.standby, "2")]
        r.notices.clear()
        r.response("1", "1", ReturnCode.success, 0.0)
        r.set_target(Role.active, 0.5)
        assert r.notices == [AssignRole("1", Role.active, "3")]
        r.notices.clear()
        # VIP, outside the frontier, fails to take standby: retried after the backoff.
        r.command_finished("3", "on_standby", False, 0.6)
        assert r.components["3"].retry_at == pytest.approx(1.6)
        assert r.notices == [NotStandby("3", "on_standby failed")]
        r.notices.clear()
        r.response("1", "3", ReturnCode.success, 0.7)
        # The frontier reaches order 20; VIP is neither active nor failed for active: not done.
        assert not r._group_done(20) and not r.settled and r.notices == []
        r.tick(1.6)
        assert r.notices == [AssignRole("3", Role.active, "4")]

    def test_success_while_unhealthy_holds_the_role_but_stays_failed(self):
        r = RoleManager(rspec(DB))
        registered(r, 0.0, "1")
        r.notices.clear()
        r.set_target(Role.active, 1.0)
        r.availability("1", False, True, 1.1, "it reports failed")  # health fails while SetRole is out
        assert r.state("1") == "failed" and r.components["1"].outstanding == ("2", Role.active)
        assert r.response("1", "2", ReturnCode.success, 1.2) == []
        assert r.state("1") == "failed" and r.components["1"].confirmed == Role.active
        assert r.active_components() == ["1"] and r.failed_required == 1 and r.settled

    def test_components_outside_the_frontier(self):
        r = RoleManager(rspec(DB, VIP))
        # DB (order 10) is not connected: its group is done at once. VIP (order 20),
        # never confirmed, is first given standby (the frontier was still at 10
        # when it was looked at), then active once that is answered.
        r.set_target(Role.active, 0.0)
        assert [(n.component_id, n.role) for n in r.notices] == [("3", Role.standby)]
        r.notices.clear()
        r.command_finished("3", "on_standby", True, 0.1)
        assert [(n.component_id, n.role) for n in r.notices] == [("3", Role.active)]
        r2 = RoleManager(rspec(DB, VIP))
        registered(r2, 0.0, "1")  # VIP (a command, always reachable) was given standby too
        assert r2.components["3"].confirmed == Role.standby
        r2.set_target(Role.active, 0.0)
        # VIP has a role: it keeps it until the frontier reaches order 20.
        assert r2.notices == [AssignRole("1", Role.active, "3")]
        r2.notices.clear()
        r2.response("1", "3", ReturnCode.success, 0.2)
        assert r2.notices == [AssignRole("3", Role.active, "4")]

    def test_demotion_frontier_leaves_lower_orders_alone(self):
        r = RoleManager(rspec(DB, VIP))
        registered(r, 0.0, "1")
        r.notices.clear()
        r.set_target(Role.active, 0.0)
        r.response("1", r.notices.pop().correlation_id, ReturnCode.success, 0.0)
        r.command_finished("3", "on_active", True, 0.0)
        r.notices.clear()
        r.set_target(Role.standby, 1.0)
        assert r._wanted_now(r.components["1"]) is None  # active, not reached yet
        assert r._wanted_now(r.components["3"]) == Role.standby

    def test_component_lost_and_recovered(self):
        r = RoleManager(rspec(DB))
        registered(r, 0.0, "1")
        assert r.availability("1", False, False, 1.0, "its connection closed") == []
        assert r.state("1") == "failed" and r.failed_required == 1 and r.components["1"].confirmed is None
        assert r.notices == []  # unreachable: no role can be sent
        r.availability("1", True, True, 2.0)
        assert r.notices == [AssignRole("1", Role.standby, "2")]
        assert r.state("1") == "assigning" and r.failed_required == 1

    def test_reported_failed_but_reachable_keeps_its_role(self):
        r = RoleManager(rspec(DB))
        registered(r, 0.0, "1")
        r.availability("1", False, True, 1.0, "it reports failed")
        assert r.state("1") == "failed" and r.components["1"].confirmed == Role.standby
        r.set_target(Role.active, 1.1)
        assert r.notices == [AssignRole("1", Role.active, "2")]  # a demotion or promotion must still reach it

    def test_unreachable_unregistered_component_stays_unassigned(self):
        r = RoleManager(rspec(DB))
        assert r.availability("1", False, False, 0.0) == []
        assert r.state("1") == "unassigned" and r.failed_required == 0
        r.availability("1", False, True, 0.0)  # bound but reports failed at once
        assert r.state("1") == "assigning"  # given the safe role at once
        r2 = RoleManager(rspec(VIP))
        r2.availability("3", False, True, 0.0, "its check failed")  # a command component was reachable: lost
        assert r2._failed == 1 and r2.failed_required == 1
        assert r2.notices == [AssignRole("3", Role.standby, "1")]  # still given the safe role
        assert r2.state("3") == "assigning"

    def test_loss_of_an_already_failed_component(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        r.response("1", "1", ReturnCode.failure, 0.0)
        r.availability("1", False, False, 0.5)
        assert r.state("1") == "failed" and r.failed_required == 1 and r._failed == 1

    def test_reassign_forgets_the_confirmed_role_and_skips_the_backoff(self):
        r = RoleManager(rspec(VIP))
        r.set_target(Role.active, 0.0)
        r.command_finished("3", "on_active", True, 0.1)
        r.notices.clear()
        assert r.reassign("3", 0.2) == []
        assert r.notices == [AssignRole("3", Role.active, "2")] and r.state("3") == "assigning"
        r.command_finished("3", "on_active", False, 0.3)
        assert r.components["3"].retry_at == pytest.approx(1.3)
        r.notices.clear()
        r.reassign("3", 0.4)
        assert r.notices == [AssignRole("3", Role.active, "3")]
        r.reassign("3", 0.5)  # one outstanding request at most
        assert r.notices == [AssignRole("3", Role.active, "3")]

    def test_fenced_while_a_command_runs_is_given_the_role_again_after_it(self):
        # The guard fenced (on_standby) while on_active was still running: that
        # on_active's success says nothing of the role now; it is run again.
        r = RoleManager(rspec(VIP))
        r.set_target(Role.active, 0.0)
        assert r.notices == [AssignRole("3", Role.active, "1")]
        r.notices.clear()
        r.reassign("3", 0.1)  # in flight: nothing new yet
        assert r.notices == []
        r.command_finished("3", "on_active", True, 0.2)
        assert r.notices == [AssignRole("3", Role.active, "2")] and r.state("3") == "assigning"
        assert not r.settled
        r.notices.clear()
        r.command_finished("3", "on_active", True, 0.3)
        assert r.notices == [] and r.state("3") == "active" and r.settled

    def test_optional_component_failure_is_not_required(self):
        r = RoleManager(rspec(OPT))
        r.availability("4", True, True, 0.0)
        assert r.deadline() == 2.0
        r.tick(2.0)
        assert r.any_failed() and r.failed_required == 0
        assert r.promotion_succeeded  # no required component

    def test_deadline_is_cached_until_dirty(self):
        r = RoleManager(rspec(DB, DB2))
        r.availability("1", True, True, 0.0)
        r.availability("2", True, True, 1.0)
        assert r.deadline() == 5.0
        assert r.deadline() == 5.0
        r.response("1", "1", ReturnCode.success, 1.0)
        assert r.deadline() == 6.0

    def test_tick_before_any_deadline_changes_nothing(self):
        r = RoleManager(rspec(DB))
        r.availability("1", True, True, 0.0)
        assert r.tick(4.0) == [] and r.state("1") == "assigning"

    def test_group_done_waits_for_unanswered(self):
        r = RoleManager(rspec(DB, DB2))
        registered(r, 0.0, "1", "2")
        r.notices.clear()
        r.set_target(Role.active, 0.0)
        assert not r._group_done(10)
        r.response("1", "3", ReturnCode.success, 0.0)
        r.response("2", "4", ReturnCode.failure, 0.0)
        assert r._group_done(10) and r.settled


# ==========================================================================================
# Monitor
# ==========================================================================================
P1 = ComponentSpec("1", "db", order=10)
P2 = ComponentSpec("2", "cache", order=10, required=False)
C3 = ComponentSpec("3", "vip", order=20, kind="command", check_interval=1.0)


def mspec(*components: ComponentSpec, **kw) -> NodeSpec:
    return NodeSpec(A, B, components=components, **kw)


def query(corr: str, cid: str) -> HealthMonitorMessage:
    return HealthMonitorMessage(corr, cid, HealthQuery())


class TestMonitor:
    def test_initial(self):
        m = Monitor(mspec(P1, P2, C3), 0.0)
        assert (m.unregistered, m.unavailable, m.unavailable_required) == (3, 3, 2)
        assert not m.healthy_required and m.unhealthy_required() == ["1", "3"]
        assert not m.health_known(1.0) and m.health_known(2.0)
        assert m.reachable("3") and not m.reachable("1")
        assert m.heartbeat_age("1", 1.0) is None
        assert m.deadline() == 0.0  # the first check is due at once
        assert m._heap == [(0.0, "3")]
        assert Monitor(mspec(P1), 0.0).deadline() == 0.1

    def test_registration_binds_and_probes(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        actions = m.message(10, beat(True, "1", "1"), 0.5, node_healthy=True)
        assert actions == [
            Log("info", "monitor", "component 1 (db) registered"),
            SendComponent(10, query("1", "1")),
            Log("info", "monitor", "component 1 (db) is healthy"),
        ]
        assert m.notices == [Availability("1", True, True, "it reports failed")]
        assert m.state("1") == "healthy" and m.healthy_required and m.health_known(0.5)
        assert m.heartbeat_age("1", 0.7) == pytest.approx(0.2)

    def test_registration_reporting_failed(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        actions = m.message(10, beat(False, "1", "1"), 0.5, node_healthy=True)
        assert actions[-1] == SendComponent(10, query("1", "1"))
        assert m.state("1") == "failed" and m.notices == [Availability("1", False, True, "it reports failed")]
        assert m.components["1"].reason == "it reports failed"

    def test_registration_by_a_health_query(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        actions = m.message(10, query("9", "1"), 0.0, node_healthy=False)
        assert actions[1:3] == [SendComponent(10, query("1", "1")), SendComponent(10, HealthMonitorMessage("9", "1", HealthQueryResponse(FAILED)))]
        assert m.state("1") == "healthy"  # presumed ok until it reports
        assert m.message(10, query("10", "1"), 0.1, node_healthy=True) == [SendComponent(10, HealthMonitorMessage("10", "1", HealthQueryResponse(OK)))]

    def test_unknown_or_command_component_is_refused(self):
        m = Monitor(mspec(P1, C3), 0.0)
        m.connected(10)
        assert m.message(10, beat(cid="7"), 0.0, True) == [
            CloseComponent(10, "unknown componentId '7' (configured: 1, 3)"),
            Log("warning", "monitor", "closed a component connection: unknown componentId '7' (configured: 1, 3)"),
        ]
        assert 10 not in m.conns
        m.connected(11)
        assert m.message(11, beat(cid="3"), 0.0, True)[0] == CloseComponent(11, "componentId '3' is a command component, run by the agent")
        m0 = Monitor(mspec(), 0.0)
        m0.connected(1)
        assert m0.message(1, beat(cid="7"), 0.0, True)[0] == CloseComponent(1, "unknown componentId '7' (configured: none)")

    def test_late_data_from_a_closed_connection(self):
        m = Monitor(mspec(P1), 0.0)
        assert m.message(10, beat(cid="1"), 0.0, True) == []
        assert m.disconnected(10, 0.0) == []

    def test_changed_component_id_closes_the_connection(self):
        m = Monitor(mspec(P1, P2), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.notices.clear()
        assert m.message(10, beat(cid="2"), 0.1, True) == [
            CloseComponent(10, "componentId changed from '1' to '2' on a bound connection"),
            Log("warning", "monitor", "closed a component connection: componentId changed from '1' to '2' on a bound connection"),
            Log("warning", "monitor", "component 1 (db) failed: its connection closed"),
        ]
        assert 10 not in m.conns
        # Unbound at once: unregistered and unreachable, not left for silence to find.
        assert m.state("1") == "unregistered" and not m.reachable("1")
        assert m.notices == [Availability("1", False, False, "its connection closed")]
        assert m.disconnected(10, 0.2) == []  # the close that follows changes nothing more

    def test_newest_connection_wins(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.notices.clear()
        m.connected(11)
        actions = m.message(11, beat(cid="1"), 0.5, True)
        assert actions == [
            CloseComponent(10, "component 1 connected again; the newest connection wins"),
            Log("warning", "monitor", "component 1 (db) reconnected; closed its older connection"),
            Log("warning", "monitor", "component 1 (db) failed: replaced by a new connection"),
            Log("info", "monitor", "component 1 (db) registered"),
            SendComponent(11, query("2", "1")),
            Log("info", "monitor", "component 1 (db) is healthy"),
        ]
        assert m.notices == [Availability("1", False, False, "replaced by a new connection"), Availability("1", True, True, "it reports failed")]
        assert m.conns == {11: "1"} and m.components["1"].conn == 11
        assert m.disconnected(10, 0.6) == []  # the older one is gone already

    def test_replacing_an_unregistered_connection(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.disconnected(10, 0.1)
        assert m.state("1") == "unregistered"
        # Bound, yet unregistered: a stale binding left by a replaced connection.
        m.components["1"].conn = 10
        m.connected(11)
        actions = m.message(11, beat(cid="1"), 0.2, True)
        assert texts(actions, "warning") == ["component 1 (db) reconnected; closed its older connection"]

    def test_older_connection_closing_after_replacement_is_ignored(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.conns[12] = "1"  # a bound connection that no longer owns the component
        assert m.disconnected(12, 0.1) == []
        assert m.state("1") == "healthy"

    def test_disconnect_unregisters(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.notices.clear()
        assert m.disconnected(10, 0.2) == [Log("warning", "monitor", "component 1 (db) failed: its connection closed")]
        assert m.notices == [Availability("1", False, False, "its connection closed")]
        assert m.state("1") == "unregistered" and m.unregistered == 1
        m.connected(11)
        assert m.disconnected(11, 0.3) == []  # never bound

    def test_reports_failed_then_ok(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.notices.clear()
        assert m.message(10, beat(False, "2", "1"), 0.05, True) == [Log("warning", "monitor", "component 1 (db) failed: it reports failed")]
        assert m.message(10, beat(False, "3", "1"), 0.06, True) == []
        assert m.message(10, beat(True, "4", "1"), 0.07, True) == [Log("info", "monitor", "component 1 (db) is healthy")]
        assert m.message(10, beat(True, "5", "1"), 0.08, True) == []
        assert m.notices == [Availability("1", False, True, "it reports failed"), Availability("1", True, True, "")]

    def test_silence_suspect_probe_then_failed(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)  # probe corr 1
        m.notices.clear()
        assert m.deadline() == pytest.approx(0.1)  # our heartbeat to it
        assert m.tick(0.1, True) == [SendHeartbeats("1", OK, [(10, "1")])]
        assert m.state("1") == "healthy"
        # A heartbeat late by half an interval (1.5 intervals of silence): probed.
        t1 = m.deadline()
        assert t1 == pytest.approx(0.15)
        assert m.tick(t1, True) == [SendComponent(10, query("2", "1"))]
        assert m.state("1") == "suspect" and m.available("1") and m.notices == []
        t2 = m.deadline()
        assert t2 == pytest.approx(0.2)
        assert m.tick(t2, False) == [SendHeartbeats("2", FAILED, [(10, "1")])]
        t3 = m.deadline()
        assert t3 == pytest.approx(0.3)
        actions = m.tick(t3, True)
        assert actions[-1] == Log("warning", "monitor", "component 1 (db) failed: no heartbeat for 0.300 s")
        assert m.state("1") == "failed" and m.notices == [Availability("1", False, True, "no heartbeat for 0.300 s")]
        assert not m.healthy_required and m.unhealthy_required() == ["1"]
        # Failed: no silence timer until it speaks again.
        assert m.silence_deadline("1") is None
        assert m.message(10, beat(True, "9", "1"), 0.45, True) == [Log("info", "monitor", "component 1 (db) is healthy")]
        assert m.silence_deadline("1") == pytest.approx(0.6)

    def test_suspect_that_speaks_is_healthy_again(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.tick(0.1, True)
        m.tick(m.deadline(), True)  # 0.15: probed
        assert m.state("1") == "suspect"
        assert m.message(10, HealthMonitorMessage("2", "1", HealthQueryResponse(OK)), 0.17, True) == []
        assert m.state("1") == "healthy"  # never unavailable: no log, no notice
        assert m.notices[-1] == Availability("1", True, True, "it reports failed")  # from its registration only

    def test_recovered_suspect_is_probed_a_late_heartbeat_after_it_last_spoke(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.tick(0.1, True)
        m.tick(m.deadline(), True)  # probed at 0.15
        assert m.state("1") == "suspect"
        m.message(10, HealthMonitorMessage("2", "1", HealthQueryResponse(OK)), 0.17, True)
        assert m.deadline() == pytest.approx(0.2)  # the next beat
        m.tick(m.deadline(), True)
        assert m.deadline() == pytest.approx(0.3)  # the next beat, before its probe at 0.32
        m.tick(m.deadline(), True)
        assert m.deadline() == pytest.approx(0.32)  # 1.5 intervals after it last spoke, not the old 0.3
        assert m.tick(m.deadline(), True) == [SendComponent(10, query("3", "1"))]
        assert m.state("1") == "suspect"

    def test_heartbeats_keep_a_component_healthy(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.message(10, beat(True, "2", "1"), 0.09, True)
        assert m.tick(0.1, True) == [SendHeartbeats("1", OK, [(10, "1")])]
        assert m.silence_deadline("1") == pytest.approx(0.24)  # 1.5 intervals after it last spoke, at 0.09
        assert m.deadline() == pytest.approx(0.2)  # the next beat: nothing wakes the node at 0.15
        assert m.tick(m.deadline(), True) == [SendHeartbeats("2", OK, [(10, "1")])]
        assert m.deadline() == pytest.approx(0.24)
        assert m.tick(m.deadline(), True) == [SendComponent(10, query("2", "1"))]

    def test_silence_timer_for_a_closed_connection_is_dropped(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.message(10, beat(cid="1"), 0.0, True)
        m.disconnected(10, 0.05)
        assert m.tick(0.1, True) == []
        assert m.silence_deadline("1") is None  # unbound: its silence is nobody's business
        assert m.deadline() == pytest.approx(0.2)

    def test_superseded_check_entries_are_skipped(self):
        m = Monitor(mspec(C3), 0.0)
        m.tick(0.0, True)
        m.check_finished("3", True, 0.01)  # the next check at 1.01
        m._arm(1.01, "3")  # same deadline: no second entry
        assert len(m._heap) == 1
        m._arm(1.2, "3")
        assert len(m._heap) == 2
        assert m.tick(1.1, True) == []  # the 1.01 entry was superseded
        assert m._armed == {"3": 1.2} and len(m._heap) == 1
        assert m.tick(1.2, True) == [RunCommand("3", "check")]

    def test_silence_is_watched_in_the_order_components_spoke(self):
        m = Monitor(mspec(P1, P2), 0.0)
        m.connected(10)
        m.connected(11)
        m.message(10, beat(cid="1"), 0.0, True)
        m.message(11, beat(cid="2"), 0.01, True)
        assert m.heard(10, beat(True, "2", "1"), 0.02)  # 1 spoke last now: 2 is due first
        assert [m.silence_deadline("1"), m.silence_deadline("2")] == [pytest.approx(0.17), pytest.approx(0.16)]
        m.tick(0.1, True)
        assert m.deadline() == pytest.approx(0.16)
        assert m.tick(0.16, True) == [SendComponent(11, query("3", "2"))]
        assert m.state("2") == "suspect" and m.state("1") == "healthy"
        assert m.deadline() == pytest.approx(0.17)
        assert m.tick(0.17, True) == [SendComponent(10, query("4", "1"))]
        # Both suspects now: failed dead_after intervals after they last spoke, in that order.
        for beat_at in (0.2, 0.3):  # our heartbeats first
            assert m.deadline() == pytest.approx(beat_at)
            assert type(m.tick(m.deadline(), True)[0]) is SendHeartbeats
        assert m.deadline() == pytest.approx(0.31)
        assert m.tick(0.31, True)[-1] == Log("warning", "monitor", "component 2 (cache) failed: no heartbeat for 0.300 s")
        assert m.silence_deadline("2") is None and m.silence_deadline("1") == pytest.approx(0.32)
        # A tick late past both deadlines of one component: probed, then failed, in one go.
        m.message(11, beat(cid="2"), 0.33, True)
        actions = m.tick(0.7, True)
        assert SendComponent(11, query("5", "2")) in actions
        assert m.state("1") == "failed" and m.state("2") == "failed"

    def test_heard_takes_only_what_changes_nothing(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)
        m.connected(11)
        assert not m.heard(10, beat(cid="1"), 0.0)  # unbound: it binds through message()
        m.message(10, beat(cid="1"), 0.0, True)
        m.notices.clear()
        assert not m.heard(11, beat(cid="1"), 0.01)  # another connection
        assert not m.heard(10, beat(cid="2"), 0.01)  # another id on this one
        assert not m.heard(10, beat(False, "2", "1"), 0.01)  # reports failed
        assert not m.heard(10, query("2", "1"), 0.01)  # asks: must be answered
        assert m.heartbeat_age("1", 0.05) == pytest.approx(0.05)  # none of those was recorded
        assert m.heard(10, beat(True, "3", "1"), 0.05)
        assert m.heartbeat_age("1", 0.05) == 0.0 and m.notices == []
        m.tick(0.1, True)
        m.tick(m.deadline(), True)  # 0.2: probed
        assert not m.heard(10, beat(True, "4", "1"), 0.21)  # a suspect that speaks changes state

    def test_command_component_checks(self):
        m = Monitor(mspec(C3), 0.0)
        assert m.deadline() == 0.0
        assert m.tick(0.0, True) == [RunCommand("3", "check")]
        assert m.check_finished("3", True, 0.01) == [
            Log("info", "monitor", "component 3 (vip) registered"),
            Log("info", "monitor", "component 3 (vip) is healthy"),
        ]
        assert m.notices == [Availability("3", True, True, "its check failed")]
        assert m._armed == {"3": pytest.approx(1.01)}
        assert m.silence_deadline("3") is None  # checked, never listened to
        assert m.check_finished("3", True, 0.5) == []
        assert m.check_finished("3", False, 0.6) == [Log("warning", "monitor", "component 3 (vip) failed: its check failed")]
        assert m.check_finished("3", False, 0.7) == []
        assert m.check_finished("3", True, 0.8) == [Log("info", "monitor", "component 3 (vip) is healthy")]

    def test_command_registers_failed(self):
        m = Monitor(mspec(C3), 0.0)
        assert m.check_finished("3", False, 0.0) == [Log("info", "monitor", "component 3 (vip) registered")]
        assert m.state("3") == "failed" and m.notices == [Availability("3", False, True, "its check failed")]

    def test_a_running_check_is_not_started_twice(self):
        m = Monitor(mspec(C3), 0.0)
        m.tick(0.0, True)
        m._arm(0.05, "3")
        assert m.tick(0.05, True) == []

    def test_heartbeat_schedule_never_bursts(self):
        m = Monitor(mspec(P1), 0.0)
        m.connected(10)  # unbound: gets no heartbeat
        assert m.tick(0.1, True) == []
        assert m._next_beat == pytest.approx(0.2)
        m.tick(0.95, True)
        assert m._next_beat == pytest.approx(1.05)
        assert m.tick(1.0, True) == []  # not yet

    def test_startup_grace_deadline_and_rejoin(self):
        m = Monitor(mspec(P1, timers=Timers(heartbeat_interval=5.0, startup_grace=2.0)), 0.0)
        assert m.deadline() == 2.0
        m.tick(2.0, True)
        assert m._grace_passed and m.deadline() == 5.0
        m.rejoin(3.0)
        assert not m._grace_passed and not m.health_known(4.0) and m.health_known(5.0)
        assert m.deadline() == 5.0  # grace ends at 5.0, the beat too: equal, not earlier
        m.tick(4.0, True)
        assert not m._grace_passed

    def test_correlation_id_wraps(self):
        m = Monitor(mspec(P1), 0.0)
        m._corr.value = 10**16 - 1
        assert m._corr.next() == "1"


# ==========================================================================================
# Node
# ==========================================================================================
def nspec(*components: ComponentSpec, name: str = A, peer: str = B, **kw) -> NodeSpec:
    return NodeSpec(name, peer, components=components, **kw)


def only(actions, *kinds) -> list:
    return [a for a in actions if type(a) in kinds]


def advance(n: Node, until: float) -> list:
    """Tick ``n`` at every deadline it asks for up to ``until`` (a live loop)."""
    actions: list = []
    while n.next_deadline() <= until + 1e-9:
        actions += n.handle(Tick(), n.next_deadline())
    return actions


def twin_nodes(components: tuple, prelude: list) -> tuple[Node, Node]:
    """Two nodes of the same spec, each fed the same ``(now, event)`` prelude."""
    nodes = (Node(nspec(*components), 0.0), Node(nspec(*components), 0.0))
    for n in nodes:
        for now, event in prelude:
            n.handle(event, now)
    return nodes


def node_view(n: Node) -> tuple:
    m = n.monitor
    return (
        n.state, n.status.status, n.election.health, n.next_deadline(), dict(m.conns),
        {cid: (m.state(cid), m.heartbeat_age(cid, 10.0), m.silence_deadline(cid)) for cid in m.components},
        {cid: n.roles.state(cid) for cid in m.components},
    )


def assert_batch_is_one_by_one(prelude: list, items: list, now: float) -> None:
    """Twin nodes: one takes ``items`` as one ComponentMessages, the other one
    ComponentMessage at a time; the actions and the state after must match."""
    batched, single = twin_nodes((DB, DB2), prelude)
    assert node_view(batched) == node_view(single)
    got = batched.handle(ComponentMessages(items), now)
    expected = []
    for conn, msg in items:
        expected += single.handle(ComponentMessage(conn, msg), now)
    assert got == expected
    assert node_view(batched) == node_view(single)


BOUND = [(0.0, ComponentConnected(10)), (0.0, ComponentConnected(11)), (0.0, ComponentConnected(12)),
         (0.01, ComponentMessage(10, beat(True, "1", "1"))), (0.01, ComponentMessage(11, beat(True, "1", "2")))]


class TestComponentMessagesBatch:
    """A batch is exactly its messages one by one, at the same ``now``."""

    @pytest.mark.parametrize("prelude, items, now", [
        pytest.param([(0.0, ComponentConnected(10)), (0.0, ComponentConnected(11))],
                     [(10, beat(True, "1", "1")), (11, beat(False, "1", "2")), (10, beat(True, "2", "1"))], 0.01,
                     id="registrations"),
        pytest.param(BOUND, [(10, beat(True, "2", "1")), (11, beat(True, "2", "2"))] * 3, 0.05, id="steady"),
        pytest.param(BOUND, [
            (10, RoleMessage("1", SetRoleResponse(ReturnCode.success))),  # its SetRole(standby)
            (11, query("7", "2")),                                        # a question is answered
            (10, beat(False, "3", "1")),                                  # reports failed
            (12, beat(True, "1", "9")),                                   # an unknown id: refused
            (12, beat(True, "2", "9")),                                   # late, from the refused one
            (11, beat(True, "3", "1")),                                   # another id on a bound connection
            (11, beat(True, "4", "2")),                                   # late, after that
            (10, beat(True, "4", "1")),                                   # healthy again
            (99, beat(True, "1", "1")),                                   # a connection never announced
        ], 0.05, id="mixed"),
        pytest.param(BOUND, [(10, beat(True, "2", "1")), (11, beat(True, "2", "2"))], 0.5, id="after-a-freeze"),
    ])
    def test_same_actions_and_state_as_one_by_one(self, prelude, items, now):
        assert_batch_is_one_by_one(prelude, items, now)

    @settings(max_examples=300, deadline=None)
    @given(
        prelude=st.sampled_from([BOUND[:3], BOUND, BOUND + [(0.02, ComponentMessage(10, RoleMessage("1", SetRoleResponse(ReturnCode.success))))]]),
        items=st.lists(st.tuples(
            st.sampled_from([10, 11, 12, 99]),
            st.one_of(
                st.builds(beat, st.booleans(), st.sampled_from(["5", "6"]), st.sampled_from(["1", "2", "9"])),
                st.builds(query, st.just("7"), st.sampled_from(["1", "2"])),
                st.builds(lambda corr, code: RoleMessage(corr, SetRoleResponse(code)), st.sampled_from(["1", "2"]), st.sampled_from(list(ReturnCode))),
            ),
        ), min_size=1, max_size=12),  # the mux hands over no empty batch
        now=st.sampled_from([0.03, 0.1, 0.2, 0.5, 2.5]),
    )
    def test_any_batch_is_its_messages_one_by_one(self, prelude, items, now):
        assert_batch_is_one_by_one(prelude, items, now)

    def test_a_freeze_with_only_plain_heartbeats_is_settled_as_one_by_one(self):
        # An active node whose loop stalled: the batch of heartbeats that finds it
        # out demotes it at once, with the SetRole(standby) the settling sends.
        active = Node(nspec(DB), 0.0)
        active.handle(ComponentConnected(10), 0.0)
        active.handle(ComponentMessage(10, beat(True, "1", "1")), 0.01)
        active.handle(ComponentMessage(10, RoleMessage("1", SetRoleResponse(ReturnCode.success))), 0.02)
        for i in range(1, 21):
            t = round(i / 10, 10)
            active.handle(ComponentMessage(10, beat(True, str(i + 1), "1")), t - 0.005)
            advance(active, t)
        active.handle(ComponentMessage(10, RoleMessage("2", SetRoleResponse(ReturnCode.success))), 2.05)
        assert active.state == "active"
        single = copy.deepcopy(active)
        items = [(10, beat(True, "30", "1"))]
        got = active.handle(ComponentMessages(items), 2.6)
        assert got == single.handle(ComponentMessage(*items[0]), 2.6)
        assert "our loop stalled for 0.550 s (> 0.2 s): rejoining" in texts(got)
        assert SendComponent(10, RoleMessage("3", SetRole(Role.standby))) in got
        assert active.state == single.state == "demoting"

    def test_plain_heartbeats_change_nothing_but_the_time_heard(self):
        batched, _ = twin_nodes((DB, DB2), BOUND)
        before = node_view(batched)
        assert batched.handle(ComponentMessages([(10, beat(True, "2", "1")), (11, beat(True, "2", "2"))]), 0.05) == []
        after = node_view(batched)
        assert after[:5] == before[:5] and after[6] == before[6]
        assert after[5]["1"][2] == pytest.approx(0.2)  # probed 1.5 intervals after 0.05


class TestNode:
    def test_not_an_event_is_a_type_error(self):
        n = Node(nspec(), 0.0)
        with pytest.raises(TypeError, match="Node.handle: not an event: 'tick'"):
            n.handle("tick", 0.0)
        with pytest.raises(TypeError, match="not an event: SendPeer"):
            n.handle(SendPeer(1, beat()), 0.0)

    def test_fresh_node_without_components(self):
        n = Node(nspec(), 0.0)
        assert n.state == "unassigned" and n.status.status == "electing"
        assert n.healthy(0.0) is True  # nothing to register
        assert n.next_deadline() == pytest.approx(0.1)
        assert n.handle(Tick(), 0.1) == []
        assert n.election.health is True
        # startup_grace with no peer: promote; no components: promoted at once.
        actions = advance(n, 2.0)
        assert only(actions, StatusChanged) == [StatusChanged("electing", "promoting"), StatusChanged("promoting", "active")]
        assert texts(actions) == [
            "no peer after startup_grace (2 s): promoting",
            "unassigned -> promoting (no peer after startup_grace)",
            "status electing -> promoting",
            "promoting -> active (promoted)",
            "status promoting -> active",
        ]
        assert n.state == "active"

    def test_peer_events_reach_the_election(self):
        n = Node(nspec(), 0.0)
        # Our health becomes known in the same call: the heartbeat is sent again at once.
        assert n.handle(PeerConnected(1), 0.0) == [SendPeer(1, beat(False, "1")), SendPeer(1, beat(True, "2"))]
        actions = n.handle(PeerMessage(1, beat(True)), 0.01)
        assert sent(actions) == [nom("1", A)]
        actions = n.handle(PeerMessage(1, reply("1", Assigment(A, B))), 0.02)
        assert only(actions, StatusChanged) == [StatusChanged("electing", "promoting"), StatusChanged("promoting", "active")]
        assert n.handle(PeerDisconnected(1), 0.03) == [Log("warning", "peer", "peer link closed")]
        assert texts(n.handle(PeerRefused(), 0.04)) == ["peer beta lost: its address refused our connection"]
        assert n.state == "active"

    def test_witness_and_shutdown_events(self):
        n = Node(nspec(witness=True), 0.0)
        n.handle(Tick(), 0.1)
        actions = n.handle(WitnessChanged(False), 0.1)
        assert actions == [
            Log("warning", "election", "witness unreachable"),
            StatusChanged("electing", "isolated"),
            Log("info", "status", "status electing -> isolated"),
        ]
        assert only(n.handle(WitnessChanged(True), 0.15), StatusChanged) == [StatusChanged("isolated", "electing")]
        actions = n.handle(Shutdown(), 0.2)
        assert only(actions, StatusChanged) == [StatusChanged("electing", "stopping")]

    def test_clients(self):
        n = Node(nspec(), 0.0)
        assert n.handle(ClientConnected(5), 0.0) == []
        assert n.handle(ClientMessage(5, ServiceStatusMessage("3", GetStatus())), 0.0) == [
            SendClient(5, ServiceStatusMessage("3", GetStatusResponse("electing")))
        ]
        actions = advance(n, 2.0)
        assert only(actions, SendClient) == [
            SendClient(5, ServiceStatusMessage("", StatusIndication("promoting"))),
            SendClient(5, ServiceStatusMessage("", StatusIndication("active"))),
        ]
        assert n.handle(ClientDisconnected(5), 2.0) == []
        assert n.status.clients == set()

    def test_process_component_lifecycle(self):
        n = Node(nspec(DB), 0.0)
        assert n.healthy(0.0) is None
        assert n.handle(ComponentConnected(10), 0.0) == []
        actions = n.handle(ComponentMessage(10, beat(True, "1", "1")), 0.01)
        assert only(actions, SendComponent) == [
            SendComponent(10, query("1", "1")),
            SendComponent(10, RoleMessage("1", SetRole(Role.standby))),
        ]
        assert n.election.health is True and n.roles.state("1") == "assigning"
        assert n.handle(ComponentMessage(10, RoleMessage("1", SetRoleResponse(ReturnCode.success))), 0.02) == []
        assert n.roles.state("1") == "standby"
        # Keep the component alive while the startup grace runs out.
        actions = []
        for i in range(1, 21):
            t = round(i / 10, 10)
            n.handle(ComponentMessage(10, beat(True, str(i + 1), "1")), t - 0.005)
            actions += advance(n, t)
        assert n.state == "promoting"
        assert SendComponent(10, RoleMessage("2", SetRole(Role.active))) in actions
        actions = n.handle(ComponentMessage(10, RoleMessage("2", SetRoleResponse(ReturnCode.success))), 2.05)
        assert only(actions, StatusChanged) == [StatusChanged("promoting", "active")]

    def test_next_deadline_takes_the_role_timeout_when_sooner(self):
        n = Node(nspec(ComponentSpec("1", "db", set_role_timeout=0.05)), 0.0)
        n.handle(ComponentConnected(10), 0.0)
        n.handle(ComponentMessage(10, beat(True, "1", "1")), 0.0)
        assert n.roles.deadline() == pytest.approx(0.05)
        assert n.next_deadline() == pytest.approx(0.05)
        actions = n.handle(Tick(), 0.05)
        assert texts(actions, "warning")[:2] == [
            "component 1 (db): SetRole(standby) timed out after 0.05 s",
            "component 1 (db) could not become standby: timed out; retry in 1 s",
        ]
        # It may still serve: its connection is closed so that it fences itself,
        # which unregisters it (health unknown again within startup_grace).
        reason = "component 1 (db) did not go standby (timed out): closing its connection so that it fences itself"
        assert CloseComponent(10, reason) in actions
        assert n.election.health is None
        assert n.roles.deadline() == pytest.approx(1.05) and n.next_deadline() == pytest.approx(0.1)

    def test_role_pdus_before_binding_or_requests_close_the_connection(self):
        n = Node(nspec(DB), 0.0)
        assert n.handle(ComponentMessage(99, RoleMessage("1", SetRoleResponse(ReturnCode.success))), 0.0) == []
        n.handle(ComponentConnected(10), 0.0)
        reason = "a role PDU before any monitor PDU: send a heartbeat first to bind the connection"
        assert n.handle(ComponentMessage(10, RoleMessage("1", SetRoleResponse(ReturnCode.success))), 0.0) == [
            CloseComponent(10, reason), Log("warning", "monitor", f"closed a component connection: {reason}"),
        ]
        n.handle(ComponentConnected(11), 0.0)
        n.handle(ComponentMessage(11, beat(True, "1", "1")), 0.0)
        actions = n.handle(ComponentMessage(11, RoleMessage("5", SetRole(Role.active))), 0.01)
        assert actions[:3] == [
            CloseComponent(11, "component 1 sent a SetRole request; only the agent assigns roles"),
            Log("warning", "monitor", "closed a component connection: component 1 sent a SetRole request; only the agent assigns roles"),
            Log("warning", "monitor", "component 1 (db) failed: its connection closed"),
        ]
        assert n.monitor.state("1") == "unregistered"
        assert n.handle(ComponentDisconnected(11), 0.02) == []  # already closed

    def test_command_component(self):
        n = Node(nspec(VIP), 0.0)
        assert n.handle(Tick(), 0.0) == [RunCommand("3", "check")]
        actions = n.handle(CommandFinished("3", "check", True), 0.01)
        assert only(actions, RunCommand) == [RunCommand("3", "on_standby")]
        n.handle(CommandFinished("3", "on_standby", True), 0.02)
        assert n.election.health is True
        actions = advance(n, 2.0)
        assert only(actions, RunCommand) == [RunCommand("3", "check"), RunCommand("3", "on_active")]  # checks every 1 s
        actions = n.handle(CommandFinished("3", "on_active", True), 2.01)
        assert n.state == "active" and n.status.status == "active"

    def test_commands_fenced_behind_our_back_are_given_their_role_again(self):
        n = Node(nspec(DB, VIP), 0.0)
        n.handle(Tick(), 0.0)
        n.handle(CommandFinished("3", "check", True), 0.0)
        n.handle(CommandFinished("3", "on_standby", True), 0.0)
        assert n.handle(CommandsFenced(), 0.05) == [
            Log("warning", "role", "the guard fenced the command components while we stalled: assigning their roles again"),
            RunCommand("3", "on_standby"),
        ]
        assert n.roles.state("3") == "assigning" and n.roles.state("1") == "unassigned"

    def test_degraded_when_a_component_fails_on_the_active(self):
        n = Node(nspec(VIP), 0.0)
        n.handle(Tick(), 0.0)
        n.handle(CommandFinished("3", "check", True), 0.0)
        n.handle(CommandFinished("3", "on_standby", True), 0.0)
        advance(n, 2.0)
        n.handle(CommandFinished("3", "on_active", True), 2.0)
        actions = n.handle(CommandFinished("3", "check", False), 2.05)
        assert only(actions, StatusChanged) == [StatusChanged("active", "degraded")]
        assert n.healthy(2.05) is False
        # Recovered: given the active role again; it counts as failed until on_active succeeds.
        actions = n.handle(CommandFinished("3", "check", True), 2.1)
        assert only(actions, RunCommand, StatusChanged) == [RunCommand("3", "on_active")]
        actions = n.handle(CommandFinished("3", "on_active", True), 2.15)
        assert only(actions, StatusChanged) == [StatusChanged("degraded", "active")]

    def test_freeze_restarts_the_monitor_grace(self):
        n = Node(nspec(DB), 0.0)
        n.handle(Tick(), 0.1)
        actions = n.handle(Tick(), 5.0)
        assert texts(actions)[0] == "our loop stalled for 4.900 s (> 0.2 s): rejoining"
        assert n.monitor.grace_start == 5.0 and n.healthy(5.0) is None

    def test_shutdown_of_the_active_reports_stopping(self):
        n = Node(nspec(), 0.0)
        advance(n, 2.0)
        assert n.state == "active"
        actions = n.handle(Shutdown(), 2.0)
        assert only(actions, StatusChanged, Stopped) == [StatusChanged("active", "stopping"), Stopped()]
        assert n.state == "stopped" and n.status.status == "stopping"
        assert n._token("stopped") == "stopping"


# ==========================================================================================
# A bug easiest to see end to end, with the simulated pair
# ==========================================================================================
def test_standby_shutdown_stops_the_agent_end_to_end():
    from pair import World

    w = World()
    w.run_for(3.0)
    assert (w.state(A), w.state(B)) == ("active", "standby")
    w.shutdown(B)
    w.run_for(1.0)
    assert [a for _, a in w.actions(B, Stopped)] == [Stopped()]
    assert w.agents[B] is None and w.state(A) == "active"
    assert w.status_changes(B)[-1] == ("standby", "stopping")


def test_shutdown_crossing_a_restarted_peers_nomination_end_to_end():
    from pair import World

    w = World()
    w.run_for(3.0)
    w.kill(B)
    w.run_for(1.0)
    w.restart(B)
    w.run_for(0.0025)  # the link is up; beta's nomination of alpha is on its way
    t0 = w.now
    w.shutdown(A)
    w.run_for(2.0)
    promoted = [a for t, n, a in w.log if t >= t0 and n == A and type(a) is SendComponent and a.msg == RoleMessage(a.msg.correlation_id, SetRole(Role.active))]
    assert promoted == []
    assert w.state(B) == "active"


def test_counter_numbers_from_1_and_wraps_after_16_digits():
    from hanode.core.ids import Counter, bill, BILL_OK, BILL_FAILED

    c = Counter()
    assert [c.next(), c.next()] == ["1", "2"]
    c.value = 10**16 - 2
    assert [c.next(), c.next()] == ["9999999999999999", "1"]
    assert (bill(True), bill(False), bill(None)) == (BILL_OK, BILL_FAILED, BILL_FAILED)

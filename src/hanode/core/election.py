"""Election subsystem (SPEC section 3, seed 3.1): which node is active.

No PDU carries a role or a priority, so both nodes decide from the same facts:

Messages. ``nominationMsg{nominee}`` is a request ("I propose nominee as
active"), answered by an ``electionResult`` with the same correlationId:
``assigment{active, standby}`` (agreed, both apply it), ``veto{active,
standby}`` (refused; the assignment it states stands) or
``electionError{description}`` (unknown nominee; no role changes). An
``assigment{active: self, standby: peer}`` sent unasked with the empty
correlationId is an *announcement*: "I am serving as active".

Openings. On every new link (a connection on which a first PDU has arrived)
each node has sent a heartbeat, then sends its opening: ``active`` or
``promoting``: an announcement; ``unassigned``: once its own health is known,
a nomination of the preferred node (of the peer if that is itself and it is
unhealthy; after a freeze, of the node that was active when it froze);
``standby``: nothing; ``demoting``: after the demotion, as the state it ends in.

Rules, as the responder sees a nomination:

1. A nominee that is neither node gets ``electionError``.
2. ``active``/``promoting``: a nomination of itself gets ``assigment``; of the
   peer, ``veto`` (no pre-emption), unless the responder is unhealthy and the
   peer healthy: then it demotes and only then answers ``assigment`` (hand-over).
3. ``standby``: a nomination of the peer gets ``assigment``; of itself (the
   active hands over), ``assigment`` if healthy (it promotes), else ``veto``.
4. ``demoting``: the nomination is held until the demotion ends, then answered
   as the state it ends in would answer it. (SPEC says a demoting node answers
   at once; answering after the demotion is what keeps the two nodes' active
   components from overlapping, which SPEC's safety rule requires.)
5. ``unassigned``: an announcement makes it ``standby``. A nomination before
   its own opening is held until it has sent one. With both nominations known
   the winner is the common nominee, else the name that sorts first; it answers
   ``assigment`` if the peer's nominee won, ``veto`` naming the winner if not,
   and applies the result itself. Both nodes compute the same winner.
6. Dual active (an announcement while ``active``/``promoting``): the node whose
   name sorts first stays; the other demotes to ``standby``.

Giving up the role (hand-over on failure after ``handover_after``, rule 2,
shutdown): demote first, then send what lets the peer promote. A refused
hand-over (veto naming us, an error) or a link lost before the answer makes
the node promote again; each refusal doubles the wait before the next
hand-over (up to ``2**HANDOVER_BACKOFF_MAX``), until the node is healthy again.

Peer loss: a refused dial at once, otherwise ``dead_after`` intervals with
nothing received. A ``standby`` then promotes; an ``unassigned`` node waits
``startup_grace`` from its start or rejoin. With a witness configured, a node
that reaches none never promotes itself, and an ``active`` one that has lost
both peer and witness demotes and waits ``unassigned`` (``isolated``).

Moving the role by hand. ``switchover``: an ``active`` node with the link up,
a healthy peer and no maintenance demotes, then nominates its peer (the
hand-over above); anything else is refused with the reason
(:meth:`Election.switchover_refusal`). ``maintenance``: a node keeps
monitoring and reporting but changes no role by itself: a standby does not
take over when its peer is lost, an unassigned node does not promote itself,
an unhealthy active one does not hand over, and a nomination that would move
its role is vetoed. Safety still applies: a freeze, dual active (rule 6) and
isolation demote as always. An unassigned node can still be elected over a
live link (a pair must have an active node). When maintenance ends, what
happened meanwhile is acted on (a standby whose peer is gone takes over).

Fencing (optional, as Pacemaker's STONITH). With a fence command configured,
a node that is about to take the role without its peer's agreement (its
peer lost, or no peer after ``startup_grace``) first runs it, and promotes
only when it succeeds; a failed fence is retried every ``dead_after``
intervals while the peer stays lost. A peer that comes back meanwhile
cancels the take-over.

Witness freshness: a take-over acts only on a witness verdict newer than the
loss of the peer (``ProbeWitness`` asks for one): a node cut off from both
its peer and the witness must not promote on the verdict of before the cut.
An active node that loses its peer asks for a verdict at once too: cut off,
it steps down within one probe instead of at the next periodic one.

Freeze: a gap of more than ``dead_after - 1`` intervals between two of our own
calls means our peer may have declared us lost: close the link, demote at once
if active, rejoin ``unassigned`` and nominate the node that was active when we
froze. So one fault causes one failover, never a second one back.
"""

from __future__ import annotations

from hanode.codec import (
    Assigment,
    ComponentStatus,
    ElectionError,
    ElectionMessage,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    NominationMessage,
    Role,
    Veto,
)

from .events import Action, ClosePeer, Log, ProbeWitness, RunFence, SendPeer, Stopped
from .ids import Counter, bill
from .settings import NodeSpec
from .table import Transition, TransitionTable

STATES = ("unassigned", "standby", "promoting", "active", "demoting", "stopped")
HANDOVER_BACKOFF_MAX = 6  # a refused hand-over is tried again after at most 2**6 x handover_after



def _rows(states: tuple[str, ...], stimulus: str, target: str | None, note: str = "") -> list[Transition]:
    return [Transition(s, stimulus, target or s, note) for s in states]


ELECTION_TABLE = TransitionTable(
    "election",
    STATES,
    [
        *_rows(("unassigned", "standby", "promoting", "active", "demoting"), "unknown nominee", None, "electionError (rule 1)"),
        Transition("unassigned", "nomination before our opening", "unassigned", "held (rule 5)"),
        Transition("unassigned", "crossing nominations won", "promoting", "rule 5"),
        Transition("unassigned", "crossing nominations lost", "standby", "rule 5"),
        Transition("unassigned", "announcement", "standby", "rule 5"),
        Transition("unassigned", "assigned active", "promoting", "answer to our nomination"),
        Transition("unassigned", "assigned standby", "standby", "answer to our nomination"),
        Transition("unassigned", "election error", "unassigned", "logged"),
        Transition("unassigned", "no peer after startup_grace", "promoting", "witness reachable"),
        Transition("standby", "nomination of peer", "standby", "assigment (rule 3)"),
        Transition("standby", "nomination of self, healthy", "promoting", "assigment (rule 3)"),
        Transition("standby", "nomination of self, unhealthy or stopping", "standby", "veto (rule 3)"),
        Transition("standby", "nomination of self, in maintenance", "standby", "veto: no role change"),
        Transition("standby", "announcement", "standby"),
        Transition("standby", "assigned standby", "standby", "hand-over accepted"),
        Transition("standby", "assigned active", "promoting", "hand-over refused: promote again"),
        Transition("standby", "hand-over unanswered", "promoting", "link lost or error: promote again"),
        Transition("standby", "peer lost", "promoting", "failover"),
        Transition("standby", "peer lost, fence first", "standby", "RunFence; promote when it succeeds"),
        Transition("standby", "peer lost, witness first", "standby", "ProbeWitness; act on the fresh verdict"),
        Transition("unassigned", "no peer after startup_grace, witness first", "unassigned", "ProbeWitness; act on the fresh verdict"),
        Transition("unassigned", "no peer after startup_grace, fence first", "unassigned", "RunFence; promote when it succeeds"),
        Transition("standby", "peer lost, in maintenance", "standby", "no take-over until maintenance ends"),
        Transition("standby", "peer and witness lost", "unassigned", "isolated"),
        *_rows(("promoting", "active"), "nomination of self", None, "assigment (rule 2)"),
        *_rows(("promoting", "active"), "nomination of peer", None, "veto: no pre-emption (rule 2)"),
        *_rows(("promoting", "active"), "nomination of peer, we unhealthy", "demoting", "hand-over (rule 2)"),
        *_rows(("promoting", "active"), "nomination of peer, in maintenance", None, "veto: no role change"),
        *_rows(("promoting", "active"), "announcement, we sort first", None, "dual active: stay (rule 6)"),
        *_rows(("promoting", "active"), "announcement, peer sorts first", "demoting", "dual active: yield (rule 6)"),
        *_rows(("promoting", "active"), "peer lost", None, "witness not known unreachable; with a witness, ProbeWitness"),
        *_rows(("promoting", "active"), "peer and witness lost", "demoting", "isolated"),
        Transition("promoting", "promoted", "active"),
        Transition("active", "unhealthy for handover_after", "demoting", "hand-over: then nominate peer"),
        Transition("active", "switchover", "demoting", "by hand: then nominate peer"),
        Transition("unassigned", "peer lost", "unassigned", "wait for startup_grace"),
        Transition("demoting", "nomination", "demoting", "held until demoted (rule 4)"),
        Transition("demoting", "announcement", "demoting"),
        Transition("demoting", "peer lost", "demoting"),
        Transition("demoting", "demoted", "standby"),
        Transition("demoting", "demoted, rejoining", "unassigned", "freeze or isolation"),
        Transition("demoting", "demoted, stopping", "stopped"),
        *_rows(("unassigned", "standby"), "freeze", "unassigned", "rejoin"),
        *_rows(("promoting", "active", "demoting"), "freeze", "demoting", "demote at once, then rejoin"),
        *_rows(("unassigned", "standby"), "shutdown", "stopped"),
        *_rows(("promoting", "active", "demoting"), "shutdown", "demoting", "hand over if the peer is healthy"),
    ],
    initial="unassigned",
)


class Election:
    """The node's election state machine. Sans-IO: every method takes ``now``."""

    def __init__(self, spec: NodeSpec, now: float):
        self.spec = spec
        self.name = spec.name
        self.peer = spec.peer
        self.timers = spec.timers
        self.state = "unassigned"
        self.since = now        # when the state last changed
        self.activations = 0    # times this node became active (the first election included)
        self.health: bool | None = None       # ours; None until known
        self.peer_health: bool | None = None  # from its heartbeats
        # True: no witness configured, or one reachable; None: not probed yet
        # (blocks self-promotion but is not "isolated"); False: none reachable.
        self.witness_ok: bool | None = True if not spec.witness else None
        self.stopping = False
        self.maintenance = False              # change no role by ourselves (see the module doc)
        self.handover_refusals = 0            # hand-overs the peer refused since we were last healthy
        self.witness_at: float | None = None  # when the last witness verdict came
        self.lost_at = now                    # when the peer was last lost (or we started)
        self.awaiting_witness = False         # a take-over waits for a fresh verdict
        self.fence = spec.fence               # a fence command runs before any take-over
        self.fencing = False                  # the fence command is running
        self.fenced = False                   # it succeeded since the peer was lost
        self.fence_retry_at: float | None = None
        # The peer link.
        self.link: int | None = None          # the open connection
        self.link_up = False                  # a first PDU has arrived on it
        self.link_opened = now
        self.opening_sent = False
        self.own_nominee: str | None = None   # our opening's nominee on this link
        self.peer_alive = False               # a link came up and the peer was not lost since
        self.last_rx: float | None = None
        # Requests.
        self.pending: tuple[str, str] | None = None  # our nomination in flight: (correlationId, nominee)
        self.handing_over = False             # that nomination gives our role away
        self.crossed: tuple[str, str] | None = None  # our answered-by-crossing nomination: (correlationId, winner)
        self.held: list[tuple[str, str]] = []  # peer nominations to answer later
        self.then: str | None = None          # where a demotion leads: standby, nominate, rejoin, isolated, stop
        self.active_at_freeze: str | None = None
        self.started = now                    # start or rejoin: startup_grace runs from here
        self.active_since = now
        self.unhealthy_since: float | None = None
        self.last_now = now
        self.next_beat = now + self.timers.heartbeat_interval
        self._corr = Counter()       # our nominations
        self._beat_seq = Counter()   # our heartbeats to the peer
        self.entered: list[str] = []  # states entered since the node last looked, in order

    # -- queries ----------------------------------------------------------------------
    @property
    def wanted_role(self) -> Role:
        return Role.active if self.state in ("promoting", "active") else Role.standby

    @property
    def isolated(self) -> bool:
        return self.witness_ok is False and not self.peer_alive

    def deadline(self) -> float:
        d = self.next_beat
        if self.peer_alive and self.last_rx is not None:
            d = min(d, self.last_rx + self.timers.dead_time)
        if self.link is not None and not self.link_up:
            d = min(d, self.link_opened + self.timers.dead_time)
        if self.state == "unassigned" and not self.peer_alive:
            grace_end = self.started + self.timers.startup_grace
            if grace_end > self.last_now:
                d = min(d, grace_end)
        handover = self._handover_time()
        if handover is not None and handover > self.last_now:
            d = min(d, handover)
        if self.fence_retry_at is not None and self.fence_retry_at > self.last_now:
            d = min(d, self.fence_retry_at)
        return d

    # -- the freeze check, first thing on every call ----------------------------------------
    def check_freeze(self, now: float) -> tuple[list[Action], bool]:
        """Detect that our own loop stalled; returns the actions and whether it did."""
        gap = now - self.last_now
        self.last_now = now
        if gap <= self.timers.freeze_time + 1e-9 or self.state == "stopped":
            return [], False
        actions: list[Action] = [Log("warning", "election", f"our loop stalled for {gap:.3f} s (> {self.timers.freeze_time:g} s): rejoining")]
        if self.state in ("active", "promoting"):
            self.active_at_freeze = self.name
        elif self.state == "standby":
            self.active_at_freeze = self.peer
        actions += self._drop_link("we were frozen; rejoining through a new link")
        # Whatever we asked or were asked on that link died with it.
        self.pending = None
        self.handing_over = False
        self.crossed = None
        self.held = []
        self.peer_alive = False
        self.peer_health = None
        self.last_rx = None
        actions += self._go("freeze", now)
        if self.state == "demoting":
            if self.then != "stop":
                self.then = "rejoin"
        else:
            self.started = now
        return actions, True

    # -- the peer link --------------------------------------------------------------------------
    def peer_connected(self, link: int, now: float) -> list[Action]:
        actions: list[Action] = []
        if self.link is not None and self.link != link:
            actions += self._drop_link("replaced by a new connection")
        self.link = link
        self.link_up = False
        self.link_opened = now
        self.opening_sent = False
        self.own_nominee = None
        # Heartbeat first, so that the peer knows our health before our opening.
        actions.append(SendPeer(link, self._heartbeat()))
        return actions

    def peer_disconnected(self, link: int, now: float) -> list[Action]:
        if link != self.link:
            return []
        self.link = None
        actions: list[Action] = [Log("warning", "peer", "peer link closed")] if self.link_up else []
        self.link_up = False
        return actions + self._link_lost(now)

    def peer_refused(self, now: float) -> list[Action]:
        """Nothing listens at the peer's address: its agent is gone."""
        if not self.peer_alive:
            return []
        return self._peer_lost(now, "its address refused our connection")

    def peer_message(self, link: int, msg: ElectionMessage | HealthMonitorMessage, now: float) -> list[Action]:
        if link != self.link or self.state == "stopped":
            return []  # a late PDU from a connection we have closed
        self.last_rx = now
        actions: list[Action] = []
        if not self.link_up:
            self.link_up = True
            self.peer_alive = True
            self.fenced = False  # a later loss needs a fence of its own
            self.fence_retry_at = None
            self.awaiting_witness = False
            actions.append(Log("info", "peer", f"peer link up with {self.peer}"))
            actions += self._opening(now)
        if type(msg) is HealthMonitorMessage:
            return actions + self._peer_monitor(msg)
        body = msg.message
        corr = msg.correlation_id
        if type(body) is NominationMessage:
            return actions + self._nomination(corr, body.nominee, now)
        if corr == "":
            if type(body) is Assigment and body.active == self.peer and body.standby == self.name:
                return actions + self._announcement(now)
            return actions + [Log("warning", "election", f"ignored an unsolicited {type(body).__name__} that is not an announcement of {self.peer}: {body!r}")]
        return actions + self._reply(corr, body, now)

    def _peer_monitor(self, msg: HealthMonitorMessage) -> list[Action]:
        body = msg.message
        if msg.component_id != "":
            return [Log("warning", "peer", f"ignored a monitor PDU with componentId {msg.component_id!r} on the peer link")]
        if type(body) is HealthQuery:
            return [SendPeer(self.link, HealthMonitorMessage(msg.correlation_id, "", HealthQueryResponse(bill(self.health))))]
        healthy = body.bill_of_health.status == ComponentStatus.ok
        if healthy != self.peer_health:
            self.peer_health = healthy
            return [Log("info", "peer", f"peer {self.peer} is {'healthy' if healthy else 'unhealthy'}")]
        return []

    # -- health, witness, shutdown ------------------------------------------------------------
    def set_health(self, health: bool | None, now: float) -> list[Action]:
        if health == self.health:
            return []
        self.health = health
        if health is False:
            self.unhealthy_since = now
        else:
            self.handover_refusals = 0  # a new fault gets a hand-over after handover_after again
        actions: list[Action] = []
        if self.link is not None:
            actions.append(SendPeer(self.link, self._heartbeat()))  # tell the peer now, not next interval
        if self.state == "unassigned" and self.link_up and not self.opening_sent:
            actions += self._opening(now)
        return actions

    def set_witness(self, reachable: bool, now: float) -> list[Action]:
        self.witness_at = now
        if self.awaiting_witness:
            # The fresh verdict a take-over was waiting for.
            self.awaiting_witness = False
            changed = self._witness_verdict(reachable, now)
            return changed + self._retake(now)
        return self._witness_verdict(reachable, now)

    def _witness_verdict(self, reachable: bool, now: float) -> list[Action]:
        if reachable == self.witness_ok:
            return []
        if reachable and self.witness_ok is False and self.state == "unassigned":
            self.started = now  # back from isolation: electing again, the peer gets startup_grace
        self.witness_ok = reachable
        actions: list[Action] = [Log("info" if reachable else "warning", "election", f"witness {'reachable' if reachable else 'unreachable'}")]
        if not reachable and not self.peer_alive and self.state in ("active", "promoting"):
            self.then = "isolated"
            actions += self._go("peer and witness lost", now)
        return actions + self._maybe_self_promote(now)

    def shutdown(self, now: float) -> list[Action]:
        if self.stopping or self.state == "stopped":
            return []
        self.stopping = True
        actions: list[Action] = [Log("info", "election", "shutting down")]
        if self.state in ("promoting", "active"):
            can_hand_over = self.link_up and self.peer_alive and self.peer_health is True
            self.then = "nominate" if can_hand_over else "stop"
        elif self.state == "demoting":
            if self.then != "nominate":
                self.then = "stop"
        elif self.pending is not None and self.handing_over:
            return actions  # our hand-over is in flight: stop once it is answered
        else:
            return actions + self._stop(now)  # unassigned or standby: nothing to hand over
        return actions + self._go("shutdown", now)

    def switchover_refusal(self) -> str | None:
        """Why a switchover cannot start now, or None when it can."""
        if self.maintenance:
            return "this node is in maintenance; turn it off first"
        if self.stopping:
            return "this node is shutting down"
        if self.state != "active":
            return f"this node is {self.state}, not active; run switchover on the active node"
        if not (self.link_up and self.peer_alive):
            return f"the peer link to {self.peer} is down"
        if self.peer_health is not True:
            return f"the peer {self.peer} is not healthy"
        return None

    def switchover_outcome(self) -> str:
        """Where a switchover this node started stands: ``"done"`` (the peer
        took the role, we are standby), ``"refused"`` (we hold the role
        again: the peer vetoed or did not answer), ``"interrupted"`` (we
        rejoin or stopped) or ``"running"``."""
        state = self.state
        if state == "standby" and self.pending is None:
            return "done"
        if state in ("promoting", "active") and self.then is None and self.pending is None:
            return "refused"
        if state in ("unassigned", "stopped"):
            return "interrupted"
        return "running"

    def switchover(self, now: float) -> list[Action]:
        """Hand the role to the peer by hand: demote, then nominate it."""
        refusal = self.switchover_refusal()
        if refusal is not None:
            return [Log("warning", "election", f"switchover refused: {refusal}")]
        self.then = "nominate"
        return [Log("info", "election", f"switchover: handing the role to {self.peer}")] + self._go("switchover", now)

    def set_maintenance(self, on: bool, now: float) -> list[Action]:
        """Maintenance on (no role changes by ourselves) or off (catch up)."""
        if on == self.maintenance:
            return []
        self.maintenance = on
        if on:
            return [Log("warning", "election", "maintenance on: monitoring and reporting, changing no role")]
        actions: list[Action] = [Log("info", "election", "maintenance off")]
        if self.state == "standby" and not self.peer_alive:
            return actions + self._without_peer(now)  # the peer was lost meanwhile
        return actions + self._maybe_self_promote(now)

    # -- the role subsystem reports -----------------------------------------------------------
    def role_settled(self, now: float, succeeded: bool) -> list[Action]:
        """The role subsystem has finished the promotion or demotion we asked for."""
        if self.state == "promoting":
            self.active_since = now
            actions = self._go("promoted", now)
            if not succeeded:
                actions.append(Log("warning", "election", "promoted with a failed required component: degraded"))
            return actions
        if self.state == "demoting":
            return self._demoted(now)
        return []

    # -- time ---------------------------------------------------------------------------------
    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        interval = self.timers.heartbeat_interval
        if now >= self.next_beat:
            if self.link is not None:
                actions.append(SendPeer(self.link, self._heartbeat()))
            self.next_beat += interval
            if self.next_beat <= now:
                self.next_beat = now + interval
        if self.peer_alive and self.last_rx is not None and now - self.last_rx >= self.timers.dead_time - 1e-9:
            actions += self._peer_lost(now, f"nothing received for {now - self.last_rx:.3f} s")
        if self.link is not None and not self.link_up and now - self.link_opened >= self.timers.dead_time - 1e-9:
            # A frozen process's kernel still accepts connections: one on which
            # nothing arrives is closed, so that the agent dials again.
            actions += self._drop_link("no PDU arrived on the new connection")
        if self.fence_retry_at is not None and now >= self.fence_retry_at - 1e-9 and self.state == "standby":
            actions += self._retake(now)
        actions += self._maybe_self_promote(now)
        handover = self._handover_time()
        if handover is not None and now >= handover - 1e-9:
            actions.append(Log("warning", "election", f"unhealthy for {now - max(self.unhealthy_since or now, self.active_since):.3f} s with a healthy peer: handing over"))
            self.then = "nominate"
            actions += self._go("unhealthy for handover_after", now)
        return actions

    # -- internals: openings, nominations, replies ------------------------------------------
    def _opening(self, now: float) -> list[Action]:
        if self.opening_sent or self.link is None:
            return []
        if self.state in ("active", "promoting"):
            self.opening_sent = True
            return [SendPeer(self.link, ElectionMessage("", Assigment(self.name, self.peer)))]
        if self.state == "standby":
            self.opening_sent = True
            return self._answer_held(now)
        if self.state == "unassigned" and self.health is not None:
            nominee = self.active_at_freeze or self.spec.preferred_node
            if nominee == self.name and not self.health:
                nominee = self.peer
            self.opening_sent = True
            self.own_nominee = nominee
            return self._nominate(nominee, handing_over=False) + self._answer_held(now)
        return []  # unassigned with unknown health, or demoting: later

    def _nominate(self, nominee: str, handing_over: bool) -> list[Action]:
        corr = self._corr.next()
        self.pending = (corr, nominee)
        self.handing_over = handing_over
        return [
            Log("info", "election", f"nominating {nominee}"),
            SendPeer(self.link, ElectionMessage(corr, NominationMessage(nominee))),
        ]

    def _answer_held(self, now: float) -> list[Action]:
        actions: list[Action] = []
        held, self.held = self.held, []
        for corr, nominee in held:
            actions += self._nomination(corr, nominee, now)
        return actions

    def _nomination(self, corr: str, nominee: str, now: float) -> list[Action]:
        if nominee not in (self.name, self.peer):
            self._check("unknown nominee")
            return self._send(corr, ElectionError(f"unknown nominee {nominee!r}: this pair is {self.name} and {self.peer}"))
        state = self.state
        if state == "unassigned":
            if not self.opening_sent or self.own_nominee is None:
                self.held.append((corr, nominee))
                return self._go("nomination before our opening", now)
            mine = self.own_nominee
            winner = nominee if nominee == mine else min(nominee, mine)
            loser = self.peer if winner == self.name else self.name
            answer = Assigment(winner, loser) if nominee == winner else Veto(winner, loser)
            # The peer answers our nomination from the same two facts: expect it.
            self.crossed = (self.pending[0], winner) if self.pending else None
            self.pending = None
            actions = self._send(corr, answer)
            return actions + self._go("crossing nominations won" if winner == self.name else "crossing nominations lost", now)
        if state == "standby":
            if nominee == self.peer:
                return self._send(corr, Assigment(self.peer, self.name)) + self._go("nomination of peer", now)
            if self.maintenance:
                return self._send(corr, Veto(self.peer, self.name)) + self._go("nomination of self, in maintenance", now)
            if self.health and not self.stopping:
                return self._send(corr, Assigment(self.name, self.peer)) + self._go("nomination of self, healthy", now)
            # Unhealthy, or shutting down: the peer keeps (or takes) the role.
            return self._send(corr, Veto(self.peer, self.name)) + self._go("nomination of self, unhealthy or stopping", now)
        if state in ("active", "promoting"):
            if nominee == self.name:
                return self._send(corr, Assigment(self.name, self.peer)) + self._go("nomination of self", now)
            if self.maintenance:
                return self._send(corr, Veto(self.name, self.peer)) + self._go("nomination of peer, in maintenance", now)
            if self.health is False and self.peer_health is True and not self.stopping:
                self.held.append((corr, nominee))
                self.then = "standby"
                return self._go("nomination of peer, we unhealthy", now)
            return self._send(corr, Veto(self.name, self.peer)) + self._go("nomination of peer", now)
        # Demoting (a stopped node gets no PDU: peer_message drops them).
        self.held.append((corr, nominee))
        return self._go("nomination", now)

    def _reply(self, corr: str, body, now: float) -> list[Action]:
        if self.crossed is not None and self.crossed[0] == corr:
            winner = self.crossed[1]
            self.crossed = None
            if type(body) in (Assigment, Veto) and body.active == winner:
                return []
            return [Log("error", "election", f"the peer resolved crossing nominations differently: {body!r}, we chose {winner}")]
        if self.pending is None or self.pending[0] != corr:
            return [Log("warning", "election", f"ignored a reply to an unknown or stale request {corr!r}: {body!r}")]
        handing_over = self.handing_over
        self.pending = None
        self.handing_over = False
        if type(body) is ElectionError:
            actions: list[Action] = [Log("error", "election", f"peer could not process our nomination: {body.description}")]
            if handing_over:
                return actions + self._refused_hand_over(now, "hand-over unanswered")
            if self.state == "unassigned":
                return actions + self._go("election error", now)
            return actions  # an announcement settled it meanwhile
        if {body.active, body.standby} != {self.name, self.peer}:
            return [Log("warning", "election", f"ignored a reply that does not name this pair: {body!r}")]
        if self.stopping and handing_over:
            return self._stop(now)
        if self.state not in ("unassigned", "standby"):
            # The election moved on since we nominated (a hand-over made us
            # promote): the answer is consistent, or overtaken.
            if body.active == self.name:
                return []
            return [Log("warning", "election", f"ignored an answer overtaken by the election: {body!r} while {self.state}")]
        if body.active == self.name:
            if handing_over:
                return self._refused_hand_over(now, "assigned active")
            return self._go("assigned active", now)
        return self._go("assigned standby", now)

    def _refused_hand_over(self, now: float, stimulus: str) -> list[Action]:
        if self.stopping:
            return self._stop(now)
        # The peer would not take the role (in maintenance, say): wait twice as
        # long before the next hand-over, so an unhealthy node does not demote
        # and promote again every handover_after.
        self.handover_refusals += 1
        if self.witness_ok is not True:
            return [Log("warning", "election", "hand-over refused but no witness is reachable: staying standby")]
        return self._go(stimulus, now)

    def _announcement(self, now: float) -> list[Action]:
        state = self.state
        if state in ("active", "promoting"):
            if self.name < self.peer:
                return [Log("warning", "election", f"dual active: {self.name} sorts first and stays active")] + self._go("announcement, we sort first", now)
            self.then = "standby"
            return [Log("warning", "election", f"dual active: {self.peer} sorts first; yielding")] + self._go("announcement, peer sorts first", now)
        if state == "standby" and self.pending is not None and self.handing_over:
            self.pending = None  # the peer took the role: our hand-over is done
            self.handing_over = False
            if self.stopping:
                return self._stop(now)
        if state == "unassigned":
            # Our nomination stays pending: the peer's answer to it is due and
            # consistent (assigned standby), not stale.
            self.opening_sent = True  # a standby's opening is nothing
            return self._go("announcement", now) + self._answer_held(now)
        return self._go("announcement", now) if state in ("standby", "demoting") else []

    # -- internals: loss, demotion, promotion --------------------------------------------
    def _link_lost(self, now: float) -> list[Action]:
        actions: list[Action] = []
        self.held = []  # their answers could not be delivered
        if self.pending is not None:
            handing_over = self.handing_over
            self.pending = None
            self.handing_over = False
            if handing_over:
                actions += self._refused_hand_over(now, "hand-over unanswered")
        return actions

    def _drop_link(self, reason: str) -> list[Action]:
        if self.link is None:
            return []
        link, self.link = self.link, None
        self.link_up = False
        return [ClosePeer(link, reason)]

    def _peer_lost(self, now: float, why: str) -> list[Action]:
        self.lost_at = now
        self.peer_alive = False
        self.peer_health = None
        actions: list[Action] = [Log("warning", "peer", f"peer {self.peer} lost: {why}")]
        actions += self._drop_link(f"peer lost: {why}")
        actions += self._link_lost(now)
        return actions + self._without_peer(now)

    def _without_peer(self, now: float) -> list[Action]:
        """React to having no peer: a standby takes over (if a witness allows),
        an active one that reaches no witness steps down."""
        actions: list[Action] = []
        state = self.state
        if state == "standby":
            if self.stopping:
                return actions + self._stop(now)
            if self.maintenance:
                return actions + [Log("warning", "election", "in maintenance: not taking over")] + self._go("peer lost, in maintenance", now)
            if self.witness_ok is True:
                return actions + self._take_over("peer lost", now)
            return actions + self._go("peer and witness lost", now)
        if state in ("active", "promoting"):
            if self.witness_ok is not False:  # demote only on a witness known unreachable
                actions += self._go("peer lost", now)
                # A verdict now, not at the next periodic probe: if we are the one
                # cut off, we step down before the peer (on its own fresh verdict) takes over.
                if self.spec.witness:
                    actions.append(ProbeWitness())
                return actions
            self.then = "isolated"
            return actions + self._go("peer and witness lost", now)
        if state in ("unassigned", "demoting"):
            actions += self._go("peer lost", now)
        return actions + self._maybe_self_promote(now)

    def _maybe_self_promote(self, now: float) -> list[Action]:
        if (
            self.state == "unassigned"
            and not self.peer_alive
            and self.witness_ok is True
            and not self.stopping
            and not self.maintenance
            and now >= self.started + self.timers.startup_grace - 1e-9
        ):
            return self._take_over("no peer after startup_grace", now)
        return []

    def _take_over(self, stimulus: str, now: float) -> list[Action]:
        """Promote without the peer's word: on a witness verdict newer than the
        loss (a node cut off from both would otherwise act on a stale one),
        after the fence command, if there is one."""
        if self.spec.witness and (self.witness_at is None or self.witness_at < self.lost_at):
            if self.awaiting_witness:
                return []
            self.awaiting_witness = True
            self._check(f"{stimulus}, witness first")
            return [Log("info", "election", f"{stimulus}: asking the witness before taking the role"), ProbeWitness()]
        if self.fence and not self.fenced:
            self._check(f"{stimulus}, fence first")
            if self.fencing or (self.fence_retry_at is not None and now < self.fence_retry_at - 1e-9):
                return []
            self.fencing = True
            self.fence_retry_at = None
            return [Log("warning", "election", f"{stimulus}: fencing {self.peer} before taking the role"), RunFence()]
        if self.state == "unassigned":
            return [Log("info", "election", f"no peer after startup_grace ({self.timers.startup_grace:g} s): promoting")] + self._go(stimulus, now)
        return self._go(stimulus, now)

    def fence_finished(self, ok: bool, now: float) -> list[Action]:
        """The fence command ended: take the role if it succeeded and the peer is still lost."""
        self.fencing = False
        if not ok:
            self.fence_retry_at = now + self.timers.dead_time
            return [Log("error", "election", f"the fence command failed: not taking the role; trying again in {self.timers.dead_time:g} s")]
        actions: list[Action] = [Log("info", "election", f"fenced {self.peer}")]
        if self.peer_alive:
            return actions + [Log("info", "election", f"{self.peer} is back: not taking the role")]
        self.fenced = True
        return actions + self._retake(now)

    def _retake(self, now: float) -> list[Action]:
        if self.state == "standby" and not self.peer_alive:
            return self._without_peer(now)
        return self._maybe_self_promote(now)

    def _demoted(self, now: float) -> list[Action]:
        then, self.then = self.then, None
        if then == "stop" or (self.stopping and then != "nominate"):
            return self._stop(now)
        if then in ("rejoin", "isolated"):
            actions = self._go("demoted, rejoining", now)
            if then == "rejoin":
                self.started = now
            return actions + self._after_landing(now)
        actions = self._go("demoted", now)
        if then == "nominate":
            if self.link_up and self.peer_alive:
                self.opening_sent = True
                return actions + self._nominate(self.peer, handing_over=True) + self._answer_held(now)
            if self.stopping:
                return actions + self._stop(now)
        return actions + self._after_landing(now)

    def _after_landing(self, now: float) -> list[Action]:
        """After a demotion: act on what happened meanwhile."""
        actions: list[Action] = []
        if self.state == "standby" and not self.peer_alive:
            return self._without_peer(now)  # the peer was lost while we demoted
        if self.link_up:
            actions += self._opening(now)
        actions += self._answer_held(now)
        return actions + self._maybe_self_promote(now)

    def _stop(self, now: float) -> list[Action]:
        actions = self._go("demoted, stopping" if self.state == "demoting" else "shutdown", now)
        return actions + self._drop_link("shutting down") + [Stopped()]

    def _handover_time(self) -> float | None:
        if (
            self.state == "active"
            and self.health is False
            and self.peer_health is True
            and self.link_up
            and not self.stopping
            and not self.maintenance
            and self.unhealthy_since is not None
        ):
            backoff = 2 ** min(self.handover_refusals, HANDOVER_BACKOFF_MAX)
            return max(self.unhealthy_since, self.active_since) + self.timers.handover_after * backoff
        return None

    # -- internals: plumbing ----------------------------------------------------------------------
    def _go(self, stimulus: str, now: float) -> list[Action]:
        t = ELECTION_TABLE.get(self.state, stimulus)
        if t.target == t.source:
            return []
        old, self.state = self.state, t.target
        self.entered.append(t.target)
        self.since = now
        if t.target == "active":
            self.activations += 1
        if t.target != "demoting":
            self.then = None  # only a demotion has somewhere to lead
        if t.target == "stopped":
            return [Log("info", "election", f"{old} -> stopped ({stimulus})")]
        if t.target in ("active", "promoting") and old not in ("active", "promoting"):
            self.active_at_freeze = None  # a new term: a later freeze records it anew
        if t.target == "unassigned":
            self.opening_sent = False  # an unassigned node nominates anew
            self.own_nominee = None
        return [Log("info", "election", f"{old} -> {t.target} ({stimulus})")]

    def _check(self, stimulus: str) -> None:
        ELECTION_TABLE.get(self.state, stimulus)

    def _send(self, corr: str, body) -> list[Action]:
        # Answers go out while a link exists: held nominations die with it.
        return [SendPeer(self.link, ElectionMessage(corr, body))]

    def _heartbeat(self) -> HealthMonitorMessage:
        return HealthMonitorMessage(self._beat_seq.next(), "", HeartBeat(bill(self.health)))

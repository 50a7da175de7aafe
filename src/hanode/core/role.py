"""Role subsystem (SPEC section 4, seed 3.2): each component's role, in order.

Rules:

- The node has a target role, ``active`` while it is promoting or active and
  ``standby`` otherwise. A promotion gives ``active`` to components in
  ascending ``order``, a demotion gives ``standby`` in descending ``order``;
  components of equal order go in parallel, and the next order goes only
  once every component of this one has answered (``success``, ``failure``)
  or timed out, or is unavailable (not connected, failed).
- A component registering, or recovering after a failure, is given the role
  it should have now (standby while the node is unassigned).
- At most one ``SetRole`` per component is outstanding. When the wanted role
  changes meanwhile, the newest is sent once the answer (or the timeout) is in.
- ``failure`` or no answer within ``set_role_timeout`` makes the component
  ``failed``; it is asked again after 1 s, doubling to 8 s, and counts as
  failed until it answers ``success``. A late answer to a request that timed
  out is ignored and logged. Command components have no timeout here: the
  agent bounds each command with ``command_timeout`` and always reports.
- A promotion succeeds when every required component answered ``success``;
  its outcome is reported once per target (what lets rule 2's hand-over of
  the election happen, as in seed 3.1.4).
"""

from __future__ import annotations

import heapq

from dataclasses import dataclass

from hanode.codec import ReturnCode, Role

from .events import Action, Log
from .ids import Counter
from .settings import ComponentSpec, NodeSpec
from .table import Transition, TransitionTable

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 8.0

ROLE_TABLE = TransitionTable(
    "component role",
    ("unassigned", "assigning", "standby", "active", "failed"),
    [
        Transition("unassigned", "SetRole sent", "assigning"),
        Transition("assigning", "success to standby", "standby"),
        Transition("failed", "success while unhealthy", "failed", "holds the role, failed until healthy"),
        Transition("failed", "failure", "failed", "retried with backoff"),
        Transition("failed", "timeout", "failed", "retried with backoff"),
        Transition("assigning", "success to active", "active"),
        Transition("assigning", "failure", "failed", "retried with backoff"),
        Transition("assigning", "timeout", "failed", "retried with backoff"),
        Transition("standby", "SetRole sent", "assigning"),
        Transition("active", "SetRole sent", "assigning"),
        Transition("failed", "SetRole sent", "assigning", "retry, or recovered"),
        Transition("unassigned", "component lost", "failed"),
        Transition("assigning", "component lost", "failed"),
        Transition("standby", "component lost", "failed"),
        Transition("active", "component lost", "failed"),
        Transition("failed", "component lost", "failed"),
    ],
    initial="unassigned",
)


@dataclass(frozen=True, slots=True)
class NotStandby:
    """A notice for the node: the component failed to go standby (answered
    failure or timed out) and may still be serving. Its connection is closed,
    which makes the component library fence itself, before the peer is
    allowed to promote."""

    component_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class AssignRole:
    """A notice for the node: send ``SetRole(role)`` to the component (or run
    its ``on_active``/``on_standby``)."""

    component_id: str
    role: Role
    correlation_id: str


class _Component:
    __slots__ = ("spec", "state", "available", "reachable", "confirmed", "outstanding", "deadline", "retry_at", "backoff", "failed_role", "failing", "stale")

    def __init__(self, spec: ComponentSpec):
        self.spec = spec
        self.state = "unassigned"
        self.available = False
        self.reachable = spec.kind == "command"  # the agent can always run a command
        self.confirmed: Role | None = None    # the role it last answered success for
        self.outstanding: tuple[str, Role] | None = None  # (correlationId, role)
        self.deadline: float | None = None
        self.retry_at: float | None = None
        self.backoff = BACKOFF_FIRST
        self.failed_role: Role | None = None  # the role it failed to take
        self.failing = False  # failed, and no success since: counts as failed while retried
        self.stale = False  # fenced while a request was out: its answer says nothing of the role now


class RoleManager:
    """Role assignment for this node's components. Sans-IO."""

    def __init__(self, spec: NodeSpec):
        self.components = {c.id: _Component(c) for c in spec.components}
        self.orders = sorted({c.order for c in spec.components})
        self._groups = {o: [c for c in self.components.values() if c.spec.order == o] for o in self.orders}
        # Command components are reachable from the start, with no notice to
        # say so: the first pass gives them their role (standby) too.
        self._unseen = [c for c in self.components.values() if c.reachable]
        self.target = Role.standby
        self._frontier = len(self.orders)  # index into orders; past the end: settled
        self._corr = Counter()  # our SetRole requests
        self.notices: list[AssignRole | NotStandby] = []
        self._failed_required = 0
        self._failed = 0
        # (time, component id) for every SetRole deadline and retry set,
        # dropped lazily once the component's own times no longer match:
        # O(log n) per change instead of a walk over every component.
        self._timers: list[tuple[float, str]] = []

    # -- queries ------------------------------------------------------------------
    @property
    def settled(self) -> bool:
        """Every order group has answered for the current target."""
        return self._frontier >= len(self.orders)

    @property
    def promotion_succeeded(self) -> bool:
        return all(c.confirmed == Role.active for c in self.components.values() if c.spec.required)

    @property
    def failed_required(self) -> int:
        """How many required components count as failed for their role."""
        return self._failed_required

    def state(self, component_id: str) -> str:
        return self.components[component_id].state

    def any_failed(self) -> bool:
        return self._failed > 0

    def active_components(self) -> list[str]:
        """Components that may be serving: confirmed active, or asked to be."""
        return [
            c.spec.id for c in self.components.values()
            if c.confirmed == Role.active or (c.outstanding is not None and c.outstanding[1] == Role.active)
        ]

    def deadline(self) -> float | None:
        timers = self._timers
        while timers:
            t, cid = timers[0]
            c = self.components[cid]
            if t == c.deadline or t == c.retry_at:
                return t
            heapq.heappop(timers)
        return None

    def _arm(self, c: _Component, t: float) -> float:
        heapq.heappush(self._timers, (t, c.spec.id))
        return t

    # -- inputs -------------------------------------------------------------------------
    def set_target(self, role: Role, now: float) -> list[Action]:
        """The node's role changed: start promoting (ascending) or demoting (descending)."""
        if role == self.target:
            return []
        self.target = role
        self._frontier = 0
        for c in self.components.values():
            c.retry_at = None  # a failed component is asked at once for the new role
        self._advance(now, self.components.values())
        return []

    def availability(self, component_id: str, available: bool, reachable: bool, now: float, reason: str = "") -> list[Action]:
        """The monitor says whether a component is healthy (``available``) and
        whether a role can be sent to it (``reachable``)."""
        c = self.components[component_id]
        was_reachable, c.reachable = c.reachable, reachable
        c.available = available
        if not reachable:
            c.outstanding = None
            c.deadline = None
        if available:
            # Recovered or (re)connected: its role is unknown, give it ours again.
            c.confirmed = None
            c.backoff = BACKOFF_FIRST
            c.retry_at = None
        elif c.state != "unassigned" or was_reachable:
            if not reachable:
                c.confirmed = None
            self._set(c, ROLE_TABLE.get(c.state, "component lost").target)
        self._advance(now, (c,))
        return []

    def reassign(self, component_id: str, now: float) -> list[Action]:
        """The component's role is unknown (fenced behind our back): give it ours again."""
        c = self.components[component_id]
        c.confirmed = None
        c.retry_at = None
        if c.outstanding is not None:
            # The guard undid a command that is still running, or will undo what
            # it is about to do: its answer cannot be trusted; ask again after it.
            c.stale = True
        self._advance(now, (c,))
        return []

    def response(self, component_id: str, correlation_id: str, code: ReturnCode, now: float) -> list[Action]:
        """A ``SetRoleResponse`` from a component."""
        c = self.components[component_id]
        if c.outstanding is None or c.outstanding[0] != correlation_id:
            return [Log("warning", "role", f"component {component_id}: ignored a SetRoleResponse to unknown or stale request {correlation_id!r}")]
        role = c.outstanding[1]
        return self._answered(c, role, code == ReturnCode.success, now, "answered failure")

    def command_finished(self, component_id: str, command: str, ok: bool, now: float) -> list[Action]:
        """A command component's ``on_active``/``on_standby`` has ended."""
        c = self.components[component_id]
        role = Role.active if command == "on_active" else Role.standby
        if c.outstanding is None or c.outstanding[1] != role:
            return [Log("warning", "role", f"component {component_id}: ignored the end of an unexpected {command}")]
        return self._answered(c, role, ok, now, f"{command} failed")

    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        due = []
        for c in self.components.values():
            if c.deadline is not None and now >= c.deadline and c.outstanding is not None:
                role = c.outstanding[1]
                actions.append(Log("warning", "role", f"component {c.spec.id} ({c.spec.name}): SetRole({role.name}) timed out after {c.spec.set_role_timeout} s"))
                actions += self._answered(c, role, False, now, "timed out")
            elif c.retry_at is not None and now >= c.retry_at:
                c.retry_at = None
                due.append(c)
        self._advance(now, due)
        return actions

    # -- internals ------------------------------------------------------------------------
    def _answered(self, c: _Component, role: Role, ok: bool, now: float, why: str) -> list[Action]:
        c.outstanding = None
        c.deadline = None
        actions: list[Action] = []
        stale, c.stale = c.stale, False
        if ok:
            # Fenced while this request ran: the role it reports may be gone
            # already; left unconfirmed, it is given again just below.
            c.confirmed = None if stale else role
            c.backoff = BACKOFF_FIRST
            c.failed_role = None
            # Its health failed while the request was out: it holds the role
            # now (a demotion must reach it) but stays failed until healthy.
            stimulus = f"success to {role.name}" if c.state == "assigning" else "success while unhealthy"
            self._set(c, ROLE_TABLE.get(c.state, stimulus).target)
        else:
            c.confirmed = None
            c.failed_role = role
            # Back off only when asking again for the same role; a role wanted
            # since goes out at once (SPEC 4: the newest, once the answer is in).
            c.retry_at = self._arm(c, now + c.backoff) if self._wanted_now(c) == role else None
            actions.append(Log("warning", "role", f"component {c.spec.id} ({c.spec.name}) could not become {role.name}: {why}; retry in {c.backoff:g} s"))
            if role == Role.standby:
                self.notices.append(NotStandby(c.spec.id, why))
            c.backoff = min(c.backoff * 2, BACKOFF_MAX)
            self._set(c, ROLE_TABLE.get(c.state, "failure" if why != "timed out" else "timeout").target)
        self._advance(now, (c,))
        return actions

    def _set(self, c: _Component, state: str) -> None:
        c.state = state
        if state == "failed":
            self._failing(c, True)
        elif state in ("active", "standby"):
            self._failing(c, False)

    def _failing(self, c: _Component, failing: bool) -> None:
        change = failing - c.failing
        c.failing = failing
        self._failed += change
        if c.spec.required:
            self._failed_required += change

    def _group_done(self, order: int) -> bool:
        for c in self._groups[order]:
            if not c.reachable:
                continue
            if c.outstanding is not None:
                return False
            if c.confirmed != self.target and c.failed_role != self.target:
                return False
        return True

    @property
    def _frontier_order(self) -> int:
        """The order group the frontier stands at (not settled): ascending
        while promoting, descending while demoting."""
        index = self._frontier if self.target == Role.active else len(self.orders) - 1 - self._frontier
        return self.orders[index]

    def _advance(self, now: float, touched) -> None:
        """Send what the frontier allows to the ``touched`` components (those
        whose facts just changed), moving the frontier on while groups are
        done; each group it reaches is examined in turn. O(touched + group),
        not O(components), per event."""
        if self._unseen:
            touched, self._unseen = [*touched, *self._unseen], []
        self._send_due(now, touched)
        while not self.settled and self._group_done(self._frontier_order):
            self._frontier += 1
            if self.settled:
                # Past the last group everyone wants the target: outside the
                # frontier a component may have been left as it was.
                self._send_due(now, self.components.values())
            else:
                self._send_due(now, self._groups[self._frontier_order])

    def _send_due(self, now: float, candidates) -> None:
        for c in candidates:
            if not c.reachable or c.outstanding is not None or c.retry_at is not None:
                continue
            wanted = self._wanted_now(c)
            if wanted is None or wanted == c.confirmed:
                continue
            corr = self._corr.next()
            c.outstanding = (corr, wanted)
            if c.spec.kind == "process":
                c.deadline = self._arm(c, now + c.spec.set_role_timeout)
            self._set(c, ROLE_TABLE.get(c.state, "SetRole sent").target)
            self.notices.append(AssignRole(c.spec.id, wanted, corr))

    def _wanted_now(self, c: _Component) -> Role | None:
        """The role ``c`` should be given now, or None to leave it as it is.

        Inside the frontier it gets the target. Outside it, a component whose
        role is unknown (just registered, recovered) gets standby, the safe
        role; one that has a role keeps it until the frontier reaches it."""
        if self.settled:
            return self.target
        order = self._frontier_order
        reached = c.spec.order <= order if self.target == Role.active else c.spec.order >= order
        if reached:
            return self.target
        return Role.standby if c.confirmed is None else None

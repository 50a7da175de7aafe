"""What an agent shows the outside: a frozen snapshot of one node.

The dashboard, the HTTP endpoints (``/status``, ``/metrics``) and the
control socket's answers are pure functions of a :class:`Snapshot`, so they
are tested on hand-made snapshots without an agent, a terminal or a socket.
The agent takes one with :meth:`hanode.agent.Agent.snapshot`.

Times are seconds; ages are measured at ``taken_at`` (None: never seen).
Event times are wall-clock (``time.time()``), for people. ``events`` are the
most recent (at most ``MAX_EVENTS``), oldest first. Names and event texts
are shown to people as they are: a renderer must not trust them to be free
of control characters.

Vocabularies: ``state`` is one of ``hanode.core.election.STATES``,
``status`` one of ``hanode.core.status.TOKENS``, ``ComponentView.role`` a
state of ``ROLE_TABLE`` and ``ComponentView.health`` one of
``HEALTH_TABLE`` (hanode.core.role, hanode.core.monitor); ``role`` is
"active" while the state is promoting or active.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MAX_EVENTS = 50


@dataclass(frozen=True, slots=True)
class PeerView:
    """The peer node as this node sees it."""

    name: str
    address: str
    connected: bool                  # a peer connection is open
    alive: bool                      # the election counts the peer as alive
    heartbeat_age: float | None      # since the peer last spoke
    rtt: float | None                # last measured round trip on the peer link
    healthy: bool | None             # the health the peer reports in its heartbeats


@dataclass(frozen=True, slots=True)
class ComponentView:
    """One configured component."""

    id: str
    name: str
    kind: str                        # "process" or "command"
    order: int
    required: bool
    connected: bool                  # process: a bound connection; command: always
    role: str                        # the role state: unassigned, assigning, active, standby, failed
    health: str                      # unregistered, healthy, suspect, failed
    heartbeat_age: float | None      # since it last spoke (commands: since the last check)
    heartbeats_per_s: float | None   # messages per second over the last snapshot period


@dataclass(frozen=True, slots=True)
class EventView:
    """One line of the agent's recent events (elections, roles, failures, clients)."""

    at: float                        # wall clock
    level: str                       # info, warning, error
    kind: str                        # election, role, monitor, status, ...
    text: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One node, at one moment."""

    name: str
    state: str                       # the election state (unassigned, active, standby, ...)
    role: str                        # "active" or "standby"
    status: str                      # the service status token clients see
    in_state_for: float              # seconds since the election state last changed
    healthy: bool | None             # this node's health (None: not known yet)
    maintenance: bool                # no role changes while on
    witness: bool | None             # a witness answered the last probe (None: none configured or not probed)
    peer: PeerView
    components: tuple[ComponentView, ...] = ()
    events: tuple[EventView, ...] = ()
    clients: int = 0                 # status clients connected
    failovers: int = 0               # times this node became active since it started
    taken_at: float = 0.0            # wall clock
    pid: int = 0

    def to_dict(self) -> dict:
        """Plain types only: the ``/status`` JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> "Snapshot":
        """The inverse of :meth:`to_dict` (what ``/status`` serves); raises
        ValueError naming the field when ``doc`` is not a snapshot."""
        try:
            fields = dict(doc)
            fields["peer"] = PeerView(**doc["peer"])
            fields["components"] = tuple(ComponentView(**c) for c in doc.get("components", ()))
            fields["events"] = tuple(EventView(**e) for e in doc.get("events", ()))
            return cls(**fields)
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a hanode status snapshot: {e}") from None

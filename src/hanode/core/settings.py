"""What the cores need to know about the pair: names, timers, components.

The TOML configuration of ``hanode run`` is validated into these; the cores
trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Timers:
    """The pair's timers; both nodes and every component library must agree."""

    heartbeat_interval: float = 0.1
    """Seconds between heartbeats, peer and components."""
    dead_after: int = 3
    """Missed intervals before a peer or component is lost (at least 2)."""
    startup_grace: float = 2.0
    """Seconds an unassigned node waits for its peer, and for its components to register."""
    handover_after: float = 1.0
    """Seconds an active node stays unhealthy before it hands over to a healthy peer."""

    @property
    def dead_time(self) -> float:
        return self.heartbeat_interval * self.dead_after

    @property
    def freeze_time(self) -> float:
        """A gap in our own loop longer than this means we were frozen: our peer
        may already have declared us lost (SPEC section 3, Freeze)."""
        return self.heartbeat_interval * (self.dead_after - 1)


@dataclass(frozen=True)
class ComponentSpec:
    """One component of this node."""

    id: str
    name: str
    order: int = 0
    required: bool = True
    set_role_timeout: float = 5.0
    kind: Literal["process", "command"] = "process"
    check_interval: float = 1.0
    """Command components only: seconds between ``check`` runs."""


@dataclass(frozen=True)
class NodeSpec:
    """This node, its peer and its components."""

    name: str
    peer: str
    timers: Timers = field(default_factory=Timers)
    components: tuple[ComponentSpec, ...] = ()
    preferred: str | None = None
    """The node a fresh pair makes active; by default the name that sorts first."""
    fence: bool = False
    """A fence command is configured: run it before taking the role without the peer's word."""
    witness: bool = False
    """Whether witnesses are configured (the agent probes them and reports reachability)."""

    @property
    def preferred_node(self) -> str:
        return self.preferred if self.preferred is not None else min(self.name, self.peer)

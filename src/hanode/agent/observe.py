"""What the agent shows the outside: its :class:`~hanode.snapshot.Snapshot`,
and the peer link's round-trip time.

Read-only over the agent and its node: taking a snapshot changes nothing
the node decides on. Per-component message rates are computed between two
snapshots at least ``RATE_WINDOW`` apart.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import trio

from hanode.codec import HealthMonitorMessage, HealthQuery, HealthQueryResponse
from hanode.snapshot import MAX_EVENTS, ComponentView, EventView, PeerView, Snapshot

if TYPE_CHECKING:
    from .agent import Agent

RATE_WINDOW = 0.5          # seconds between the counts a rate is computed from
RTT_PERIOD = 1.0           # seconds between round-trip probes of the peer link
_RTT_FIRST = 9_000_000_000_000_000  # our probes' correlationIds, apart from the node's


class Observer:
    """Snapshots of one agent, and the peer link's round-trip probes."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.rtt: float | None = None
        self._probes: dict[str, float] = {}
        self._next_probe = _RTT_FIRST
        self._counts: dict[str, tuple[float, int]] = {}  # component id -> (when, messages) at the last rate
        self._rates: dict[str, float] = {}

    # -- round-trip time ----------------------------------------------------------------
    async def probe_peer(self) -> None:
        """Every RTT_PERIOD, a healthQuery on the peer link (SPEC 5: an agent may
        measure the link's round-trip time this way)."""
        while True:
            peer = self.agent.peer
            if peer is not None and not peer.closed and peer.received:
                corr = str(self._next_probe)
                self._next_probe += 1
                self._probes = {corr: trio.current_time()}  # only the newest probe counts
                peer.send(HealthMonitorMessage(corr, "", HealthQuery()))
            await trio.sleep(RTT_PERIOD)

    def peer_message(self, msg) -> None:
        """Every PDU from the peer passes here first: an answer to our probe
        gives the round-trip time (and still goes to the node, as health)."""
        if type(msg) is HealthMonitorMessage and type(msg.message) is HealthQueryResponse:
            sent = self._probes.pop(msg.correlation_id, None)
            if sent is not None:
                self.rtt = trio.current_time() - sent

    # -- snapshots ------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        agent = self.agent
        node = agent.node
        now = trio.current_time()
        wall = time.time()
        config = agent.config
        if node is None:  # not started yet
            return Snapshot(
                name=config.name, state="unassigned", role="standby", status="electing", in_state_for=0.0,
                healthy=None, maintenance=False, witness=None,
                peer=PeerView(config.peer_name, str(config.peer_address), False, False, None, None, None),
                taken_at=wall, pid=os.getpid(),
            )
        election = node.election
        peer = agent.peer
        peer_view = PeerView(
            name=config.peer_name,
            address=str(config.peer_address),
            connected=peer is not None and not peer.closed,
            alive=election.peer_alive,
            heartbeat_age=None if election.last_rx is None else now - election.last_rx,
            rtt=self.rtt if election.peer_alive else None,
            healthy=election.peer_health,
        )
        components = tuple(self._component(c, now) for c in config.components)
        events = tuple(
            EventView(wall - (now - t), a.level, a.kind, a.text) for t, a in list(agent.recent)[-MAX_EVENTS:]
        )
        return Snapshot(
            name=config.name,
            state=node.state,
            role=election.wanted_role.name,
            status=node.status.status,
            in_state_for=now - election.since,
            healthy=node.healthy(now),
            maintenance=election.maintenance,
            witness=election.witness_ok if config.witness else None,
            peer=peer_view,
            components=components,
            events=events,
            clients=len(agent.clients),
            failovers=election.activations,
            taken_at=wall,
            pid=os.getpid(),
        )

    def _component(self, c, now: float) -> ComponentView:
        node = self.agent.node
        monitor = node.monitor
        conn_id = monitor.components[c.id].conn
        conn = self.agent.components.get(conn_id) if conn_id is not None else None
        return ComponentView(
            id=c.id,
            name=c.name,
            kind=c.kind,
            order=c.order,
            required=c.required,
            connected=monitor.reachable(c.id),
            role=node.roles.state(c.id),
            health=monitor.state(c.id),
            heartbeat_age=monitor.heartbeat_age(c.id, now),
            heartbeats_per_s=self._rate(c.id, conn.received if conn is not None else None, now),
        )

    def _rate(self, cid: str, count: int | None, now: float) -> float | None:
        if count is None:
            self._counts.pop(cid, None)
            self._rates.pop(cid, None)
            return None
        last = self._counts.get(cid)
        if last is None or count < last[1]:  # first sight, or a new connection
            self._counts[cid] = (now, count)
            return None
        if now - last[0] >= RATE_WINDOW:
            self._rates[cid] = (count - last[1]) / (now - last[0])
            self._counts[cid] = (now, count)
        return self._rates.get(cid)

"""Prometheus metrics of one node, rendered from a :class:`~hanode.snapshot.Snapshot`.

:func:`render_metrics` is a pure function of the snapshot: a fresh
``CollectorRegistry`` holding one collector per call, so nothing is global
and a test needs no agent. prometheus-client writes the text format; names
follow its conventions: the ``hanode_`` prefix, base units (seconds),
``_total`` on counters. Every sample carries ``node`` (this node's name).

Booleans are 0 or 1. A value the snapshot does not know (None) is left out
rather than written as 0 or NaN, so "never seen" never reads as "fresh".
Tokens (status, component role) are exported state-set style: one sample per
series with the current token as a label and the value 1; a change of token
ends the old series, so query the token you care about
(``hanode_status{status="active"} == 1``) or use ``hanode_active``.

Metrics:

- ``hanode_up``: always 1 (the agent answered).
- ``hanode_active``: 1 on the node serving the active role (role and
  election state both ``active``), else 0.
- ``hanode_status{status}``: 1 for the current service status token.
- ``hanode_failovers_total``: times this node became active since it started.
- ``hanode_maintenance``: 1 while maintenance mode holds role changes.
- ``hanode_peer_connected``: 1 while a peer connection is open.
- ``hanode_peer_alive``: 1 while the election counts the peer as alive.
- ``hanode_peer_heartbeat_age_seconds``: since the peer last spoke
  (left out until it has).
- ``hanode_peer_rtt_seconds``: last round trip on the peer link (left out
  until measured).
- ``hanode_healthy``: this node's health (left out while not known).
- ``hanode_component_heartbeat_age_seconds{component,name}``: since the
  component last spoke (left out for one that never has).
- ``hanode_component_healthy{component,name}``: 1 when its health is
  ``healthy``.
- ``hanode_component_role{component,name,role}``: 1 for its current role
  state.
- ``hanode_status_clients``: status clients connected.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hanode.snapshot import Snapshot

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The ``Content-Type`` of :func:`render_metrics`' output."""


def render_metrics(snapshot: Snapshot) -> bytes:
    """The Prometheus text exposition of ``snapshot`` (see the module docstring)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)


class _SnapshotCollector(Collector):
    """Yields the metric families of one snapshot; registered in a throwaway registry."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot
        node = [s.name]

        def gauge(name: str, doc: str, value: float | bool | None) -> Iterator[Metric]:
            # None: unknown, so no sample at all (and no empty family either).
            if value is not None:
                family = GaugeMetricFamily(name, doc, labels=["node"])
                family.add_metric(node, float(value))
                yield family

        yield from gauge("hanode_up", "1: the agent answered.", 1)
        yield from gauge(
            "hanode_active",
            "1 on the node serving the active role (role and election state both active).",
            s.role == "active" and s.state == "active",
        )
        status = GaugeMetricFamily(
            "hanode_status", "1 for the current service status token.", labels=["node", "status"]
        )
        status.add_metric([s.name, s.status], 1.0)
        yield status
        failovers = CounterMetricFamily(
            "hanode_failovers", "Times this node became active since it started.", labels=["node"]
        )
        failovers.add_metric(node, float(s.failovers))
        yield failovers
        yield from gauge("hanode_maintenance", "1 while maintenance mode holds role changes.", s.maintenance)
        yield from gauge("hanode_peer_connected", "1 while a peer connection is open.", s.peer.connected)
        yield from gauge("hanode_peer_alive", "1 while the election counts the peer as alive.", s.peer.alive)
        yield from gauge(
            "hanode_peer_heartbeat_age_seconds", "Seconds since the peer last spoke.", s.peer.heartbeat_age
        )
        yield from gauge("hanode_peer_rtt_seconds", "Last round trip on the peer link, in seconds.", s.peer.rtt)
        yield from gauge("hanode_healthy", "1 while this node is healthy.", s.healthy)

        labels = ["node", "component", "name"]
        age = GaugeMetricFamily(
            "hanode_component_heartbeat_age_seconds", "Seconds since the component last spoke.", labels=labels
        )
        healthy = GaugeMetricFamily(
            "hanode_component_healthy", "1 while the component's health is healthy.", labels=labels
        )
        role = GaugeMetricFamily(
            "hanode_component_role", "1 for the component's current role state.", labels=[*labels, "role"]
        )
        for c in s.components:
            ids = [s.name, c.id, c.name]
            if c.heartbeat_age is not None:
                age.add_metric(ids, c.heartbeat_age)
            healthy.add_metric(ids, float(c.health == "healthy"))
            role.add_metric([*ids, c.role], 1.0)
        for family in (age, healthy, role):
            if family.samples:
                yield family

        yield from gauge("hanode_status_clients", "Status clients connected.", s.clients)

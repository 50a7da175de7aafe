"""hanode.metrics: the Prometheus exposition of a snapshot, read back by a parser.

Every test parses the output with prometheus-client's own text parser and
compares samples, so a wrong name, label, unit or value mapping fails (the
snapshots use a distinct value for every field), and so does a sample that
should have been left out.
"""

from __future__ import annotations

import dataclasses

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hanode.metrics import CONTENT_TYPE, render_metrics
from hanode.snapshot import ComponentView, PeerView, Snapshot


def make_snapshot(**changes) -> Snapshot:
    """An active node with two components; every number distinct."""
    snapshot = Snapshot(
        name="alpha",
        state="active",
        role="active",
        status="degraded",
        in_state_for=12.5,
        healthy=True,
        maintenance=True,
        witness=True,
        peer=PeerView(
            name="beta", address="10.0.0.2:7400", connected=True, alive=False,
            heartbeat_age=0.375, rtt=0.0042, healthy=False,
        ),
        components=(
            ComponentView(
                id="db", name="Postgres", kind="process", order=1, required=True, connected=True,
                role="active", health="healthy", heartbeat_age=0.125, heartbeats_per_s=4.0,
            ),
            ComponentView(
                id="vip", name="Floating IP", kind="command", order=2, required=False, connected=True,
                role="failed", health="suspect", heartbeat_age=2.5, heartbeats_per_s=None,
            ),
        ),
        clients=3,
        failovers=7,
        taken_at=1_700_000_000.0,
        pid=4242,
    )
    return dataclasses.replace(snapshot, **changes)


def samples(snapshot: Snapshot) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of the parsed exposition; fails on a duplicate."""
    out: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(render_metrics(snapshot).decode("utf-8")):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in out, f"duplicate sample {key}"
            out[key] = sample.value
    return out


def key(metric: str, /, **labels: str) -> tuple[str, frozenset]:
    """A sample's key; ``node`` is "alpha" unless given."""
    return metric, frozenset({"node": "alpha", **labels}.items())


def test_every_sample_of_a_full_snapshot():
    db = {"component": "db", "name": "Postgres"}
    vip = {"component": "vip", "name": "Floating IP"}
    assert samples(make_snapshot()) == {
        key("hanode_up"): 1.0,
        key("hanode_active"): 1.0,
        key("hanode_status", status="degraded"): 1.0,
        key("hanode_failovers_total"): 7.0,
        key("hanode_maintenance"): 1.0,
        key("hanode_peer_connected"): 1.0,
        key("hanode_peer_alive"): 0.0,
        key("hanode_peer_heartbeat_age_seconds"): 0.375,
        key("hanode_peer_rtt_seconds"): 0.0042,
        key("hanode_healthy"): 1.0,
        key("hanode_component_heartbeat_age_seconds", **db): 0.125,
        key("hanode_component_heartbeat_age_seconds", **vip): 2.5,
        key("hanode_component_healthy", **db): 1.0,
        key("hanode_component_healthy", **vip): 0.0,
        key("hanode_component_role", **db, role="active"): 1.0,
        key("hanode_component_role", **vip, role="failed"): 1.0,
        key("hanode_status_clients"): 3.0,
    }


def test_types_and_help():
    families = {f.name: f for f in text_string_to_metric_families(render_metrics(make_snapshot()).decode())}
    assert families["hanode_failovers"].type == "counter"
    for name, family in families.items():
        assert name.startswith("hanode_")
        assert family.documentation, name
        if name != "hanode_failovers":
            assert family.type == "gauge", name


def test_unknown_values_are_left_out():
    peer = dataclasses.replace(make_snapshot().peer, heartbeat_age=None, rtt=None)
    db, vip = make_snapshot().components
    snapshot = make_snapshot(
        healthy=None, peer=peer, components=(db, dataclasses.replace(vip, heartbeat_age=None)),
    )
    got = samples(snapshot)
    names = {name for name, _ in got}
    assert not {"hanode_healthy", "hanode_peer_heartbeat_age_seconds", "hanode_peer_rtt_seconds"} & names
    ages = {labels for name, labels in got if name == "hanode_component_heartbeat_age_seconds"}
    assert ages == {key("hanode_component_heartbeat_age_seconds", component="db", name="Postgres")[1]}
    # The component without an age is still there in its other metrics.
    assert got[key("hanode_component_healthy", component="vip", name="Floating IP")] == 0.0


def test_false_is_zero_not_absent():
    peer = dataclasses.replace(make_snapshot().peer, connected=False, alive=True)
    got = samples(make_snapshot(healthy=False, maintenance=False, peer=peer, clients=0, failovers=0))
    assert got[key("hanode_healthy")] == 0.0
    assert got[key("hanode_maintenance")] == 0.0
    assert got[key("hanode_peer_connected")] == 0.0
    assert got[key("hanode_peer_alive")] == 1.0
    assert got[key("hanode_status_clients")] == 0.0
    assert got[key("hanode_failovers_total")] == 0.0


@pytest.mark.parametrize(
    ("role", "state", "active"),
    [
        ("active", "active", 1.0),
        ("active", "promoting", 0.0),  # components not all active yet
        ("active", "demoting", 0.0),
        ("standby", "standby", 0.0),
        ("standby", "unassigned", 0.0),
    ],
)
def test_active_needs_role_and_state(role, state, active):
    got = samples(make_snapshot(role=role, state=state, status=state))
    assert got[key("hanode_active")] == active
    assert got[key("hanode_status", status=state)] == 1.0
    assert [k for k in got if k[0] == "hanode_status"] == [key("hanode_status", status=state)]


def test_no_components_no_component_metrics():
    names = {name for name, _ in samples(make_snapshot(components=()))}
    assert not any(name.startswith("hanode_component_") for name in names)
    assert "hanode_up" in names


def test_label_values_are_escaped():
    odd = 'say "hi"\\ then\nleave'
    db = dataclasses.replace(make_snapshot().components[0], name=odd)
    got = samples(make_snapshot(name='node "1"', components=(db,)))
    assert got[key("hanode_component_role", node='node "1"', component="db", name=odd, role="active")] == 1.0


def test_render_is_pure():
    snapshot = make_snapshot()
    assert render_metrics(snapshot) == render_metrics(snapshot)
    # Nothing leaks into the process-wide default registry.
    assert prometheus_client.REGISTRY.get_sample_value("hanode_up", {"node": "alpha"}) is None


def test_content_type():
    assert CONTENT_TYPE == prometheus_client.CONTENT_TYPE_LATEST
    assert CONTENT_TYPE.startswith("text/plain")

"""End-to-end: what an operator uses, against a real pair on loopback.

``hanode switchover`` and ``hanode maintenance`` over the control socket,
the HTTP endpoints (/status, /active, /metrics) and the notify hook, with
real agents, real components and real signals. The same pair and fixtures as
tests/test_e2e.py (scaled timers, polled conditions, a sampler that reads
both nodes' role and marker files every few ms to catch any overlap).
"""

from __future__ import annotations

import json
import re
import os
import signal
import stat
import urllib.error
import urllib.request

import pytest

from e2e_pair import TIMERS, Pair, Sampler, StatusWatch, changes, cli, hold

pytestmark = pytest.mark.e2e

HANDOVER = TIMERS["handover_after"]


def http(pair: Pair, node: str, path: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{pair.http_addr(node)}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# -- switchover ---------------------------------------------------------------------------------------------


def test_switchover_moves_the_role_once_without_overlap(pair: Pair):
    with Sampler(pair) as sampler, StatusWatch(pair.status_port["alpha"], "alpha") as wa:
        done = cli("switchover", "--config", str(pair.config_path("alpha")), "--timeout", "20")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{pair.names['beta']} took the role; {pair.names['alpha']} is standby"
        pair.wait_for(lambda: pair.role("beta") == "active" and pair.marker("beta"), what="beta's components active")
        hold()
        assert (pair.status("alpha"), pair.status("beta")) == ("standby", "active")
    assert sampler.overlaps == [], sampler.describe()
    assert sampler.active_nodes() == ["alpha", "beta"]  # one change of the active node
    assert changes(wa)[-2:] == ["demoting", "standby"]


def test_switchover_refused_with_the_reason(pair: Pair):
    on_standby = cli("switchover", "--config", str(pair.config_path("beta")))
    assert on_standby.returncode == 1
    assert "refused" in on_standby.stderr and "not active; run switchover on the active node" in on_standby.stderr
    pair.control("beta", "unhealthy")  # the peer must be healthy to take the role
    pair.wait_status("beta", "failed")
    unhealthy_peer = cli("switchover", "--config", str(pair.config_path("alpha")))
    assert unhealthy_peer.returncode == 1 and "is not healthy" in unhealthy_peer.stderr
    assert (pair.status("alpha"), pair.status("beta")) == ("active", "failed")


def test_switchover_and_maintenance_without_an_agent_exit_2(make_pair):
    p = make_pair()  # never started: nothing listens on the control socket
    for args in (["switchover"], ["maintenance", "on"]):
        done = cli(*args, "--config", str(p.config_path("alpha")))
        assert done.returncode == 2 and "cannot reach the agent" in done.stderr


def test_control_socket_is_owner_only(pair: Pair):
    mode = os.stat(pair.control_path("alpha")).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


# -- maintenance ----------------------------------------------------------------------------------------


def test_maintenance_a_killed_component_changes_no_role(pair: Pair):
    for node in ("alpha", "beta"):
        done = cli("maintenance", "on", "--config", str(pair.config_path(node)))
        assert done.returncode == 0 and done.stdout.strip().endswith(": maintenance on")
    assert pair.http_status("alpha").maintenance and pair.http_status("beta").maintenance
    with Sampler(pair) as sampler:
        # A killed component cannot rewrite its role file: alpha's stays "active". The marker
        # (the command component) still tells whether alpha holds the role.
        sampler.ignore.add("role_a")
        pair.kill(pair.component("alpha"))  # kill -9 of alpha's sample component
        pair.wait_status("alpha", "degraded")
        hold(HANDOVER * 2)  # past handover_after: without maintenance alpha would hand over
        assert (pair.status("alpha"), pair.status("beta")) == ("degraded", "standby")
        assert pair.marker("alpha") and not pair.marker("beta")
        # Maintenance off on alpha: the hand-over it held back happens.
        done = cli("maintenance", "off", "--config", str(pair.config_path("alpha")))
        assert done.returncode == 0
        cli("maintenance", "off", "--config", str(pair.config_path("beta")))
        pair.wait_status("beta", "active")
    assert sampler.overlaps == [], sampler.describe()
    assert sampler.active_nodes() == ["alpha", "beta"]


# -- HTTP --------------------------------------------------------------------------------------------------


def test_http_endpoints_follow_a_failover(pair: Pair):
    assert http(pair, "alpha", "/active")[0] == 200
    assert http(pair, "beta", "/active")[0] == 503
    code, body = http(pair, "alpha", "/status")
    doc = json.loads(body)
    assert code == 200 and doc["name"] == pair.names["alpha"] and doc["status"] == "active"
    assert doc["peer"]["name"] == pair.names["beta"] and doc["peer"]["alive"] is True
    assert [(c["id"], c["role"], c["health"]) for c in doc["components"]] == [("1", "active", "healthy"), ("2", "active", "healthy")]
    code, metrics = http(pair, "alpha", "/metrics")
    assert code == 200 and 'hanode_active{node="%s"} 1.0' % pair.names["alpha"] in metrics.decode()
    pair.kill("alpha")
    pair.wait_for(lambda: http(pair, "beta", "/active")[0] == 200, what="beta /active 200")
    doc = json.loads(http(pair, "beta", "/status")[1])
    assert doc["status"] == "active" and doc["failovers"] == 1 and doc["peer"]["alive"] is False
    assert 'hanode_failovers_total{node="%s"} 1.0' % pair.names["beta"] in http(pair, "beta", "/metrics")[1].decode()


# -- the notify hook ----------------------------------------------------------------------------------------


class NotifyPair(Pair):
    """A pair whose agents run a notify hook that appends its arguments to a file."""

    def notify_log(self, node: str):
        return self.dir / f"{node}.notify"

    def config_text(self, node: str) -> str:
        script = self.dir / "notify.sh"
        script.write_text('#!/bin/sh\necho "$1 $2 $HANODE_SEQUENCE $HANODE_NODE" >> "$0.$HANODE_NODE"\n')
        script.chmod(0o755)
        return super().config_text(node) + f'\n[hooks]\nnotify = "{script}"\n'


def notify_calls(pair: NotifyPair, node: str) -> list[list[str]]:
    path = pair.dir / f"notify.sh.{pair.names[node]}"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_notify_runs_once_per_change_in_order(make_pair):
    pair = make_pair(cls=NotifyPair)
    pair.start_all()
    pair.wait_converged("alpha")
    pair.kill("alpha", signal.SIGTERM)  # a graceful stop: alpha hands over, beta promotes
    pair.wait_status("beta", "active")
    pair.wait_for(lambda: notify_calls(pair, "beta") and notify_calls(pair, "beta")[-1][1] == "active",
                  what="beta's hook told about active")
    for node in ("alpha", "beta"):
        calls = notify_calls(pair, node)
        assert calls[0][0] == "none", calls  # the first call's OLD is none (SPEC 7)
        assert [int(c[2]) for c in calls] == list(range(1, len(calls) + 1)), calls  # once each, in order
        for before, after in zip(calls, calls[1:]):
            assert after[0] == before[1], calls  # a chain: no change skipped
        assert all(c[3] == pair.names[node] for c in calls)
    assert [c[1] for c in notify_calls(pair, "alpha")][-2:] == ["active", "stopping"]
    assert notify_calls(pair, "beta")[-1][:2] == ["promoting", "active"]


# -- the authenticated peer link ------------------------------------------------------------------------------


class KeyedPair(Pair):
    """A pair whose peer link is authenticated with one cluster key."""

    def config_text(self, node: str) -> str:
        from hanode.peerauth import write_key

        key = self.dir / "cluster.key"
        if not key.exists():
            write_key(str(key))
        text = super().config_text(node)
        address = f'address = "127.0.0.1:{self.election_port[self.peer_of(node)]}"\n'
        assert address in text
        return text.replace(address, address + f'key_file = "{key}"\n', 1)


def test_authenticated_pair_fails_over_and_ignores_a_stranger(make_pair):
    pair = make_pair(cls=KeyedPair)
    pair.start_all()
    pair.wait_converged("alpha")
    for node in ("alpha", "beta"):
        text = pair.log_path(node).read_text()
        assert "authenticated with the cluster key" in text and "not authenticated" not in text
    # A stranger with another key at beta's election port: closed, and the election notices nothing.
    stranger(pair.election_port["beta"])
    # While the link is up a second peer connection is refused outright; with it down, the hello fails.
    pair.wait_for(lambda: re.search(r"refused a second peer connection|not signed with our cluster key",
                                    pair.log_path("beta").read_text()), what="beta logs the stranger")
    hold()
    assert (pair.status("alpha"), pair.status("beta")) == ("active", "standby")
    pair.kill("alpha")
    pair.wait_status("beta", "active")
    # With alpha gone the stranger is heard out, and its hello fails: beta stays active, alone.
    stranger(pair.election_port["beta"])
    pair.wait_for(lambda: "not signed with our cluster key" in pair.log_path("beta").read_text(),
                  what="beta refuses the stranger's hello")
    snapshot = pair.http_status("beta")
    assert snapshot.status == "active" and not snapshot.peer.alive


def stranger(port: int) -> None:
    """Connect as a peer with another cluster key, until the agent closes the connection."""
    import socket

    from hanode.peerauth import KEY_SIZE, PeerAuth

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(PeerAuth(b"\x07" * KEY_SIZE).hello())
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass  # closed with our hello unread: a reset


# -- the fence command ------------------------------------------------------------------------------------------


class FencedPair(Pair):
    """A pair whose nodes run a fence command before a take-over: it logs its
    environment, then exits with the status in the file ``fence.rc``."""

    def config_text(self, node: str) -> str:
        script = self.dir / "fence.sh"
        script.write_text('#!/bin/sh\necho "$HANODE_NODE fences $HANODE_PEER at $HANODE_PEER_ADDRESS" >> "$0.log"\n'
                          'exit "$(cat "$0.rc" 2>/dev/null || echo 0)"\n')
        script.chmod(0o755)
        text = super().config_text(node)
        listen = f'listen = "127.0.0.1:{self.election_port[node]}"\n'
        assert listen in text
        return text.replace(listen, listen + f'fence = "{script}"\nfence_timeout = 5.0\n', 1)


def test_fence_command_runs_before_the_take_over(make_pair):
    pair = make_pair(cls=FencedPair)
    (pair.dir / "fence.sh.rc").write_text("1")  # the fence fails at first
    pair.start_all()
    pair.wait_converged("alpha")
    pair.kill("alpha")
    log = pair.dir / "fence.sh.log"
    pair.wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2, what="beta tries to fence twice")
    assert log.read_text().splitlines()[0] == (
        f"{pair.names['beta']} fences {pair.names['alpha']} at 127.0.0.1:{pair.election_port['alpha']}"
    )
    assert pair.status("beta") == "standby" and not pair.marker("beta")  # no take-over while the fence fails
    assert "the fence command failed: not taking the role" in pair.log_path("beta").read_text()
    (pair.dir / "fence.sh.rc").write_text("0")
    pair.wait_status("beta", "active")
    assert "fenced " + pair.names["alpha"] in pair.log_path("beta").read_text()

"""End-to-end: a real pair of agents and real components on loopback.

Each test runs ``python -m hanode run`` twice (alpha and beta), one sample
process component per node and a command component per node (a marker file
stands in for a VIP), then injects one fault with a real signal and checks
the outcome SPEC sections 3-8 promise: the seed sequences 3.1.2 to 3.1.6,
a frozen agent, a crashed and a hung component, a graceful stop, status
indications, and the command line's exit statuses.

Timers are scaled up (``e2e_pair.TIMERS``: interval 0.2 s, dead_after 4,
startup_grace 2 s, handover_after 1.5 s) so that a loaded 2-core CI machine
does not turn scheduling delays into failovers; the benchmarks measure the
defaults. Nothing sleeps and hopes: every wait polls a condition with a
generous deadline, and every "never" is checked by a subscribed status client
or by a sampler that reads both nodes' role and marker files every few ms.
The only fixed waits are observation windows (``hold``) after the outcome,
in which a wrong second failover would be seen.
"""

from __future__ import annotations

import signal
import time

import pytest

from hanode.localpair import PY, free_ports

from e2e_pair import TIMERS, Pair, Sampler, StatusWatch, changes, cli, hold

pytestmark = pytest.mark.e2e

DEAD_TIME = TIMERS["heartbeat_interval"] * TIMERS["dead_after"]  # 0.8 s


def assert_never_both_active(sampler: Sampler, killed: float | None = None, window: float = 0.0) -> None:
    """No sample saw both nodes with an active component.

    After a kill -9 of the active agent (at ``killed``), the peer hears the
    refused connection within milliseconds and promotes while the dead
    agent's guard is still fencing: SPEC section 8 promises safety only while
    the peer link is up, and section 4 bounds the guard by dead_after - 1
    intervals. So an overlap is allowed there, within ``window`` seconds of
    the kill, and nowhere else."""
    bad = [(t, s) for t, s in sampler.overlaps if killed is None or not killed <= t <= killed + window]
    assert not bad, (
        f"both nodes held an active component at once ({len(bad)} samples), history:\n{sampler.describe()}"
    )


# -- the seed sequences (SPEC section 3) ---------------------------------------------------------

def test_startup_election_3_1_2(make_pair):
    p = make_pair()
    with Sampler(p) as sampler:
        p.start_all()
        p.wait_converged("alpha")
        hold()
    assert p.status("alpha") == "active" and p.status("beta") == "standby"
    assert p.role("alpha") == "active" and p.role("beta") == "standby"
    assert p.marker("alpha") and not p.marker("beta")
    assert sampler.active_nodes() == ["alpha"], sampler.describe()
    assert_never_both_active(sampler)


def test_active_restart_after_peer_promotion_3_1_3(pair):
    p = pair
    with Sampler(p) as sampler:
        killed = time.monotonic()
        p.kill("alpha")
        p.wait_for(lambda: p.role("beta") == "active" and p.marker("beta") and p.status("beta") == "active",
                   what="beta serving after alpha was killed")
        # the guard fenced alpha's command component (keepalived would leave the VIP behind)
        p.wait_for(lambda: not p.marker("alpha"), what="alpha's marker removed by its guard")
        gone = [t for t, s, _ in sampler.history if not s["marker_a"]]
        assert gone and gone[0] - killed <= DEAD_TIME, f"alpha's marker outlived its agent: {sampler.describe()}"
        # the component library fenced itself on the closed connection
        p.wait_for(lambda: p.role("alpha") == "standby", what="alpha's component fenced")
        with StatusWatch(p.status_port["beta"], "beta") as beta:
            p.restart("alpha")
            p.wait_for(lambda: p.status("alpha") == "standby" and p.role("alpha") == "standby",
                       what="the restarted alpha standby")
            hold()
        assert p.status("alpha") == "standby" and not p.marker("alpha")
        assert beta.tokens() == ["active"], f"beta left active during alpha's restart: {beta.events}"
    assert p.role("beta") == "active" and p.marker("beta")
    assert [n for n in sampler.active_nodes() if n != "both"] == ["alpha", "beta"], sampler.describe()
    assert_never_both_active(sampler, killed, DEAD_TIME)


def test_active_restart_during_peer_promotion_failure_3_1_4(pair):
    p = pair
    p.control("beta", "refuse")
    with Sampler(p) as sampler, StatusWatch(p.status_port["beta"], "beta") as beta:
        killed = time.monotonic()
        p.kill("alpha")
        p.wait_status("beta", "degraded")  # promoted with a component that refused the role
        assert p.role("beta") == "standby"
        p.restart("alpha")
        p.wait_for(lambda: p.status("alpha") == "active" and p.role("alpha") == "active" and p.marker("alpha")
                   and p.status("beta") in ("standby", "failed") and not p.marker("beta"),
                   what="the restarted healthy alpha active, beta standby")
        p.control("beta", "refuse", False)
        p.wait_status("beta", "standby")  # its component recovers: ready to take over again
        hold()
    assert p.status("alpha") == "active" and p.role("alpha") == "active" and p.marker("alpha")
    assert p.role("beta") == "standby" and not p.marker("beta")
    assert "promoting" in beta.tokens() and "degraded" in beta.tokens(), beta.events
    assert sampler.active_nodes()[-1] == "alpha", sampler.describe()
    assert_never_both_active(sampler, killed, DEAD_TIME)


def test_active_restart_during_peer_promotion_3_1_5(pair):
    p = pair
    p.control("beta", "delay", 3)  # beta's component takes 3 s to answer SetRole (set_role_timeout 6 s)
    with Sampler(p) as sampler, StatusWatch(p.status_port["beta"], "beta") as beta:
        killed = time.monotonic()
        p.kill("alpha")
        p.wait_status("beta", "promoting")
        p.restart("alpha")
        with StatusWatch(p.status_port["alpha"], "alpha") as alpha:
            p.wait_for(lambda: "standby" in alpha.tokens(), what="the restarted alpha standby")
            joined = [t for t, s in alpha.events if s == "standby"][0]
            p.wait_for(lambda: p.status("beta") == "active" and p.role("beta") == "active" and p.marker("beta"),
                       what="beta to complete its promotion")
            hold()
        promoted = [t for t, s in beta.events if s == "active"][0]
        assert joined < promoted, "alpha came back only after beta's promotion: the test did not hit the window"
        assert "active" not in alpha.tokens() and "promoting" not in alpha.tokens(), alpha.events
    assert changes(beta) == ["standby", "promoting", "active"], beta.events
    assert p.status("alpha") == "standby" and p.role("alpha") == "standby" and not p.marker("alpha")
    assert [n for n in sampler.active_nodes() if n != "both"] == ["alpha", "beta"], sampler.describe()
    assert_never_both_active(sampler, killed, DEAD_TIME)


def test_standby_restart_3_1_6(pair):
    p = pair
    with Sampler(p) as sampler, StatusWatch(p.status_port["alpha"], "alpha") as alpha:
        p.kill("beta")
        p.restart("beta")
        p.wait_for(lambda: p.status("beta") == "standby" and p.role("beta") == "standby",
                   what="the restarted beta standby")
        hold()
    assert alpha.tokens() == ["active"], f"alpha left active while beta restarted: {alpha.events}"
    assert p.role("alpha") == "active" and p.marker("alpha") and not p.marker("beta")
    assert sampler.active_nodes() == ["alpha"], sampler.describe()
    assert_never_both_active(sampler)


# -- more faults ----------------------------------------------------------------------------------

def test_frozen_active_agent_fails_over_once(pair):
    """SIGSTOP (no socket closes): the components fence themselves, beta takes
    over after dead_after intervals; SIGCONT: alpha rejoins standby."""
    p = pair
    with Sampler(p) as sampler, StatusWatch(p.status_port["beta"], "beta") as beta:
        p.kill("alpha", signal.SIGSTOP)
        p.wait_for(lambda: p.role("beta") == "active" and p.marker("beta"), what="beta serving")
        assert p.role("alpha") == "standby" and not p.marker("alpha"), "alpha's components did not fence"
        p.kill("alpha", signal.SIGCONT)
        p.wait_for(lambda: p.status("alpha") == "standby" and p.role("alpha") == "standby",
                   what="alpha back as standby")
        hold()
    assert p.status("beta") == "active" and p.role("beta") == "active" and p.marker("beta")
    assert not p.marker("alpha")
    assert changes(beta) == ["standby", "promoting", "active"], beta.events
    assert sampler.active_nodes() == ["alpha", "beta"], sampler.describe()
    assert_never_both_active(sampler)


def test_crashed_component_restarts_in_place(make_pair):
    """kill -9 of the active node's component: degraded, then active again
    when it comes back within handover_after; no failover."""
    p = make_pair(handover_after=6.0)  # time for a Python process to start again on a loaded machine
    p.start_all()
    p.wait_converged("alpha")
    with StatusWatch(p.status_port["alpha"], "alpha") as alpha, StatusWatch(p.status_port["beta"], "beta") as beta:
        p.kill("a1")
        p.wait_status("alpha", "degraded")
        p.restart("a1")
        p.wait_for(lambda: p.status("alpha") == "active" and p.role("alpha") == "active",
                   what="alpha's component active again")
        hold()
    assert changes(alpha) == ["active", "degraded", "active"], alpha.events
    assert beta.tokens() == ["standby"], beta.events
    assert p.marker("alpha") and not p.marker("beta") and p.role("beta") == "standby"


def test_hung_component_hands_over(make_pair):
    """SIGSTOP of the active node's component for longer than handover_after:
    alpha demotes (its SetRole(standby) to the hung component times out),
    then beta promotes; one change of active node, never both active."""
    p = make_pair(set_role_timeout=2.0)
    p.start_all()
    p.wait_converged("alpha")
    with Sampler(p) as sampler, StatusWatch(p.status_port["beta"], "beta") as beta:
        sampler.ignore.add("role_a")  # a stopped process cannot rewrite its role file
        p.kill("a1", signal.SIGSTOP)
        p.wait_for(lambda: p.status("beta") == "active" and p.role("beta") == "active" and p.marker("beta"),
                   what="beta serving after alpha's component hung")
        assert not p.marker("alpha")
        p.kill("a1", signal.SIGCONT)
        p.wait_for(lambda: p.role("alpha") == "standby", what="alpha's component standby once it runs again")
        sampler.ignore.discard("role_a")
        p.wait_status("alpha", "standby")
        hold()
    assert changes(beta) == ["standby", "promoting", "active"], beta.events
    assert p.status("beta") == "active" and p.role("beta") == "active" and p.marker("beta")
    assert sampler.active_nodes() == ["alpha", "beta"], sampler.describe()
    assert_never_both_active(sampler)


def test_sigterm_hands_over_gracefully(pair):
    p = pair
    with Sampler(p) as sampler, StatusWatch(p.status_port["beta"], "beta") as beta, \
            StatusWatch(p.status_port["alpha"], "alpha") as alpha:
        p.kill("alpha", signal.SIGTERM)
        code = p.procs["alpha"].wait(20)
        p.wait_for(lambda: p.status("beta") == "active" and p.role("beta") == "active" and p.marker("beta"),
                   what="beta serving after alpha's graceful stop")
        hold()
    assert code == 0
    assert not p.marker("alpha") and p.role("alpha") == "standby"
    assert "stopping" in alpha.tokens(), alpha.events
    assert changes(beta) == ["standby", "promoting", "active"], beta.events
    assert sampler.active_nodes() == ["alpha", "beta"], sampler.describe()
    assert_never_both_active(sampler)


# -- status clients and the command line ------------------------------------------------------------

def test_status_watch_sees_every_change(pair):
    """``hanode status --watch`` on beta during a failover prints the answer,
    then every indication in order."""
    p = pair
    p.spawn([PY, "-m", "hanode", "status", p.status_addr("beta"), "--watch"], "watch")
    out = p.log_path("watch")
    p.wait_for(lambda: out.read_text().split() == ["standby"], what="the watch's first answer")
    p.kill("alpha")
    p.wait_for(lambda: out.read_text().rstrip().endswith(" active"), what="the watch to print active")
    hold(0.5)  # anything printed after active would be a wrong extra change
    lines = out.read_text().splitlines()
    tokens = [line.split()[-1] for line in lines]
    assert tokens == ["standby", "promoting", "active"], lines


def test_status_watch_stops_cleanly_on_ctrl_c(make_pair):
    p = make_pair()
    p.start("alpha")  # one agent is enough: it answers (electing, then promoting and active)
    p.wait_for(lambda: p.status("alpha", 1.0), what="alpha's status listener")
    watch = p.spawn([PY, "-m", "hanode", "status", p.status_addr("alpha"), "--watch"], "watch")
    out = p.log_path("watch")
    p.wait_for(lambda: out.read_text().strip(), what="the watch's first answer")
    assert watch.poll() is None, out.read_text()  # it is watching, not gone
    watch.send_signal(signal.SIGINT)
    code = watch.wait(10)
    assert "Traceback" not in out.read_text(), out.read_text()
    assert code == 0


def test_status_exit_codes(pair):
    p = pair
    r = cli("status", p.status_addr("alpha"))
    assert (r.returncode, r.stdout.strip()) == (0, "active"), r
    r = cli("status", p.status_addr("beta"), "--expect", "standby")
    assert (r.returncode, r.stdout.strip()) == (0, "standby"), r
    r = cli("status", p.status_addr("beta"), "--expect", "active")
    assert (r.returncode, r.stdout.strip()) == (1, "standby"), r
    [nobody] = free_ports(1)
    r = cli("status", f"127.0.0.1:{nobody}", "--timeout", "1")
    assert r.returncode == 2 and "cannot reach" in r.stderr, r


def _bad_config(tmp_path, pair_for_paths: Pair):
    text = pair_for_paths.config_text("alpha").replace("heartbeat_interval = 0.2", 'heartbeat_interval = "fast"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def test_check_config_bad_file_exits_2(tmp_path, make_pair):
    p = make_pair()
    good = cli("check-config", "--config", str(p.config_path("alpha")))
    assert good.returncode == 0, good
    bad = _bad_config(tmp_path, p)
    r = cli("check-config", "--config", str(bad))
    assert r.returncode == 2, r
    assert "`election.heartbeat_interval`" in r.stderr and "bad.toml" in r.stderr, r.stderr


def test_run_bad_config_exits_2(tmp_path, make_pair):
    p = make_pair()
    bad = _bad_config(tmp_path, p)
    r = cli("run", "--config", str(bad), timeout=30)
    assert r.returncode == 2, r
    assert "`election.heartbeat_interval`" in r.stderr, r.stderr
    assert not p.guard_pids(), "a guard was started for a config that was refused"

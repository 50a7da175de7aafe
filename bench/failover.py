"""Failover time of a loopback pair: from killing (or freezing) the active
agent to the standby's components all active.

    PYTHONPATH=src python bench/failover.py --runs 20 [--mode kill|stop|both] [--json out.json]

Each run builds a fresh pair in a temporary folder under /tmp: two agents
(``python -m hanode run``) with the default timers (heartbeat_interval 0.1,
dead_after 3, startup_grace 2.0, handover_after 1.0), each with a process
component (``python -m hanode.sample``, order 10, which writes DIR/role) and a
command component (order 20, whose ``on_active`` touches a marker file).
Node names are new every run (at most 16 characters: the fencing guard's lock
is /tmp/hanode-NAME.guard.lock), ports are free ones (bind port 0), unix
sockets live in the run's short /tmp folder.

Once the pair has converged (alpha's role file ``active`` and its marker
present, ``getStatus`` answering ``active`` from alpha and ``standby`` from
beta), t0 is taken and alpha's agent is sent SIGKILL (mode ``kill``) or
SIGSTOP (mode ``stop``). Beta's role file and marker are then polled every
``--poll`` seconds (default 1 ms; 0 busy-polls, which on a 2-core machine
takes a core from the agents being measured); t1 is the first poll that
sees both. The failover time is t1 - t0: its resolution is the poll period
plus one read of each file (~0.1 ms). Every process of the run (agents,
components, fencing guards) is then killed and the folder removed.

Speed is reported, never asserted (target: p99 under 0.5 s with the
defaults). The Markdown table goes to stdout; ``--json`` also writes every
run's times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
TIMERS = {"heartbeat_interval": 0.1, "dead_after": 3, "startup_grace": 2.0, "handover_after": 1.0}
SIGNALS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}


# -- helpers shared with heartbeat_load.py ---------------------------------------------------------

def child_env() -> dict[str, str]:
    """The environment of every child: this checkout's src/ first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONSTARTUP", None)
    return env


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports nothing listens on now (bound to 0, then let go)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def guard_pids(name: str) -> list[int]:
    """The fencing guards of node ``name`` (their command line names its lock)."""
    pattern = f"hanode.guard.*hanode-{name}\\.guard\\.lock"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
    }


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def get_status(port: int, timeout: float = 1.0) -> str | None:
    """One ``getStatus`` to an agent's status listener; None if no answer."""
    from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage
    from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(frame_message(ServiceStatusMessage("1", GetStatus())))
            reader = MessageReader(CLIENT_TYPES)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                data = s.recv(4096)
                if not data:
                    return None
                for msg in reader.feed(data):
                    if type(msg.message) is GetStatusResponse and msg.correlation_id == "1":
                        return msg.message.status
    except (OSError, ValueError):
        return None
    return None


# -- one pair ----------------------------------------------------------------------------------------

class Pair:
    """Two agents and their components in a fresh folder; ``close()`` ends them all."""

    def __init__(self, tag: str, *, log_level: str = "info"):
        self.dir = Path(tempfile.mkdtemp(prefix="hfo", dir="/tmp"))
        self.names = {"alpha": f"a{tag}", "beta": f"b{tag}"}  # alpha sorts first: it dials
        for name in self.names.values():
            assert len(name) <= 16, name
        ports = free_ports(4)
        self.election = {"alpha": ports[0], "beta": ports[1]}
        self.status = {"alpha": ports[2], "beta": ports[3]}
        self.agents: dict[str, subprocess.Popen] = {}
        self.components: dict[str, subprocess.Popen] = {}
        self.log_level = log_level
        for node in ("alpha", "beta"):
            (self.dir / f"{node}.toml").write_text(self._config(node))

    def _config(self, node: str) -> str:
        other = "beta" if node == "alpha" else "alpha"
        d = self.dir
        return f"""\
[node]
name = "{self.names[node]}"

[peer]
name = "{self.names[other]}"
address = "127.0.0.1:{self.election[other]}"

[election]
listen = "127.0.0.1:{self.election[node]}"
heartbeat_interval = {TIMERS['heartbeat_interval']}
dead_after = {TIMERS['dead_after']}
startup_grace = {TIMERS['startup_grace']}
preferred = "{self.names['alpha']}"
handover_after = {TIMERS['handover_after']}

[components]
listen = "{d}/{node[0]}.sock"

[[component]]
id = "1"
name = "db"
order = 10

[[component]]
id = "2"
name = "vip"
order = 20
on_active = "touch {d}/{node}.vip"
on_standby = "rm -f {d}/{node}.vip"
check = "true"

[status]
listen = "127.0.0.1:{self.status[node]}"
"""

    def role_file(self, node: str) -> Path:
        return self.dir / node / "role"

    def marker(self, node: str) -> Path:
        return self.dir / f"{node}.vip"

    def role(self, node: str) -> str | None:
        try:
            return self.role_file(node).read_text()
        except OSError:
            return None

    def start(self) -> None:
        env = child_env()
        for node in ("alpha", "beta"):
            with open(self.dir / f"{node}.log", "ab") as log:
                self.agents[node] = subprocess.Popen(
                    [sys.executable, "-m", "hanode", "run", "--log-level", self.log_level,
                     "--config", str(self.dir / f"{node}.toml")],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=self.dir,
                )
        for node in ("alpha", "beta"):
            with open(self.dir / f"{node}-component.log", "ab") as log:
                self.components[node] = subprocess.Popen(
                    [sys.executable, "-m", "hanode.sample", "--connect", f"{self.dir}/{node[0]}.sock",
                     "--id", "1", "--dir", str(self.dir / node)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=self.dir,
                )

    def converged(self) -> bool:
        return (
            self.role("alpha") == "active"
            and self.marker("alpha").exists()
            and self.role("beta") == "standby"
            and not self.marker("beta").exists()
            and get_status(self.status["alpha"]) == "active"
            and get_status(self.status["beta"]) == "standby"
        )

    def wait_converged(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node, proc in self.agents.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"agent {node} exited with {proc.returncode}:\n{self.tail(node)}")
            if self.converged():
                return True
            time.sleep(0.05)
        return False

    def tail(self, node: str, lines: int = 30) -> str:
        try:
            text = (self.dir / f"{node}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        for proc in [*self.agents.values(), *self.components.values()]:
            kill_pid(proc.pid)
        for name in self.names.values():
            for pid in guard_pids(name):
                kill_pid(pid)
        for proc in [*self.agents.values(), *self.components.values()]:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Guards are not our children (own session, children of the agents): wait until gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(guard_pids(n) for n in self.names.values()):
            time.sleep(0.02)
        for name in self.names.values():
            try:
                os.unlink(os.path.join(tempfile.gettempdir(), f"hanode-{name}.guard.lock"))
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


# -- one run -----------------------------------------------------------------------------------------

def one_run(mode: str, tag: str, *, poll: float = 0.001, converge_timeout: float = 30.0,
            failover_timeout: float = 10.0, settle: float = 0.3) -> dict:
    """Start a pair, fail alpha with ``mode``'s signal, time beta's take-over.

    Returns ``{"ms": total, "role_ms": process component active, "marker_ms":
    command component active}`` (None where it timed out) and ``error`` on failure."""
    pair = Pair(tag)
    try:
        pair.start()
        if not pair.wait_converged(converge_timeout):
            return {"ms": None, "error": f"not converged within {converge_timeout:g} s: "
                    f"alpha role {pair.role('alpha')!r} status {get_status(pair.status['alpha'])!r}, "
                    f"beta role {pair.role('beta')!r} status {get_status(pair.status['beta'])!r}\n"
                    f"alpha log:\n{pair.tail('alpha')}\nbeta log:\n{pair.tail('beta')}"}
        time.sleep(settle)  # steady state: a few peer and component heartbeats after the election
        role_file, marker = pair.role_file("beta"), pair.marker("beta")
        t_role = t_marker = None
        pid = pair.agents["alpha"].pid
        perf = time.perf_counter
        t0 = perf()
        os.kill(pid, SIGNALS[mode])
        deadline = t0 + failover_timeout
        while True:
            now = perf()
            if t_role is None:
                try:
                    with open(role_file, "rb") as f:
                        if f.read() == b"active":
                            t_role = now
                except OSError:
                    pass
            if t_marker is None and os.path.exists(marker):
                t_marker = now
            if t_role is not None and t_marker is not None:
                break
            if now > deadline:
                break
            if poll:
                time.sleep(poll)
        ms = lambda t: None if t is None else (t - t0) * 1000.0  # noqa: E731
        result = {"ms": ms(max(t_role, t_marker)) if t_role and t_marker else None,
                  "role_ms": ms(t_role), "marker_ms": ms(t_marker)}
        if result["ms"] is None:
            result["error"] = (f"beta not active within {failover_timeout:g} s (role {pair.role('beta')!r}, "
                               f"marker {marker.exists()})\nbeta log:\n{pair.tail('beta')}")
        return result
    finally:
        pair.close()


def run_mode(mode: str, runs: int, *, poll: float = 0.001, verbose: bool = True) -> dict:
    totals: list[float] = []
    roles: list[float] = []
    markers: list[float] = []
    errors: list[str] = []
    for i in range(runs):
        tag = f"{os.getpid()}{mode[0]}{i}"
        result = one_run(mode, tag, poll=poll)
        if result["ms"] is None:
            errors.append(result.get("error", "?"))
            if verbose:
                print(f"  {mode} run {i + 1}/{runs}: FAILED: {result.get('error')}", file=sys.stderr)
            continue
        totals.append(result["ms"])
        roles.append(result["role_ms"])
        markers.append(result["marker_ms"])
        if verbose:
            print(f"  {mode} run {i + 1}/{runs}: {result['ms']:.1f} ms "
                  f"(process component {result['role_ms']:.1f} ms, command component {result['marker_ms']:.1f} ms)",
                  file=sys.stderr)
    return {"runs_ms": totals, "process_component_ms": roles, "command_component_ms": markers,
            "failures": len(errors), "errors": errors, "stats": summary(totals)}


def table(results: dict[str, dict]) -> str:
    lines = [
        "| mode | count | failed | p50 ms | p90 ms | p99 ms | min ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, r in results.items():
        s = r["stats"]
        what = "kill -9" if mode == "kill" else "SIGSTOP"
        lines.append(f"| {what} | {s['count']} | {r['failures']} | {s['p50']:.1f} | {s['p90']:.1f} | "
                     f"{s['p99']:.1f} | {s['min']:.1f} | {s['max']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="failovers per mode (default 20)")
    parser.add_argument("--mode", choices=["kill", "stop", "both"], default="both")
    parser.add_argument("--poll", type=float, default=0.001, help="seconds between polls of beta's files (0: busy poll)")
    parser.add_argument("--json", metavar="FILE", help="also write the results (with every run's time) as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SRC))

    modes = ["kill", "stop"] if args.mode == "both" else [args.mode]
    load_before = load_average()
    results = {}
    for mode in modes:
        print(f"{mode}: {args.runs} runs", file=sys.stderr)
        results[mode] = run_mode(mode, args.runs, poll=args.poll)
    load_after = load_average()

    print(f"\nFailover to the standby's components all active, default timers "
          f"(interval {TIMERS['heartbeat_interval']} s, dead_after {TIMERS['dead_after']}), poll {args.poll * 1000:g} ms")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min), {os.cpu_count()} CPUs\n")
    print(table(results))
    for mode, r in results.items():
        p99 = r["stats"]["p99"]
        verdict = "MET" if r["failures"] == 0 and p99 < 500 else "MISSED"
        print(f"\n{mode}: target p99 < 500 ms: {verdict} (p99 {p99:.1f} ms, {r['failures']} failed runs)")
    if args.json:
        doc = {"timers": TIMERS, "poll_s": args.poll, "cpus": os.cpu_count(),
               "load_average_before": load_before, "load_average_after": load_after, "modes": results}
        Path(args.json).write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Failover time of a loopback pair: from killing (or freezing) the active
agent to the standby's components all active.

    PYTHONPATH=src python bench/failover.py --runs 20 [--mode kill|stop|both] [--json out.json]

Each run builds a fresh pair (:class:`hanode.localpair.LocalPair`, the
launcher of ``hanode demo`` and the end-to-end tests) in a temporary folder
under /tmp: two agents (``python -m hanode run``) with the default timers
(heartbeat_interval 0.1, dead_after 3, startup_grace 2.0, handover_after
1.0), each with a process component (``python -m hanode.sample``, order 10,
which writes DIR/role) and a command component (order 20, whose
``on_active`` touches a marker file).
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
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
if str(SRC) not in sys.path:  # python bench/failover.py from a checkout, without PYTHONPATH
    sys.path.insert(0, str(SRC))

from hanode.localpair import DEFAULT_TIMERS, LocalPair, WaitFailed  # noqa: E402

TIMERS = DEFAULT_TIMERS
SIGNALS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}


# -- statistics ----------------------------------------------------------------------------------------

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


# -- one run -----------------------------------------------------------------------------------------

def one_run(mode: str, *, poll: float = 0.001, converge_timeout: float = 30.0,
            failover_timeout: float = 10.0, settle: float = 0.3) -> dict:
    """Start a pair, fail alpha with ``mode``'s signal, time beta's take-over.

    Returns ``{"ms": total, "role_ms": process component active, "marker_ms":
    command component active}`` (None where it timed out) and ``error`` on failure."""
    pair = LocalPair(prefix="hfo", log_level="info")
    try:
        pair.start_all()
        try:
            pair.wait_converged("alpha", converge_timeout, needs=("alpha", "beta"))
        except WaitFailed as e:
            return {"ms": None, "error": f"{e}\nalpha log:\n{pair.log_tail('alpha')}\nbeta log:\n{pair.log_tail('beta')}"}
        time.sleep(settle)  # steady state: a few peer and component heartbeats after the election
        role_file, marker = pair.component_dir("beta") / "role", pair.marker_path("beta")
        t_role = t_marker = None
        perf = time.perf_counter
        t0 = perf()
        pair.kill("alpha", SIGNALS[mode], wait=False)  # reaped at close(): the clock is running
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
                               f"marker {marker.exists()})\nbeta log:\n{pair.log_tail('beta')}")
        return result
    finally:
        pair.close()


def run_mode(mode: str, runs: int, *, poll: float = 0.001, verbose: bool = True) -> dict:
    totals: list[float] = []
    roles: list[float] = []
    markers: list[float] = []
    errors: list[str] = []
    for i in range(runs):
        result = one_run(mode, poll=poll)
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

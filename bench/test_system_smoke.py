"""Short CI variant of the system benchmarks (bench/failover.py, bench/heartbeat_load.py).

Two kill -9 failovers of a real loopback pair, and a 2-second heartbeat load
of 50 components on one agent. Only that they complete and produce numbers
is asserted, never a speed: CI machines are shared. About 20 s.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_failover_kill_two_runs():
    failover = _load("failover")
    result = failover.run_mode("kill", 2, verbose=False)
    assert result["failures"] == 0, result["errors"]
    assert len(result["runs_ms"]) == 2
    assert all(math.isfinite(ms) and ms > 0 for ms in result["runs_ms"])
    assert result["stats"]["count"] == 2
    assert "| kill -9 | 2 |" in failover.table({"kill": result})


def test_heartbeat_load_short():
    load = _load("heartbeat_load")
    r = load.run_load(50, 10.0, 2.0, warmup=0.5, grace=0.5, verbose=False)
    assert r["agent_crashed"] == ""
    assert r["hb_in_per_s"] > 0 and r["hb_out_per_s"] > 0
    assert math.isfinite(r["agent_cpu_pct"]) and r["agent_cpu_pct"] > 0
    assert r["components"] == 50 and r["active_components"][1] > 0
    assert "| 50 | 10 |" in load.report(r)

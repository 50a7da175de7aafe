"""Chaos run of a loopback pair: random faults, invariants checked throughout.

    PYTHONPATH=src python bench/chaos.py --rounds N --seed S [--slow] [--json FILE] [--kinds K,...] [--slack S] [--keep]

In the manner of Pacemaker's cluster test suite: one real pair
(:class:`hanode.localpair.LocalPair`: two agents, a sample process component
"1" and a marker command component "2" per node) takes one fault per round,
picked from a seeded random generator; after each fault the run waits until
the pair has converged again (one node active with its component and marker,
the other standby, steady for ``dead_after`` intervals), measures the
recovery time (from the fault to the service active again on some node) and
goes on. The kinds (:data:`KINDS`; each block of ``len(KINDS)`` rounds runs
every kind once, in a random order, so every kind is covered), each on the
active or the standby node at random:

- ``agent_kill``: kill -9 of either agent, restarted after 0-10 intervals;
- ``agent_stop``: SIGSTOP of either agent for a short (below the freeze
  threshold), edge (between it and ``dead_after``) or long time, then SIGCONT;
- ``agent_term``: SIGTERM of either agent (it must exit 0), then a restart;
- ``comp_kill``: kill -9 of either sample component, restarted after
  0-2.5 ``handover_after`` (restart in place, or a hand-over);
- ``comp_stop``: SIGSTOP of either sample component, then SIGCONT;
- ``unhealthy``: ``DIR/unhealthy`` on either node for 0.2-2.5 ``handover_after``;
- ``refuse``, ``delay``: ``DIR/refuse`` (SetRole answered ``failure``) or
  ``DIR/delay`` (a slow SetRole, below ``set_role_timeout``) on the standby,
  then a role change that needs it, the trigger: a kill -9 of the active
  agent (restarted later) or a switchover on the control socket. Alone they
  would change nothing: a steady pair sends no SetRole;
- ``flood``: waves of 100-300 status connections to one agent, each sending
  getStatus, held only until the agent has taken them in (a wave past
  ``limits.max_status_clients`` meets the limit) and closed unread, while
  100 getStatus queries per wave read their answers.

Invariants, checked by threads while the faults run:

1. **safety**: the sampler (``hanode.localpair.Sampler``) reads both nodes' role and
   marker files every few ms; a sample with an active resource on both nodes
   is a violation unless inside an exempt window. The only one is the one
   documented (docs/operations.md 5.1 and 6.1: safety is promised while the
   peer link is up): ``dead_after`` intervals after a kill -9 of the active
   agent, whose peer hears the refused dial at once and promotes while the
   dead agent's guard is still fencing (it fences on its pipe closing,
   within ``dead_after - 1`` intervals). A frozen active agent has none: its
   components fence after ``dead_after - 1`` intervals, one interval before
   the peer may promote (6.2, 7). The role file of a component that we killed
   or stopped is not counted until it is written again (a dead or frozen
   process serves nothing and cannot rewrite it; a resumed one fences at its
   next check, so after SIGCONT it counts again after ``dead_after``
   intervals at the latest);
2. **liveness**: after each fault the service is active again within a bound
   per kind: the fault's own duration (until our repair) plus ``dead_after``
   intervals plus whatever the documented path waits for (``handover_after``,
   ``set_role_timeout``, the 8 s SetRole retry backoff) plus ``--slack``
   (default 10 s: a loaded machine may take seconds to start a Python
   process); and the pair converges again within that bound plus 30 s;
3. **no crash**: no agent or component exits unless we killed it (a
   SIGTERM'd agent must exit 0), and no log has a traceback, an ERROR line or
   a failed guard command;
4. **status**: a subscribed status client per node (``StatusWatch``,
   reconnecting across restarts) sees every change. Each connection's tokens
   (the getStatus answer, then the indications) must be a contiguous run of
   that agent life's ``status X -> Y`` log lines (none skipped, doubled or
   reordered), end at the life's last status (when the connection ended with
   the agent; at each round's end for the open one) and never end while the
   agent runs. A SIGKILL may only cut changes logged in its last 0.5 s.

Each run prints the rounds, the faults by kind, every violation with its
details, the recovery-time p50/p90/p99/max (rounds with an outage; faults
that never interrupt the service are counted apart), the total time and the
seed, which replays the same sequence of faults (``--seed``; the timings of
a real machine are not replayed). ``--json FILE`` writes the same and every
round. A pair that does not converge is a violation; the run then SIGCONTs
and starts what is down, failing that kill -9s and starts the whole pair,
and goes on. Exit status 0 without violation, 1 with, 2 when the pair could
not be brought back even so (the run stopped early). On a violation the
pair's folder, with every process's log, is kept and named.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO / "src") not in sys.path:  # python bench/chaos.py from a checkout, without PYTHONPATH
    sys.path.insert(0, str(REPO / "src"))
if str(HERE) not in sys.path:  # failover.py's statistics
    sys.path.append(str(HERE))

from failover import percentile  # noqa: E402

from hanode.codec import GetStatus, ServiceStatusMessage  # noqa: E402
from hanode.localpair import (  # noqa: E402
    DEFAULT_TIMERS, NODES, SLOW_TIMERS, LocalPair, Sampler, StatusWatch, WaitFailed, query_status,
)
from hanode.wire import frame_message  # noqa: E402

KINDS = ("agent_kill", "agent_stop", "agent_term", "comp_kill", "comp_stop",
         "unhealthy", "refuse", "delay", "flood")
SLACK = 10.0          # seconds added to every liveness bound: a loaded machine
CONVERGE_EXTRA = 30.0  # seconds past the bound before "not converged"
REPAIR_WAIT = 60.0    # seconds for a start, or a repair, to converge
RETRY_MAX = 8.0       # the longest SetRole retry backoff (docs/operations.md 3, set_role_timeout)
KILL_TAIL = 0.5       # seconds before a SIGKILL whose status changes may never reach a client
DETAIL_LINES = 60     # lines of a violation's details printed (all of them in the JSON)
SET_ROLE_INTERVALS = 20  # set_role_timeout in heartbeat intervals (2 s default, 4 s slow)

STATUS_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \S+ +[A-Z]+ +status: status (\S+) -> (\S+)\s*$")
LOG_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[.,](\d{3})")  # agents: 12:00:00.000; components: 12:00:00,000
LIFE_START = re.compile(r"^==== \d\d:\d\d:\d\d localpair: starting ")
BAD_LINE = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b"
                      r"|guard: component \S+ on_standby: (?!0:)")
EXPECTED_BAD: list[tuple[re.Pattern, str]] = []
"""Log lines matching BAD_LINE that a fault explains: (pattern, why)."""


@dataclass
class Life:
    """One run of an agent process, as we started and ended it."""
    start: float                     # monotonic, just before it was started
    stop_at: float | None = None     # monotonic, just before we signalled its end
    stop_sig: str | None = None      # SIGKILL or SIGTERM
    stop_sod: float | None = None    # local seconds of the day then, as the log's timestamps


@dataclass
class Violation:
    round: int
    kind: str
    invariant: str   # safety, liveness, crash, status
    detail: str


@dataclass
class Round:
    round: int
    kind: str
    node: str
    role: str                          # the target's role when the fault came
    params: dict = field(default_factory=dict)
    outage: bool = False               # the service was down at some moment of the round
    recovery_s: float | None = None    # from the fault to the service active again (outage only)
    bound_s: float = 0.0
    converged_s: float | None = None   # from the fault to the pair converged (and steady)
    active_after: str | None = None
    exempt_overlap_samples: int = 0    # both nodes active inside an exempt window (allowed)
    violations: int = 0


def seconds_of_day(t: float) -> float:
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)


def agent_lives(log: Path) -> list[list[tuple[float, str, str]]]:
    """The ``status X -> Y`` lines of an agent's log, ``(seconds of day, X, Y)``,
    one list per life (LocalPair notes each start in the log)."""
    lives: list[list[tuple[float, str, str]]] = []
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return lives
    for line in text.splitlines():
        if LIFE_START.match(line):
            lives.append([])
        elif lives and (m := STATUS_LINE.match(line)):
            h, mi, s, ms, old, new = m.groups()
            lives[-1].append((int(h) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000, old, new))
    return lives


def watch_problems(node: str, lives: list[list[tuple[float, str, str]]], ours: list[Life],
                   events: list[tuple[float, str | None]]) -> dict[tuple, str]:
    """What a status watch on ``node`` got wrong (invariant 4 of the module
    doc), keyed by its connection and the kind of fault: ``lives`` are the
    agent log's changes (:func:`agent_lives`), ``ours`` the lives we started,
    ``events`` the watch's ``(monotonic time, token or None)``."""
    if len(lives) != len(ours):
        return {(node, "lives", len(ours)): f"{node}'s log has {len(lives)} lives, we started {len(ours)}"}
    problems: dict[tuple, str] = {}
    starts = [life.start for life in ours]
    segments: list[list[tuple[float, str | None]]] = [[]]  # one per connection
    for t, token in events:
        segments[-1].append((t, token))
        if token is None:
            segments.append([])
    segments = [seg for seg in segments if seg]
    for seg in segments:
        tokens = [tok for _, tok in seg if tok is not None]
        closed_at = seg[-1][0] if seg[-1][1] is None else None
        idx = bisect.bisect_right(starts, seg[0][0]) - 1
        if idx < 0:
            problems[(node, seg[0][0], "early")] = f"{node}: status tokens {tokens} before the agent was started"
            continue
        life, lines = ours[idx], lives[idx]
        seq = ["electing"] + [new for _, _, new in lines]
        if any(old != before for (_, old, _), before in zip(lines, seq)):
            problems[(node, idx, "log")] = f"{node} life {idx + 1}: the log's changes do not chain: {lines}"
        where = f"{node} life {idx + 1}, the watch's connection at +{seg[0][0] - starts[idx]:.3f} s"
        runs = [i for i in range(len(seq) - len(tokens) + 1) if seq[i:i + len(tokens)] == tokens]
        if not runs:
            problems[(node, seg[0][0], "run")] = f"{where}: tokens {tokens} are not a run of the log's statuses {seq}"
            continue
        if closed_at is not None and (life.stop_at is None or closed_at < life.stop_at):
            problems[(node, seg[0][0], "dropped")] = f"{where}: disconnected while the agent ran (tokens {tokens})"
            continue
        end = runs[-1] + len(tokens)  # seq[end:] came after the last token: lines[end - 1:]
        missing = lines[end - 1:]
        if life.stop_sig == "SIGKILL" and closed_at is not None:  # maybe logged, never sent
            missing = [m for m in missing if (life.stop_sod - m[0] + 43200) % 86400 - 43200 > KILL_TAIL]
        if missing:
            what = "ended at" if closed_at is not None else "is at"
            problems[(node, seg[0][0], "tail")] = (
                f"{where}: {what} {tokens[-1]!r} but the log has later changes "
                f"{[f'{o} -> {n}' for _, o, n in missing]} (tokens {tokens})")
    last = segments[-1] if segments else None
    if ours[-1].stop_at is None and (last is None or last[-1][1] is None or last[0][0] < starts[-1]):
        problems[(node, len(ours), "connected")] = f"{node}: the watch is not connected to the running agent"
    return problems


def control_request(path: Path, request: dict, timeout: float) -> dict:
    """One request on an agent's control socket (docs/operations.md 11.3)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b"{}")


class Abort(Exception):
    """The pair could not be brought back to a converged state: stop the run."""


class Chaos:
    """Faults on ``pair`` (a LocalPair, not started) and the invariant checkers.

    ``run(rounds, schedule)`` plays ``schedule`` first: ``(kind, target)``
    or ``(kind, target, options)``, target "active", "standby" or None for
    either, options {"band": "short"|"edge"|"long"} (agent_stop) or
    {"trigger": "kill"|"switchover"} (refuse, delay), which the seeded
    generator picks otherwise; then random rounds. It returns the report
    (:meth:`report`)."""

    def __init__(self, pair: LocalPair, *, seed: int, slack: float = SLACK, kinds: Sequence[str] = KINDS,
                 out: Callable[[str], None] = print):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.pair = pair
        self.seed = seed
        self.rng = random.Random(seed)
        self.kinds = tuple(kinds)
        self.slack = slack
        self.out = out
        t = pair.timers
        self.I, self.D, self.H = t["heartbeat_interval"], int(t["dead_after"]), t["handover_after"]
        self.S = pair.set_role_timeout if pair.set_role_timeout is not None else 5.0
        self.rounds: list[Round] = []
        self.violations: list[Violation] = []
        self.current: Round | None = None
        self.options: dict = {}
        self.active: str | None = None
        self.lives: dict[str, list[Life]] = {n: [] for n in NODES}
        self.exempt: list[tuple[float, float, str]] = []
        self.expected_exit: set[str] = set()
        self.ignores: dict[str, dict] = {}   # sampler resource -> {"stamp", "until"}
        self.bad_overlaps: list[tuple[float, dict]] = []
        self.total_s = 0.0
        self.aborted: str | None = None
        self.load_before = os.getloadavg()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reported: set = set()
        self._log_offsets: dict[str, int] = {}
        self._bag: list[str] = []

    # -- bookkeeping ------------------------------------------------------------------------------
    def violation(self, invariant: str, detail: str, key: object = None) -> None:
        """Record a violation once (``key``: what makes it the same one)."""
        with self._lock:
            if key is not None:
                if key in self._reported:
                    return
                self._reported.add(key)
            r = self.current
            self.violations.append(Violation(r.round if r else 0, r.kind if r else "start", invariant, detail))
            if r:
                r.violations += 1
        self.out(f"  VIOLATION ({invariant}): {detail.splitlines()[0]}")

    def _start(self, name: str) -> None:
        if name in NODES:
            self.lives[name].append(Life(time.monotonic()))
        self.pair.start(name)
        self.expected_exit.discard(name)  # after: the checker must not take the old process for the new one

    def _end_agent(self, node: str, sig: int) -> None:
        """Note the end of ``node``'s life before signalling it (the watch check needs it)."""
        life = self.lives[node][-1]
        life.stop_at, life.stop_sig, life.stop_sod = time.monotonic(), signal.Signals(sig).name, seconds_of_day(time.time())

    def _kill(self, name: str, sig: int) -> None:
        """Signal one of the pair's processes, noting what the checkers must expect."""
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.expected_exit.add(name)
            if name in NODES:
                self._end_agent(name, sig)
                if sig == signal.SIGKILL and name == self.active:
                    now = time.monotonic()
                    self.exempt.append((now, now + self.D * self.I, f"kill -9 of the active agent {name}"))
        self.pair.kill(name, sig, wait=sig == signal.SIGKILL)

    def _role_stamp(self, node: str) -> tuple[int, int] | None:
        try:
            st = (self.pair.component_dir(node) / "role").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _ignore_role(self, node: str) -> None:
        """Stop counting ``node``'s role file until it is written again (see the module doc)."""
        res = "role_a" if node == NODES[0] else "role_b"
        with self._lock:
            self.ignores[res] = {"node": node, "stamp": self._role_stamp(node), "until": None}
        self.sampler.ignore.add(res)

    # -- the checker thread -----------------------------------------------------------------------
    def _monitor(self) -> None:
        seen = 0
        next_logs = 0.0
        while not self._stop.is_set():
            overlaps = self.sampler.overlaps
            for t, state in overlaps[seen:len(overlaps)]:
                with self._lock:
                    if not any(a <= t <= b for a, b, _ in self.exempt):
                        self.bad_overlaps.append((t, state))
                    elif self.current is not None:
                        self.current.exempt_overlap_samples += 1
            seen = len(overlaps)
            self._release_ignores()
            self._check_exits()
            if time.monotonic() >= next_logs:
                self._scan_logs()
                next_logs = time.monotonic() + 0.2
            time.sleep(0.02)

    def _release_ignores(self) -> None:
        with self._lock:
            for res, ig in list(self.ignores.items()):
                rewritten = self._role_stamp(ig["node"]) != ig["stamp"]
                if rewritten or (ig["until"] is not None and time.monotonic() >= ig["until"]):
                    del self.ignores[res]
                    self.sampler.ignore.discard(res)

    def _check_exits(self) -> None:
        for name, proc in list(self.pair.procs.items()):
            if name not in self.expected_exit and proc.poll() is not None:
                self.violation("crash", f"{name} (pid {proc.pid}) exited by itself with status {proc.returncode}; "
                               f"its log ends:\n{self.pair.log_tail(name, 40)}", key=("exit", proc.pid))

    def _scan_logs(self) -> None:
        for name in (*NODES, *(self.pair.component(n) for n in NODES)):
            path = self.pair.log_path(name)
            try:
                with open(path, "rb") as f:
                    f.seek(self._log_offsets.get(name, 0))
                    data = f.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1  # whole lines only: the rest is read next time
            self._log_offsets[name] = self._log_offsets.get(name, 0) + end
            lines = data[:end].decode(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if BAD_LINE.search(line) and not any(p.search(line) for p, _ in EXPECTED_BAD):
                    context = "\n".join(lines[max(0, i - 10):i + 20])
                    self.violation("crash", f"{name}.log: {line.strip()}\n{context}")

    # -- the status watch check -------------------------------------------------------------------
    def _check_watches(self) -> None:
        """Poll until every watch is consistent with its agent's log (a
        change is logged and sent in the same step, so either may be seen
        first), then report what is still wrong."""
        deadline = time.monotonic() + 5.0 + 10 * self.I
        while True:
            problems = {k: v for node, w in self.watches.items()
                        for k, v in watch_problems(node, agent_lives(self.pair.log_path(node)), self.lives[node],
                                                   list(w.events)).items()}
            if not problems or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for key, text in problems.items():
            self.violation("status", text, key=key)

    # -- convergence and recovery -----------------------------------------------------------------
    def _converged(self) -> str | None:
        p = self.pair
        if not all(p.running(n) for n in (*NODES, *(p.component(n) for n in NODES))):
            return None
        for node in NODES:
            if p.converged(node):
                return node
        return None

    def _wait_settled(self, timeout: float) -> str:
        """Until converged and steady for ``dead_after`` intervals; the active node."""
        since: list = [None, None]

        def steady():
            node = self._converged()
            now = time.monotonic()
            if node is None or node != since[1]:
                since[:] = [now, node]
                return None
            return node if now - since[0] >= self.D * self.I else None

        return self.pair.wait_for(steady, timeout, "the pair converged and steady")

    def _outage(self, t0: float, t1: float) -> tuple[bool, float | None]:
        """Whether the service was down in [t0, t1] (no node with both its
        component and marker active, ignored role files not counted) and
        when it came back last, from the sampler's history."""
        def up(state, ignored):
            return any(state[f"role_{n[0]}"] and f"role_{n[0]}" not in ignored and state[f"marker_{n[0]}"]
                       for n in NODES)
        history = list(self.sampler.history)
        before = [h for h in history if h[0] < t0]
        during = [h for h in history if t0 <= h[0] <= t1]
        was_down = bool(before) and not up(before[-1][1], before[-1][2])
        back = None
        for t, state, ignored in during:
            if not up(state, ignored):
                was_down, back = True, None
            elif back is None:
                back = t
        if not was_down:
            return False, None
        return True, (back - t0) if back is not None else None

    # -- faults -------------------------------------------------------------------------------------
    def _play(self, t0: float, steps: list[tuple[float, Callable[[], None]]]) -> None:
        """Run each step at its offset from ``t0``; these sleeps are the faults' durations."""
        for offset, step in sorted(steps, key=lambda s: s[0]):
            delay = t0 + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            step()

    def fault_agent_kill(self, node: str, r: Round) -> float:
        after = self.rng.uniform(0, 10) * self.I
        r.params = {"restart_after_s": round(after, 3)}
        t0 = time.monotonic()
        self._play(t0, [(0, lambda: self._kill(node, signal.SIGKILL)), (after, lambda: self._start(node))])
        return self.D * self.I

    def fault_agent_stop(self, node: str, r: Round) -> float:
        band = self.rng.choice(["short", "edge", "long"])
        band = self.options.get("band", band)
        lo, hi = {"short": (0.3 * (self.D - 1), 0.9 * (self.D - 1)), "edge": (self.D - 1, self.D),
                  "long": (self.D + 1, 20)}[band]
        stop = self.rng.uniform(lo, hi) * self.I
        r.params = {"band": band, "stopped_s": round(stop, 3)}
        self._play(time.monotonic(), [(0, lambda: self._kill(node, signal.SIGSTOP)),
                                      (stop, lambda: self._kill(node, signal.SIGCONT))])
        return stop + self.D * self.I + self.S

    def fault_agent_term(self, node: str, r: Round) -> float:
        after = self.rng.uniform(0, 10) * self.I
        r.params = {"restart_after_s": round(after, 3)}
        self._kill(node, signal.SIGTERM)
        proc = self.pair.procs[node]
        try:
            # the hand-over, bounded by --shutdown-timeout (15 s) plus a command_timeout
            self.pair.wait_for(lambda: proc.poll() is not None, 30, f"{node} to exit after SIGTERM")
        except WaitFailed as e:
            self.violation("crash", f"{e}; its log ends:\n{self.pair.log_tail(node, 40)}")
            self._kill(node, signal.SIGKILL)
        code = r.params["exit_status"] = proc.returncode
        if code != 0:
            self.violation("crash", f"{node} exited with status {code} after SIGTERM (a clean stop is 0); "
                           f"its log ends:\n{self.pair.log_tail(node, 40)}")
        time.sleep(after)
        self._start(node)
        return self.D * self.I + self.S

    def fault_comp_kill(self, node: str, r: Round) -> float:
        comp = self.pair.component(node)
        after = self.rng.uniform(0, 2.5) * self.H
        r.params = {"restart_after_s": round(after, 3)}

        def kill():
            self._ignore_role(node)  # its file keeps the role it held when it died
            self._kill(comp, signal.SIGKILL)
        self._play(time.monotonic(), [(0, kill), (after, lambda: self._start(comp))])
        return after + self.H + self.S + self.D * self.I

    def fault_comp_stop(self, node: str, r: Round) -> float:
        comp = self.pair.component(node)
        stop = self.rng.uniform(0.2, 1.2) * (self.D * self.I + self.H + self.S)
        r.params = {"stopped_s": round(stop, 3)}
        res = "role_a" if node == NODES[0] else "role_b"

        def stop_it():
            self._ignore_role(node)  # a frozen process cannot rewrite its file
            self._kill(comp, signal.SIGSTOP)

        def cont():
            self._kill(comp, signal.SIGCONT)
            with self._lock:  # resumed, it fences at its next check: count its file again after that
                if res in self.ignores:
                    self.ignores[res]["until"] = time.monotonic() + self.D * self.I
        self._play(time.monotonic(), [(0, stop_it), (stop, cont)])
        return stop + self.D * self.I + self.H + self.S

    def fault_unhealthy(self, node: str, r: Round) -> float:
        hold = self.rng.uniform(0.2, 2.5) * self.H
        r.params = {"unhealthy_s": round(hold, 3)}
        self._play(time.monotonic(), [(0, lambda: self.pair.control(node, "unhealthy")),
                                      (hold, lambda: self.pair.control(node, "unhealthy", False))])
        return hold + self.H + self.S + self.D * self.I

    def _trigger(self, r: Round) -> tuple[list, float, Callable[[], None]]:
        """A role change onto the standby: a kill -9 of the active agent
        (restarted later) or a switchover on its control socket. Returns the
        steps, the extra bound and what to call at the end."""
        active = self.active
        kill = self.rng.random() < 0.5
        if self.options.get("trigger", "kill" if kill else "switchover") == "kill":
            after = self.rng.uniform(0, 10) * self.I
            r.params.update(trigger="kill", restart_after_s=round(after, 3))
            return ([(0, lambda: self._kill(active, signal.SIGKILL)), (after, lambda: self._start(active))],
                    after, lambda: None)
        r.params["trigger"] = "switchover"
        result: dict = {}

        def ask():
            try:
                result.update(control_request(self.pair.control_path(active), {"command": "switchover", "timeout": 10}, 15))
            except (OSError, ValueError) as e:
                result.update(ok=False, error=f"no answer: {e}")
        thread = threading.Thread(target=ask, daemon=True)

        def done():
            thread.join(20)
            r.params["switchover"] = result.get("text") or result.get("error")
        return [(0, thread.start)], 0.0, done

    def fault_refuse(self, node: str, r: Round) -> float:
        hold = self.rng.uniform(0.5, 3.0) * self.H
        r.params = {"refuse_s": round(hold, 3)}
        self.pair.control(node, "refuse")  # nothing happens until a SetRole comes
        steps, extra, done = self._trigger(r)
        self._play(time.monotonic(), steps + [(hold, lambda: self.pair.control(node, "refuse", False))])
        done()
        return hold + extra + self.H + self.S + RETRY_MAX + self.D * self.I

    def fault_delay(self, node: str, r: Round) -> float:
        delay = self.rng.uniform(0.2, 0.8) * self.S  # slow, not timed out
        hold = delay + self.rng.uniform(0, 2) * self.H
        r.params = {"delay_s": round(delay, 3), "held_s": round(hold, 3)}
        self.pair.control(node, "delay", round(delay, 3))
        steps, extra, done = self._trigger(r)
        self._play(time.monotonic(), steps + [(hold, lambda: self.pair.control(node, "delay", False))])
        done()
        return hold + extra + self.H + self.S + RETRY_MAX + self.D * self.I

    def fault_flood(self, node: str, r: Round) -> float:
        port = self.pair.status_port[node]
        frame = frame_message(ServiceStatusMessage("1", GetStatus()))
        sizes = [self.rng.randint(100, 300) for _ in range(self.rng.randint(2, 4))]
        opened = answered = unanswered = peak = 0
        with ThreadPoolExecutor(16) as pool:
            for size in sizes:
                answers = pool.map(lambda _: query_status(port, 2.0), range(100))  # these read their answers
                held = []
                for _ in range(size):  # these send getStatus and never read
                    try:
                        s = socket.create_connection(("127.0.0.1", port), timeout=2)
                        s.sendall(frame)
                        held.append(s)
                    except OSError:
                        continue
                opened += len(held)
                # held until the agent has taken them in, so that a wave past
                # limits.max_status_clients (256) meets the limit
                deadline = time.monotonic() + 3.0
                while time.monotonic() < deadline:
                    snap = self.pair.http_status(node)
                    peak = max(peak, snap.clients if snap else 0)
                    if peak >= min(len(held), 250):
                        break
                    time.sleep(0.02)
                for s in held:
                    s.close()
                for a in answers:
                    answered += a is not None
                    unanswered += a is None
        r.params = {"waves": sizes, "opened": opened, "peak_clients": peak, "answered": answered,
                    "unanswered": unanswered}
        return self.D * self.I

    # -- the run ------------------------------------------------------------------------------------
    def _next_kind(self) -> str:
        if not self._bag:  # every kind once per block, in a random order
            self._bag = list(self.kinds)
            self.rng.shuffle(self._bag)
        return self._bag.pop()

    def _round(self, index: int, kind: str, target: str | None, options: dict) -> None:
        active = self.active
        standby = self.pair.peer_of(active)
        if target is None:  # a role, not a name: a seed replays "kill the active agent" as such
            target = self.rng.choice(("active", "standby"))
        node = standby if kind in ("refuse", "delay") or target == "standby" else active  # refuse, delay: the node the trigger promotes
        r = Round(index + 1, kind, node, "active" if node == active else "standby")
        self.current, self.options = r, options
        self.rounds.append(r)
        t0 = time.monotonic()
        r.bound_s = round(getattr(self, f"fault_{kind}")(node, r) + self.slack, 3)
        try:
            self.active = self._wait_settled(max(r.bound_s - (time.monotonic() - t0), 0) + CONVERGE_EXTRA)
        except WaitFailed as e:
            self.violation("liveness", f"not converged: {e}\n{self._log_excerpt(t0 - 0.5, time.monotonic())}")
            self._repair()
        t1 = time.monotonic()
        r.converged_s = round(t1 - t0, 3)
        r.active_after = self.active
        r.outage, rec = self._outage(t0, t1)
        r.recovery_s = None if rec is None else round(rec, 4)
        if r.outage and (rec is None or rec > r.bound_s):
            self.violation("liveness", f"service active again after {rec if rec is None else round(rec, 3)} s, "
                           f"bound {r.bound_s} s\n{self.sampler.describe()[-3000:]}")
        with self._lock:  # a frozen component's file must count again once the pair is steady
            for res in list(self.ignores):
                r.params.setdefault("still_ignored", []).append(res)
                del self.ignores[res]
                self.sampler.ignore.discard(res)
        self._check_watches()
        self._scan_logs()
        self._report_overlaps(r, t0)
        rec_text = f"recovery {r.recovery_s:.3f} s" if r.recovery_s is not None else "no outage"
        self.out(f"round {r.round:3d} {kind:10s} {node}({r.role}) {json.dumps(r.params)}: {rec_text}, "
                 f"converged {r.converged_s:.2f} s, {self.active} active")

    def _report_overlaps(self, r: Round, t0: float) -> None:
        with self._lock:
            bad, self.bad_overlaps = self.bad_overlaps, []
        episodes: list[list[tuple[float, dict]]] = []
        for t, state in bad:
            if episodes and t - episodes[-1][-1][0] < 0.1:
                episodes[-1].append((t, state))
            else:
                episodes.append([(t, state)])
        for ep in episodes:
            held = sorted({res for _, s in ep for res, on in s.items() if on})
            around = [line for line in self.sampler.describe().splitlines()][-40:]
            self.violation("safety", f"both nodes active at +{ep[0][0] - t0:.3f} s for {ep[-1][0] - ep[0][0]:.3f} s "
                           f"({len(ep)} samples; active: {', '.join(held)}); exempt windows: "
                           f"{[(round(a - t0, 3), round(b - t0, 3), w) for a, b, w in self.exempt if b >= t0]}\n"
                           + "\n".join(around) + "\n" + self._log_excerpt(ep[0][0] - 1.0, ep[-1][0] + 0.5))

    def _log_excerpt(self, t_from: float, t_to: float, lines: int = 120) -> str:
        """The pair's log lines between two monotonic times (by their
        timestamps; the first ``lines`` of each log), status clients' comings and goings left out."""
        shift = time.time() - time.monotonic()
        lo, hi = seconds_of_day(t_from + shift), seconds_of_day(t_to + shift)
        out = []
        for name in (*NODES, *(self.pair.component(n) for n in NODES)):
            try:
                text = self.pair.log_path(name).read_text(errors="replace")
            except OSError:
                continue
            out.append(f"---- {name}.log")
            start = len(out)
            inside = False  # an untimed line (the guard's, a traceback, our notes) goes with the line before
            for line in text.splitlines():
                if m := LOG_TIME.search(line[:40]):
                    h, mi, sec, ms = map(int, m.groups())
                    inside = lo <= h * 3600 + mi * 60 + sec + ms / 1000 <= hi
                if inside and "status client" not in line and len(out) - start < lines:
                    out.append(line)
        return "\n".join(out)

    def _repair(self) -> None:
        """Bring the pair back after a failed convergence (the violation is
        recorded): SIGCONT and start everything, clear the control files;
        failing that, kill -9 and start the whole pair; failing that, stop the run."""
        p = self.pair
        for node in NODES:
            for what in ("refuse", "delay", "unhealthy"):
                p.control(node, what, False)
            for name in (node, p.component(node)):
                if p.running(name):
                    p.kill(name, signal.SIGCONT)
                else:
                    self._start(name)
        try:
            self.active = self._wait_settled(REPAIR_WAIT)
            return
        except WaitFailed:
            self.out("  the pair did not come back: kill -9 and start everything")
        with self._lock:
            self.current.params["restarted_pair"] = True
        names = (*NODES, *(p.component(n) for n in NODES))
        for node in NODES:
            self._ignore_role(node)  # until the new component writes it
        for name in names:
            if p.running(name):
                self._kill(name, signal.SIGKILL)
        for name in names:
            self._start(name)
        try:
            self.active = self._wait_settled(REPAIR_WAIT)
        except WaitFailed as e:
            raise Abort(f"the pair could not be brought back: {e}") from e

    def run(self, rounds: int, schedule: Sequence[tuple] = ()) -> dict:
        """Start the pair, play ``rounds`` rounds (``schedule`` first), stop it; the report."""
        unknown = {entry[0] for entry in schedule} - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)} in the schedule; known: {', '.join(KINDS)}")
        started = time.monotonic()
        self.load_before = os.getloadavg()
        p = self.pair
        for node in NODES:
            self._start(node)
        for node in NODES:
            self._start(p.component(node))
        self.active = self._wait_settled(REPAIR_WAIT)
        self.watches = {node: StatusWatch(p.status_port[node], node) for node in NODES}
        with Sampler(p) as self.sampler, self.watches["alpha"], self.watches["beta"]:
            monitor = threading.Thread(target=self._monitor, name="chaos-monitor", daemon=True)
            monitor.start()
            try:
                for i in range(rounds):
                    kind, target, *options = schedule[i] if i < len(schedule) else (self._next_kind(), None)
                    self._round(i, kind, target, options[0] if options else {})
            except Abort as e:
                self.aborted = str(e)
                self.violation("liveness", str(e))
            finally:
                self._stop.set()
                monitor.join(5)
            self._scan_logs()
        self.total_s = time.monotonic() - started
        return self.report()

    # -- the report ---------------------------------------------------------------------------------
    def report(self) -> dict:
        recoveries = [r.recovery_s for r in self.rounds if r.recovery_s is not None]
        by_kind = {}
        for kind in KINDS:
            rs = [r for r in self.rounds if r.kind == kind]
            if rs:
                rec = [r.recovery_s for r in rs if r.recovery_s is not None]
                by_kind[kind] = {"rounds": len(rs), "outages": len(rec),
                                 "recovery_p50_s": percentile(rec, 50) if rec else None,
                                 "recovery_max_s": max(rec) if rec else None}
        return {
            "seed": self.seed, "rounds": len(self.rounds), "timers": self.pair.timers,
            "set_role_timeout": self.S, "slack_s": self.slack,
            "faults": dict(Counter(r.kind for r in self.rounds)),
            "violations": [asdict(v) for v in self.violations],
            "recovery_s": {"outages": len(recoveries), "no_outage": len(self.rounds) - len(recoveries),
                           **({q: percentile(recoveries, v) for q, v in (("p50", 50), ("p90", 90), ("p99", 99))}
                              if recoveries else {}),
                           "max": max(recoveries) if recoveries else None},
            "by_kind": by_kind, "total_s": round(self.total_s, 1), "aborted": self.aborted,
            "load_average_before": self.load_before, "load_average_after": os.getloadavg(),
            "cpus": os.cpu_count(), "folder": str(self.pair.dir),
            "round_details": [asdict(r) for r in self.rounds],
        }


def summary_text(rep: dict) -> str:
    """The printed summary of a report."""
    t = rep["timers"]
    rec = rep["recovery_s"]
    ms = lambda v: "-" if v is None else f"{v * 1000:.0f} ms"  # noqa: E731
    lines = [
        f"chaos: {rep['rounds']} rounds, seed {rep['seed']} (replay: --seed {rep['seed']}), "
        f"timers interval {t['heartbeat_interval']} s, dead_after {t['dead_after']}, "
        f"handover_after {t['handover_after']} s, set_role_timeout {rep['set_role_timeout']} s",
        "faults: " + ", ".join(f"{k} {rep['faults'][k]}" for k in KINDS if k in rep["faults"]),
        f"recovery (fault to service active again; {rec['outages']} rounds with an outage, "
        f"{rec['no_outage']} without): p50 {ms(rec.get('p50'))}, p90 {ms(rec.get('p90'))}, "
        f"p99 {ms(rec.get('p99'))}, max {ms(rec.get('max'))}",
        "by kind: " + "; ".join(f"{k} {v['outages']}/{v['rounds']} outages"
                                + (f" p50 {ms(v['recovery_p50_s'])} max {ms(v['recovery_max_s'])}" if v["outages"] else "")
                                for k, v in rep["by_kind"].items()),
        f"total time {rep['total_s']:.1f} s, load average {rep['load_average_before'][0]:.2f} before, "
        f"{rep['load_average_after'][0]:.2f} after (1 min, {rep['cpus']} CPUs)",
        f"violations: {len(rep['violations'])}",
    ]
    for v in rep["violations"]:
        detail = v["detail"].splitlines()
        more = f"\n  ... ({len(detail) - DETAIL_LINES} more lines in the JSON report)" if len(detail) > DETAIL_LINES else ""
        lines.append(f"- round {v['round']} ({v['kind']}) {v['invariant']}: " + "\n  ".join(detail[:DETAIL_LINES]) + more)
    if rep["aborted"]:
        lines.append(f"stopped early: {rep['aborted']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="faults to inject (default 20)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument("--slow", action="store_true", help="the slow timers of the end-to-end tests (interval 0.2 s, dead_after 4)")
    parser.add_argument("--json", metavar="FILE", help="also write the report, with every round, as JSON")
    parser.add_argument("--kinds", help=f"comma-separated fault kinds (default all: {','.join(KINDS)})")
    parser.add_argument("--slack", type=float, default=SLACK, help=f"seconds added to every recovery bound (default {SLACK:g})")
    parser.add_argument("--keep", action="store_true", help="keep the pair's folder (configs and logs) even without violation")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    timers = SLOW_TIMERS if args.slow else DEFAULT_TIMERS
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    pair = LocalPair(timers=timers, set_role_timeout=SET_ROLE_INTERVALS * timers["heartbeat_interval"],
                     prefix="hchaos-", keep=True)
    print(f"chaos: seed {seed}, {args.rounds} rounds, pair in {pair.dir}", file=sys.stderr)
    out = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        rep = Chaos(pair, seed=seed, slack=args.slack, kinds=kinds, out=out).run(args.rounds)
    finally:
        pair.stop_all()
    print(summary_text(rep))
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2))
    if rep["violations"] or args.keep:
        print(f"the pair's folder, with every log: {pair.dir}")
    else:
        pair.cleanup()
    return 2 if rep["aborted"] else 1 if rep["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``hanode demo``: a whole pair on this machine, to watch and to break.

It starts a :class:`~hanode.localpair.LocalPair` in a fresh folder under
/tmp: two agents (``alpha-TAG`` and ``beta-TAG``), each with the sample
process component and a command component whose marker file stands in for
a virtual IP. Then, in a terminal, it shows both nodes side by side (the
dashboard of :mod:`hanode.dashboard`, fed from each agent's HTTP
``/status``) and takes single keys:

====  ==========================================================================
k     kill -9 the active node's agent
s     SIGSTOP the active node's agent (it freezes; the peer takes over)
c     SIGCONT every agent stopped with s
f     the active node's sample component unhealthy for 3 s (longer than
      handover_after: the node hands the role over)
r     start again every process of the pair that is not running
q     quit (Ctrl-C too)
====  ==========================================================================

``--chaos SECONDS`` injects a fault every SECONDS: when the pair is broken it
heals it (restarts a killed agent, resumes a frozen one), otherwise it picks
kill -9, SIGSTOP (with SIGCONT 2 s later) or an unhealthy component, at
random (``--seed``), on the active node.

``--check`` shows nothing and takes no keys: it waits for the election, kills
the active agent with kill -9, waits for the other node to be active (its
marker present), starts the killed agent again, waits for it to be standby,
prints a short report and exits 0; a step that does not happen within 60 s
prints what it waited for and the agents' log tails, and exits 1.

Whatever happens (q, Ctrl-C, SIGTERM, SIGHUP, an exception, the end of
--check), every process of the pair is killed, and its folder is removed
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import random
import signal
import sys
import termios
import time
import tty

import trio

if sys.version_info < (3, 11):  # pragma: no cover - trio brings the backport there
    from exceptiongroup import BaseExceptionGroup
from rich.console import Console, Group, RenderableType
from rich.text import Text

from hanode.dashboard import Dashboard, clock, render_pair
from hanode.localpair import DEFAULT_TIMERS, NODES, SLOW_TIMERS, LocalPair, WaitFailed
from hanode.snapshot import Snapshot

__all__ = ["add_arguments", "run"]

CHECK_DEADLINE = 60.0  # seconds any step of --check may take: generous, for a loaded CI machine
FAIL_FOR = 3.0         # seconds `f` keeps a component unhealthy: past handover_after, so the node hands over
FREEZE_FOR = 2.0       # seconds --chaos keeps an agent stopped: past dead_after intervals, so the peer takes over
POLL_EVERY = 0.25      # seconds between two HTTP /status requests to one agent
HTTP_TIMEOUT = 1.0     # a frozen agent accepts the connection and never answers
FOOTER_EVENTS = 3      # the demo's own events shown under the nodes
KEYS = (("k", "kill -9 active"), ("s", "stop active"), ("c", "continue"), ("f", "fail db"),
        ("r", "restart"), ("q", "quit"))
_QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``hanode demo``."""
    parser.add_argument("--check", action="store_true",
                        help="no screen, no keys: fail the active node over once (kill -9), restart it, "
                             "print a report; exit 0, or 1 if a step did not happen within 60 s")
    parser.add_argument("--slow", action="store_true",
                        help="timers for a loaded machine (heartbeat_interval 0.2 s, dead_after 4) instead of "
                             "the defaults (0.1 s, 3); --check always uses them")
    parser.add_argument("--chaos", type=float, metavar="SECONDS",
                        help="a random fault (or a repair) every SECONDS")
    parser.add_argument("--seed", type=int, help="the random seed of --chaos (default: a new one, shown)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the pair's folder (configs and logs) and print where it is")


def run(args: argparse.Namespace) -> int:
    """Run the demo as ``args`` say; the exit status (0 done, 1 --check failed, 2 bad usage)."""
    if args.chaos is not None and (args.check or not args.chaos > 0):
        print("hanode demo: --chaos takes a positive number of seconds, and does not go with --check",
              file=sys.stderr)
        return 2
    if not args.check and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("hanode demo: needs a terminal (for the screen and the keys); without one, use --check",
              file=sys.stderr)
        return 2
    timers = SLOW_TIMERS if args.check or args.slow else DEFAULT_TIMERS
    # Until the Trio loop takes them over (and after it), SIGTERM and SIGHUP
    # unwind like Ctrl-C does, so the finally below always runs.
    previous = {sig: signal.getsignal(sig) for sig in _QUIT_SIGNALS}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    pair: LocalPair | None = None
    try:
        pair = LocalPair(timers=timers, prefix="hanode-demo-", keep=args.keep)
        pair.start_all()
        if args.check:
            return _check(pair)
        return _interactive(pair, args)
    except BaseException as e:
        if not _only_stops(e):
            raise
        if args.check:
            print("hanode demo --check: interrupted", file=sys.stderr)
            return 1
        return 0
    finally:
        # Nothing may interrupt the cleanup: every process must go.
        for sig in _QUIT_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            if pair is not None:
                pair.close()
                if args.keep:
                    print(f"hanode demo: kept {pair.dir} (configs and logs)", file=sys.stderr)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


class _Stop(BaseException):
    """SIGTERM or SIGHUP outside the Trio loop (a BaseException, as KeyboardInterrupt:
    no ``except Exception`` on the way may swallow it)."""


def _raise_stop(signum, frame) -> None:
    raise _Stop(signal.Signals(signum).name)


def _only_stops(error: BaseException) -> bool:
    """Ctrl-C, SIGTERM or SIGHUP, bare or inside Trio's exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return all(_only_stops(e) for e in error.exceptions)
    return isinstance(error, (KeyboardInterrupt, _Stop))


# -- --check -----------------------------------------------------------------------------------------

def _check(pair: LocalPair) -> int:
    names, t = pair.names, pair.timers

    def say(text: str) -> None:
        print(text, flush=True)

    say(f"hanode demo --check: a pair on loopback in {pair.dir} "
        f"(heartbeat_interval {t['heartbeat_interval']:g} s, dead_after {t['dead_after']:g})")
    started = time.monotonic()
    try:
        active, standby = pair.wait_for(lambda: _elected(pair), CHECK_DEADLINE,
                                        "one node active and the other standby (HTTP /status)", needs=NODES)
        say(f"  elected:  {names[active]} active, {names[standby]} standby, "
            f"{time.monotonic() - started:.1f} s after the start")

        seen: list[float] = []

        def took_over() -> bool:
            if not seen:
                s = pair.http_status(standby, HTTP_TIMEOUT)
                if s is not None and s.status == "active":
                    seen.append(time.monotonic())
            return bool(seen) and pair.marker(standby)

        killed = time.monotonic()
        pair.kill(active)
        pair.wait_for(took_over, CHECK_DEADLINE,
                      f"{names[standby]} active (HTTP /status) with its marker after {names[active]} was killed",
                      needs=(standby,))
        say(f"  failover: kill -9 of {names[active]}'s agent; {names[standby]} active "
            f"{(seen[0] - killed) * 1000:.0f} ms later (status polled every 25 ms), its marker present")

        restarted = time.monotonic()
        pair.restart(active)
        pair.wait_for(lambda: _status_of(pair, active) == "standby" and _status_of(pair, standby) == "active",
                      CHECK_DEADLINE, f"the restarted {names[active]} standby and {names[standby]} still active",
                      needs=NODES)
        say(f"  restart:  {names[active]} standby {time.monotonic() - restarted:.1f} s after its restart; "
            f"{names[standby]} kept the active role")
        final = ", ".join(f"{names[n]} {_status_of(pair, n) or 'unreachable'}" for n in NODES)
        say(f"  final:    {final}")
        say("ok: one failover, no fail-back")
        return 0
    except WaitFailed as e:
        print(f"hanode demo --check: FAILED: {e}", file=sys.stderr)
        print(pair.log_tails(40), file=sys.stderr, flush=True)
        return 1


def _status_of(pair: LocalPair, node: str) -> str | None:
    s = pair.http_status(node, HTTP_TIMEOUT)
    return None if s is None else s.status


def _elected(pair: LocalPair) -> tuple[str, str] | None:
    """(active, standby) once one node serves (status active, marker present) and the other is standby."""
    statuses = {node: _status_of(pair, node) for node in NODES}
    for active in NODES:
        standby = pair.peer_of(active)
        if statuses[active] == "active" and statuses[standby] == "standby" and pair.marker(active):
            return active, standby
    return None


# -- the screen and the keys --------------------------------------------------------------------------

def _interactive(pair: LocalPair, args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    demo = _Demo(pair, chaos=args.chaos, seed=seed)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)  # keys one at a time, unechoed; Ctrl-C still a signal
        trio.run(demo.main, fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return 0


class _Demo:
    """The interactive demo's state. Everything runs in the Trio thread except
    the HTTP requests, which run in worker threads so that a frozen agent
    never stalls the screen or the keys."""

    def __init__(self, pair: LocalPair, *, chaos: float | None, seed: int):
        self.pair = pair
        self.chaos_every = chaos
        self.seed = seed
        self.rng = random.Random(seed)
        self.snapshots: dict[str, Snapshot | None] = {node: None for node in NODES}
        self.stopped: set[str] = set()      # agents we sent SIGSTOP (and no SIGCONT yet)
        self.failing: set[str] = set()      # nodes whose component is unhealthy on purpose
        self.events: collections.deque[tuple[float, str]] = collections.deque(maxlen=50)
        self.quit: trio.Event | None = None
        self.nursery: trio.Nursery | None = None

    async def main(self, fd: int) -> None:
        self.quit = trio.Event()
        console = Console()
        console.clear()  # the frame is drawn from the top of the screen
        dashboard = _DemoDashboard(self, console)
        self.note(f"demo: started {self.pair.names['alpha']} and {self.pair.names['beta']}")
        with trio.open_signal_receiver(*_QUIT_SIGNALS) as signals:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._on_signals, signals)
                for node in NODES:
                    nursery.start_soon(self._poll, node)
                nursery.start_soon(self._read_keys, fd)
                if self.chaos_every is not None:
                    nursery.start_soon(self._chaos, self.chaos_every)
                nursery.start_soon(functools.partial(dashboard.run, self.view, refresh=0.25))
                await self.quit.wait()
                nursery.cancel_scope.cancel()

    # -- what is shown
    def note(self, text: str) -> None:
        self.events.append((time.time(), text))

    def view(self) -> tuple[Snapshot | None, Snapshot | None]:
        """What the dashboard draws: the latest answer of each agent (None: no answer)."""
        return self.snapshots[NODES[0]], self.snapshots[NODES[1]]

    def footer(self) -> list[Text]:
        """The lines under the two nodes: the pair, its processes, our events, the keys."""
        t = self.pair.timers
        chaos = "" if self.chaos_every is None else f"  chaos every {self.chaos_every:g} s (seed {self.seed})"
        lines = [_line(("hanode demo", "bold"), f"  {self.pair.dir}  heartbeat_interval {t['heartbeat_interval']:g} s"
                       f"  dead_after {t['dead_after']:g}{chaos}")]
        procs: list[object] = []
        for node in NODES:
            procs += [(self.pair.names[node], "bold"), ": ", self._process_state(node), "   "]
        lines.append(_line(*procs))
        shown = list(self.events)[-FOOTER_EVENTS:]
        for at, text in shown:
            lines.append(_line((clock(at), "dim"), " ", text))
        lines += [Text("")] * (FOOTER_EVENTS - len(shown))  # a steady layout
        keys: list[object] = []
        for key, what in KEYS:
            keys += ["  " if keys else "", (key, "bold reverse"), f" {what}"]
        lines.append(_line(*keys))
        return lines

    def _process_state(self, node: str) -> Text:
        proc = self.pair.procs.get(node)
        db = " (db unhealthy)" if node in self.failing else ""
        if proc is None:
            return Text("not started", style="dim")
        if proc.poll() is not None:
            how = "kill -9" if proc.returncode == -signal.SIGKILL else f"exit {proc.returncode}"
            return Text(f"down ({how}): r restarts it{db}", style="bold red")
        if node in self.stopped:
            return Text(f"pid {proc.pid} stopped: c resumes it{db}", style="yellow")
        return Text(f"pid {proc.pid} running{db}")

    # -- the tasks
    async def _on_signals(self, signals) -> None:
        async for signum in signals:
            self.note(f"demo: {signal.Signals(signum).name}: quitting")
            assert self.quit is not None
            self.quit.set()

    async def _poll(self, node: str) -> None:
        while True:
            snapshot = None
            if self._reachable(node):
                snapshot = await trio.to_thread.run_sync(self.pair.http_status, node, HTTP_TIMEOUT,
                                                         abandon_on_cancel=True)
            # A fault may have come while we asked: an answer from before it is stale.
            self.snapshots[node] = snapshot if self._reachable(node) else None
            await trio.sleep(POLL_EVERY)

    def _reachable(self, node: str) -> bool:
        return self.pair.running(node) and node not in self.stopped

    async def _read_keys(self, fd: int) -> None:
        while True:
            await trio.lowlevel.wait_readable(fd)
            try:
                data = os.read(fd, 64)
            except BlockingIOError:
                continue
            if not data:  # the terminal is gone
                assert self.quit is not None
                self.quit.set()
                return
            for key in data.decode(errors="replace"):
                self.on_key(key)

    async def _chaos(self, every: float) -> None:
        self.note(f"chaos: a fault every {every:g} s (seed {self.seed})")
        while True:
            await trio.sleep(every)
            if self.stopped or self._down():
                self.note("chaos: repairing")
                if self.stopped:
                    self.resume()
                if self._down():
                    self.restart()
                continue
            active = self.active()
            if active is None or self.failing or not self._settled():
                self.note("chaos: the pair has not settled yet; no fault this time")
                continue
            fault = self.rng.choice(("kill", "stop", "fail"))
            if fault == "kill":
                self.kill_active()
            elif fault == "stop":
                self.freeze_active()
                assert self.nursery is not None
                self.nursery.start_soon(self._resume_later, active, FREEZE_FOR)
            else:
                self.fail_active()

    async def _resume_later(self, node: str, delay: float) -> None:
        await trio.sleep(delay)
        if node in self.stopped:
            self.resume()

    def _settled(self) -> bool:
        statuses = sorted(s.status for s in self.snapshots.values() if s is not None)
        return statuses == ["active", "standby"]

    # -- the keys and the faults
    def on_key(self, key: str) -> None:
        """Carry out one key press."""
        actions = {"k": self.kill_active, "s": self.freeze_active, "c": self.resume, "f": self.fail_active,
                   "r": self.restart}
        if key in ("q", "Q", "\x03"):
            self.note("demo: quitting")
            assert self.quit is not None
            self.quit.set()
        elif key in actions:
            actions[key]()
        elif key.isprintable() and not key.isspace():
            self.note(f"demo: {key!r} is not a key of the demo")

    def active(self) -> str | None:
        """The node whose agent last said it holds the active role."""
        for node in NODES:
            s = self.snapshots[node]
            if s is not None and s.role == "active":
                return node
        return None

    def _target(self, what: str) -> str | None:
        node = self.active()
        if node is None:
            self.note(f"demo: no node is active now: nothing to {what}")
        return node

    def kill_active(self) -> None:
        node = self._target("kill")
        if node is not None:
            self.pair.kill(node, signal.SIGKILL, wait=False)  # reaped by the next poll(): never block the loop
            self.stopped.discard(node)
            self.snapshots[node] = None
            self.note(f"demo: killed {self.pair.names[node]}'s agent (kill -9)")

    def freeze_active(self) -> None:
        node = self._target("stop")
        if node is not None:
            self.pair.kill(node, signal.SIGSTOP)
            self.stopped.add(node)
            self.snapshots[node] = None
            self.note(f"demo: froze {self.pair.names[node]}'s agent (SIGSTOP); c resumes it")

    def resume(self) -> None:
        if not self.stopped:
            self.note("demo: no agent is stopped: nothing to resume")
        for node in sorted(self.stopped):
            self.pair.kill(node, signal.SIGCONT)
            self.note(f"demo: resumed {self.pair.names[node]}'s agent (SIGCONT)")
        self.stopped.clear()

    def fail_active(self) -> None:
        node = self._target("fail")
        if node is None:
            return
        if node in self.failing:
            self.note(f"demo: {self.pair.names[node]}'s db is already unhealthy")
            return
        assert self.nursery is not None
        self.failing.add(node)
        self.pair.control(node, "unhealthy")
        self.note(f"demo: made {self.pair.names[node]}'s db unhealthy for {FAIL_FOR:g} s")
        self.nursery.start_soon(self._heal_later, node)

    async def _heal_later(self, node: str) -> None:
        try:
            await trio.sleep(FAIL_FOR)
            self.note(f"demo: {self.pair.names[node]}'s db healthy again")
        finally:
            self.pair.control(node, "unhealthy", False)
            self.failing.discard(node)

    def _down(self) -> list[str]:
        return [name for name in (*NODES, *map(LocalPair.component, NODES)) if not self.pair.running(name)]

    def restart(self) -> None:
        down = self._down()
        if not down:
            self.note("demo: every process is running: nothing to restart")
        for name in down:
            self.pair.start(name)
            self.stopped.discard(name)
            what = f"{self.pair.names[name]}'s agent" if name in NODES else f"component {name}"
            self.note(f"demo: restarted {what}")


def _line(*parts) -> Text:
    """One footer line: never wrapped, cut with an ellipsis when too wide."""
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


class _DemoDashboard(Dashboard):
    """The pair dashboard with the demo's footer under it, fitted to the terminal's height."""

    def __init__(self, demo: _Demo, console: Console):
        names = demo.pair.names
        super().__init__(console, labels=(names[NODES[0]], names[NODES[1]]))
        self.demo = demo

    def renderable(self, value) -> RenderableType:
        footer = self.demo.footer()
        # One line spare: the live display ends its frame with a newline,
        # and a frame as tall as the terminal would scroll its top line away.
        height = max(self.console.size.height - len(footer) - 1, 8)
        left, right = value
        return Group(render_pair(left, right, height=height, max_events=self.max_events, labels=self.labels),
                     *footer)

"""The heartbeat load one agent sustains: N components heartbeating at R Hz.

    PYTHONPATH=src python bench/heartbeat_load.py --components 1000 --rate 10 --seconds 10
    PYTHONPATH=src python bench/heartbeat_load.py ... --profile agent.prof   # cProfile the agent

One agent (``python -m hanode run``) with N process components (ids "1".."N",
order 10, ``required = false``), ``heartbeat_interval = 1/R``, and no peer
(nothing listens at its peer address; the node's name sorts after its peer's,
so it only accepts and never dials). It promotes itself after
``startup_grace`` and sends every component SetRole(active).

One load generator (this file with ``--generator``, a Trio program in its own
process) opens N connections to the agent's component socket, then sends
each component's heartbeat at R Hz, spread over the period in slices of
~5 ms (components are not in phase), answers SetRole with ``success`` and
healthQuery with ``healthQueryResponse`` as a component does (and, as one
does, connects again 0.2 s after the agent closes its connection), and counts
what the agent sends (its heartbeat to every component each interval,
health queries, SetRoles). The parent drives it over stdin/stdout: ``mark``
returns its counters.

Measured over the steady-state window (``--seconds``, after every component
is active and ``--warmup`` seconds): the agent process's CPU time from
/proc/PID/stat (utime + stime, all threads) divided by the wall time, as a
share of one core; heartbeats per second in (generator -> agent) and out
(agent -> generator); health queries; and the agent log's lines with
"failed" (a component declared failed), in the window and over the run.
Target (reported, not asserted): 1,000 components at 10 Hz under 30% of one
core.

``--profile FILE`` runs the agent under cProfile instead (its CPU share is
then inflated by the profiler: use it to see where the time goes, not for
the number), stops it with SIGTERM after the window and prints the top
functions.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# failover also puts this checkout's src/ first on the path, for hanode.localpair below
from failover import load_average  # noqa: E402

from hanode.localpair import agent_args, child_env, free_ports, launch, stop_process  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SLICE = 0.005  # seconds: the generator sends one slice of the components at a time
RECONNECT = 0.2  # seconds before a closed component connection is opened again (as component.py)


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a whole process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


# -- the load generator (a separate process) -----------------------------------------------------

def generator_main(args) -> int:
    import trio

    from hanode.codec import (
        BillOfHealth, ComponentStatus, HealthMonitorMessage, HealthQuery, HealthQueryResponse, HeartBeat,
        ReturnCode, Role, RoleMessage, SetRole, SetRoleResponse,
    )
    from hanode.agent._fastio import Channel
    from hanode.agent.connection import ReadMux
    from hanode.wire import COMPONENT_TYPES, MessageReader, decoders, frame_message

    ok = BillOfHealth(ComponentStatus.ok)
    n, rate = args.components, args.rate
    period = 1.0 / rate
    stats = {"sent": 0, "hb_in": 0, "queries": 0, "set_role": 0, "other_in": 0,
             "send_blocked": 0, "closed": 0, "reconnected": 0, "active": 0}

    class Comp:
        __slots__ = ("sock", "cid", "reader", "out", "seq", "role", "channel")

        def __init__(self, sock, cid):
            self.sock, self.cid = sock, cid
            self.reader = MessageReader(COMPONENT_TYPES)
            self.out = b""
            self.seq = 0
            self.role = None

    def send(c: Comp, data: bytes) -> bool:
        """Non-blocking; what the kernel does not take is sent before the next frame.
        False if the connection is gone (it is being re-opened)."""
        if c.sock is None:
            return False
        if c.out:
            data, c.out = c.out + data, b""
        try:
            sent = c.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False
        if sent < len(data):
            c.out = data[sent:]
            stats["send_blocked"] += 1
        return True

    def emit(line: dict) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    # Connect all first, sending nothing: a component is bound (and watched) from its
    # first heartbeat, and the beats below start for all of them at once.
    comps = []
    for i in range(1, n + 1):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        deadline = time.monotonic() + 30
        while True:
            try:
                s.connect(args.connect)
                break
            except BlockingIOError:  # the agent's listen backlog is full: it is accepting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
        comps.append(Comp(s, str(i)))
    emit({"event": "connected", "n": n})

    all_active = trio.Event()
    nursery_box: list = []

    def on_message(c: Comp, msg) -> None:
        if type(msg) is HealthMonitorMessage:
            body = msg.message
            if type(body) is HeartBeat:
                stats["hb_in"] += 1
            elif type(body) is HealthQuery:
                stats["queries"] += 1
                send(c, frame_message(HealthMonitorMessage(msg.correlation_id, c.cid, HealthQueryResponse(ok))))
            else:
                stats["other_in"] += 1
        elif type(msg) is RoleMessage and type(msg.message) is SetRole:
            stats["set_role"] += 1
            role = msg.message.role
            if role == Role.active and c.role != Role.active:
                stats["active"] += 1
            elif role != Role.active and c.role == Role.active:
                stats["active"] -= 1
            c.role = role
            send(c, frame_message(RoleMessage(msg.correlation_id, SetRoleResponse(ReturnCode.success))))
            if stats["active"] == n:
                all_active.set()
        else:
            stats["other_in"] += 1

    # One reader for all the connections (the agent's own ReadMux, whole frames
    # decoded in C): the generator stands for a thousand separate processes,
    # so it should take as little of this machine's CPU as it can from the
    # agent it measures.
    def batch(items: list) -> None:
        for c, msg in items:
            on_message(c, msg)

    mux = ReadMux(on_batch=batch)
    component_decoders = decoders(COMPONENT_TYPES)

    def channel(c: Comp) -> Channel:
        def data(chunk: bytes) -> None:  # a frame split across reads, or the end of the stream
            if chunk:
                for msg in c.reader.feed(chunk):
                    on_message(c, msg)
                c.channel.pending = c.reader.buffered > 0
            else:
                closed(c)

        def unexpected(what) -> None:
            raise AssertionError(f"generator: {what!r}")

        c.channel = Channel(c.sock.fileno(), c, data, lambda reason: closed(c), unexpected, component_decoders, 65535)
        return c.channel

    def closed(c: Comp) -> None:
        # The agent closed it: a component fences (standby) and connects again.
        stats["closed"] += 1
        if c.role == Role.active:
            stats["active"] -= 1
        c.role = None
        mux.discard(c.sock.fileno())
        c.sock.close()
        c.sock, c.out, c.reader = None, b"", MessageReader(COMPONENT_TYPES)
        nursery_box[0].start_soon(reconnect, c)

    async def reconnect(c: Comp) -> None:
        await trio.sleep(RECONNECT)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(args.connect)
                break
            except (BlockingIOError, OSError):
                sock.close()
                await trio.sleep(RECONNECT)
        c.sock = sock
        mux.add(channel(c))
        stats["reconnected"] += 1

    async def beat() -> None:
        slices = max(1, min(n, round(period / SLICE)))
        groups = [comps[k::slices] for k in range(slices)]
        step = period / slices
        t = trio.current_time()
        while True:
            for group in groups:
                for c in group:
                    c.seq = c.seq % 9999999999999999 + 1
                    if send(c, frame_message(HealthMonitorMessage(str(c.seq), c.cid, HeartBeat(ok)))):
                        stats["sent"] += 1
                t += step
                await trio.sleep_until(t)

    async def announce_active() -> None:
        await all_active.wait()
        emit({"event": "active", "n": n})

    async def control(nursery) -> None:
        stdin = trio.lowlevel.FdStream(os.dup(0))
        buf = b""
        while True:
            data = await stdin.receive_some(4096)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.decode().strip()
                if cmd == "mark":
                    emit({"event": "mark", "t": time.monotonic(), "cpu": cpu_seconds(), **stats})
                elif cmd == "quit":
                    nursery.cancel_scope.cancel()
                    return
        nursery.cancel_scope.cancel()

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            nursery_box.append(nursery)
            for c in comps:
                mux.add(channel(c))
            await nursery.start(mux.run)
            nursery.start_soon(beat)
            nursery.start_soon(announce_active)
            nursery.start_soon(control, nursery)

    trio.run(run)
    return 0


# -- the parent: the agent, the generator, the window ---------------------------------------------

def agent_config(name: str, peer_port: int, sock: str, components: int, rate: float, grace: float,
                 set_role_timeout: float = 5.0) -> str:
    lines = [
        "[node]", f'name = "{name}"', "",
        "[peer]", 'name = "a"', f'address = "127.0.0.1:{peer_port}"', "",
        "[election]", f'listen = "127.0.0.1:{free_ports(1)[0]}"', f"heartbeat_interval = {1.0 / rate!r}",
        "dead_after = 3", f"startup_grace = {grace!r}", "handover_after = 1.0", "",
        "[components]", f'listen = "{sock}"', "",
        "[limits]", f"max_component_connections = {max(1024, components + 16)}", "",
    ]
    for i in range(1, components + 1):
        lines += ["[[component]]", f'id = "{i}"', f'name = "c{i}"', "order = 10", "required = false",
                  f"set_role_timeout = {set_role_timeout!r}", ""]
    return "\n".join(lines)


class _Lines:
    """A child's stdout lines, read by a thread, taken with a timeout."""

    def __init__(self, stream):
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def expect(self, event: str, timeout: float, alive=lambda: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the generator did not report {event!r} within {timeout:g} s")
            if not alive():
                raise RuntimeError(f"the agent exited before the generator reported {event!r}")
            try:
                line = self.q.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"the generator exited before reporting {event!r}")
            doc = json.loads(line)
            if doc.get("event") == event:
                return doc


def _failed_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "failed" in line]


def run_load(components: int, rate: float, seconds: float, *, warmup: float = 1.0, grace: float = 2.0,
             profile: str | None = None, keep_log: str | None = None, active_timeout: float = 20.0,
             set_role_timeout: float = 5.0,
             verbose: bool = True) -> dict:
    """Run the agent and the generator; the window's numbers as a dict."""
    folder = Path(tempfile.mkdtemp(prefix="hhl", dir="/tmp"))
    name = f"hl{os.getpid()}"          # sorts after its peer "a": it accepts, never dials
    sock = f"{folder}/c.sock"
    config = folder / "agent.toml"
    config.write_text(agent_config(name, free_ports(1)[0], sock, components, rate, grace, set_role_timeout))
    log_path = folder / "agent.log"
    agent_argv = agent_args(config)
    if profile:
        code = ("import cProfile\nfrom hanode.cli import main\nprofiler = cProfile.Profile()\n"
                f"try:\n    profiler.runcall(main, {agent_argv!r})\n"
                f"finally:\n    profiler.dump_stats({os.path.abspath(profile)!r})\n")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "hanode", *agent_argv]
    procs: list[subprocess.Popen] = []

    def say(text: str) -> None:
        if verbose:
            print(text, file=sys.stderr)

    try:
        agent = launch(cmd, log_path, cwd=folder)
        procs.append(agent)
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if agent.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the agent did not open {sock}:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.02)
        gen = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--generator", "--connect", sock,
             "--components", str(components), "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env(), cwd=folder, text=True,
            start_new_session=True,
        )
        procs.append(gen)
        lines = _Lines(gen.stdout)
        def tail() -> str:
            return "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])

        try:
            lines.expect("connected", 60, alive=lambda: agent.poll() is None)
            say(f"  {components} components connected; waiting for the agent to make them active")
            lines.expect("active", grace + active_timeout, alive=lambda: agent.poll() is None)
            all_active = True
            say(f"  all active; warm-up {warmup:g} s, then a {seconds:g} s window")
        except RuntimeError as e:
            raise RuntimeError(f"{e}; the agent's log ends:\n{tail()}") from None
        except TimeoutError:
            # An overloaded agent may never get there: measure it as it is, and say so.
            all_active = False
            say(f"  NOT all active after {grace + active_timeout:g} s (agent overloaded?); measuring anyway")
        time.sleep(warmup)

        def agent_cpu() -> float | None:
            """The agent's CPU seconds so far; None once it has exited."""
            if agent.poll() is not None:
                return None
            try:
                return cpu_seconds(agent.pid)
            except OSError:
                return None

        def generator_mark() -> dict:
            gen.stdin.write("mark\n")
            gen.stdin.flush()
            return lines.expect("mark", 10)

        c0 = agent_cpu()
        if c0 is None:
            raise RuntimeError(f"the agent exited (status {agent.returncode}) before the window; its log ends:\n{tail()}")
        w0 = time.monotonic()
        g0, l0 = generator_mark(), log_path.stat().st_size
        # Sample the agent's CPU through the window, so that an agent that dies in it
        # still has a measured share (up to its last sample).
        w1, c1, crashed = w0, c0, False
        end = w0 + seconds
        while not crashed:
            left = end - time.monotonic()
            if left > 0:
                time.sleep(min(0.1, left))
            c = agent_cpu()
            if c is None:
                crashed = True
            else:
                w1, c1 = time.monotonic(), c
            if left <= 0:
                break
        g1, l1 = generator_mark(), log_path.stat().st_size
        wall = w1 - w0
        gen_wall = g1["t"] - g0["t"]
        with open(log_path, "rb") as f:
            f.seek(l0)
            window_log = f.read(l1 - l0).decode(errors="replace")
        delta = {k: g1[k] - g0[k] for k in ("sent", "hb_in", "queries", "set_role", "other_in", "send_blocked", "closed")}
        crash = ""
        if crashed:
            errors = [x for x in log_path.read_text(errors="replace").splitlines() if "Error" in x]
            crash = errors[-1].strip(" |") if errors else f"exit status {agent.returncode}"
        result = {
            "components": components,
            "rate_hz": rate,
            "window_s": wall,
            "agent_crashed": crash,
            "hb_in_per_s": delta["sent"] / gen_wall,      # generator -> agent
            "hb_out_per_s": delta["hb_in"] / gen_wall,    # agent -> generator
            "expected_per_s": components * rate,
            "health_queries": delta["queries"],
            "set_roles": delta["set_role"],
            "send_blocked": delta["send_blocked"],
            "connections_closed": g1["closed"],  # over the run; each is re-opened after 0.2 s
            "all_active_before_window": all_active,
            "active_components": [g0["active"], g1["active"]],  # at the window's start and end
            "agent_cpu_pct": 100.0 * (c1 - c0) / wall if wall > 0 else float("nan"),
            "generator_cpu_pct": 100.0 * (g1["cpu"] - g0["cpu"]) / (g1["t"] - g0["t"]),
            "failed_in_window": _failed_lines(window_log),
            "profiled": bool(profile),
            "load_average": load_average(),
        }
        # Before anything stops: the shutdown's own "failed" lines are not the load's.
        result["failed_in_run"] = _failed_lines(log_path.read_text(errors="replace"))
        if profile:
            agent.send_signal(signal.SIGTERM)  # graceful: cProfile writes its file
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say("  the profiled agent did not stop within 30 s")
        gen.stdin.write("quit\n")
        gen.stdin.flush()
        try:
            gen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        return result
    finally:
        for p in procs:
            stop_process(p, timeout=5)
        if keep_log:
            shutil.copyfile(log_path, keep_log)
        shutil.rmtree(folder, ignore_errors=True)


def report(r: dict) -> str:
    failed = len(r["failed_in_window"])
    rows = [
        "| components | rate Hz | heartbeats/s in | heartbeats/s out | expected/s | health queries | agent CPU % of 1 core | generator CPU % | failed (window / run) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {r['components']} | {r['rate_hz']:g} | {r['hb_in_per_s']:.0f} | {r['hb_out_per_s']:.0f} | "
        f"{r['expected_per_s']:.0f} | {r['health_queries']} | {r['agent_cpu_pct']:.1f} | {r['generator_cpu_pct']:.1f} | "
        f"{failed} / {len(r.get('failed_in_run', []))} |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="heartbeats per second per component (interval 1/rate)")
    parser.add_argument("--seconds", type=float, default=10.0, help="the measured window")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds after all are active before the window")
    parser.add_argument("--grace", type=float, default=2.0, help="the agent's startup_grace (it has no peer)")
    parser.add_argument("--set-role-timeout", type=float, default=5.0,
                        help="each component's set_role_timeout (default 5, the config default); an overloaded "
                             "agent's SetRoles time out, and a long timeout keeps that out of the window")
    parser.add_argument("--profile", metavar="FILE", help="run the agent under cProfile, write FILE, print the top")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--keep-log", metavar="FILE", help="copy the agent's log to FILE at the end")
    parser.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--connect", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generator:
        return generator_main(args)

    load_before = load_average()
    try:
        r = run_load(args.components, args.rate, args.seconds, warmup=args.warmup, grace=args.grace,
                     profile=args.profile, keep_log=args.keep_log, set_role_timeout=args.set_role_timeout)
    except (RuntimeError, TimeoutError) as e:
        print(f"heartbeat_load: the run did not complete: {e}", file=sys.stderr)
        return 1
    print(f"\nHeartbeat load on one agent: {r['components']} components at {r['rate_hz']:g} Hz, "
          f"window {r['window_s']:.1f} s{' (UNDER cProfile: CPU inflated)' if r['profiled'] else ''}")
    print(f"load average before {load_before[0]:.2f}, after {r['load_average'][0]:.2f} (1 min), {os.cpu_count()} CPUs\n")
    print(report(r))
    for line in r["failed_in_run"][:10]:
        print(f"  log: {line}")
    if r["agent_crashed"]:
        print(f"\nTHE AGENT DIED {r['window_s']:.1f} s into the window: {r['agent_crashed']} "
              "(its CPU share is up to its last sample; message rates are over the whole window)")
    a0, a1 = r["active_components"]
    print(f"\ncomponents active (generator's view) at the window's start / end: {a0} / {a1} of {r['components']}"
          f"{'' if r['all_active_before_window'] else ' (NOT all active before the window)'}; "
          f"connections closed by the agent (then re-opened): {r['connections_closed']}; "
          f"sends that found the socket full: {r['send_blocked']}")
    if not r["profiled"]:
        pct = r["agent_cpu_pct"]
        ok = pct < 30 and a1 == r["components"] and not r["failed_in_window"] and not r["agent_crashed"]
        verdict = "MET" if ok else f"MISSED ({pct:.1f}% of a core, {pct / 30:.2f}x the 30% budget" + (
            f"; {len(r['failed_in_window'])} component failures in the window)" if r["failed_in_window"] else ")")
        if (r["components"], r["rate_hz"]) != (1000, 10):
            verdict += " [this run is not the target's 1,000 x 10 Hz]"
        print(f"target: 1,000 components at 10 Hz under 30% of one core, none failed: {verdict}")
    if args.profile:
        import pstats

        print(f"\ncProfile of the agent ({args.profile}), top 30 by own time:")
        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(30)
        print("cProfile of the agent, hanode's functions by cumulative time:")
        stats.sort_stats("cumulative").print_stats("hanode", 30)
    if args.json:
        doc = dict(r)
        for key in ("failed_in_window", "failed_in_run"):  # counts, and the first lines
            doc[key] = {"count": len(r[key]), "first": r[key][:20]}
        Path(args.json).write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

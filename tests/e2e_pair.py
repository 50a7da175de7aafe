"""A real hanode pair on loopback, for the end-to-end tests (tests/test_e2e.py).

``Pair`` writes two TOML configs (nodes ``alpha-<tag>`` and ``beta-<tag>``,
unique per test so that guard lock files and guard processes never collide
with another run), then runs as subprocesses: the two agents
(``python -m hanode run``), one sample process component (id "1", order 10)
per node (``python -m hanode.sample``), and lets each agent run its command
component (id "2", order 20) whose on_active/on_standby create/remove a
marker file, a stand-in for a virtual IP.

Timers are scaled up for a loaded 2-core CI machine (``TIMERS``); the sample
components get the same interval and dead_after.

Observation never sleeps and hopes:

- ``wait_for(predicate, timeout, what)`` polls every 25 ms;
- ``StatusWatch`` is a status client (a thread) subscribed to one agent: it
  records the answer to its getStatus and every statusIndication, and
  reconnects when the agent goes away (recording ``None``);
- ``Sampler`` (a thread) reads both role files and both marker files every
  few milliseconds and records every change, so a test can check that the
  two nodes never held an active component at once and count the changes of
  active node.

Teardown kills -9 everything the pair started (agents, components, the
agents' fencing guards, found by their lock file name which holds the node
name) and prints the tail of every log when the test failed.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PY = sys.executable

TIMERS = {
    "heartbeat_interval": 0.2,
    "dead_after": 4,
    "startup_grace": 2.0,
    "handover_after": 1.5,
}
DEADLINE = 20.0  # seconds any wait_for may take by default
POLL = 0.025


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(SRC) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e["PYTHONUNBUFFERED"] = "1"
    return e


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
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


class WaitTimeout(AssertionError):
    pass


def wait_for(predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "a condition",
             describe: Callable[[], str] | None = None) -> object:
    """Poll ``predicate`` every 25 ms until it returns something truthy (returned)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"; now: {describe()}" if describe is not None else ""
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(POLL)


# -- status clients ------------------------------------------------------------------------------

def query_status(port: int, timeout: float = 2.0) -> str | None:
    """One getStatus to 127.0.0.1:port; the token, or None if unreachable or no answer."""
    from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage
    from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None
    deadline = time.monotonic() + timeout
    try:
        s.sendall(frame_message(ServiceStatusMessage("1", GetStatus())))
        reader = MessageReader(CLIENT_TYPES)
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            data = s.recv(4096)
            if not data:
                return None
            for msg in reader.feed(data):
                if type(msg.message) is GetStatusResponse and msg.correlation_id == "1":
                    return msg.message.status
    except OSError:
        return None
    finally:
        s.close()


class StatusWatch:
    """A subscribed status client in a thread: ``events`` is a list of
    ``(monotonic time, token)``; ``None`` marks a lost connection. The first
    token after each (re)connection is the getStatus answer."""

    def __init__(self, port: int, name: str = ""):
        self.port = port
        self.name = name
        self.events: list[tuple[float, str | None]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"status-watch-{name}", daemon=True)

    def __enter__(self) -> StatusWatch:
        self._thread.start()
        wait_for(lambda: self.tokens(), 10, f"the status watch on {self.name} to get its first answer")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def tokens(self) -> list[str | None]:
        return [t for _, t in list(self.events)]

    def last(self) -> str | None:
        ev = list(self.events)
        return ev[-1][1] if ev else None

    def _run(self) -> None:
        from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage, StatusIndication
        from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

        while not self._stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
            except OSError:
                time.sleep(0.02)
                continue
            got_answer = False
            try:
                s.settimeout(0.05)
                s.sendall(frame_message(ServiceStatusMessage("1", GetStatus())))
                reader = MessageReader(CLIENT_TYPES)
                self.connected.set()
                while not self._stop.is_set():
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    for msg in reader.feed(data):
                        body = msg.message
                        if type(body) is GetStatusResponse:
                            got_answer = True
                            self.events.append((time.monotonic(), body.status))
                        elif type(body) is StatusIndication and got_answer:
                            # indications before the answer are older than it
                            self.events.append((time.monotonic(), body.status))
            except OSError:
                pass
            finally:
                s.close()
                self.connected.clear()
            if got_answer and not self._stop.is_set():
                self.events.append((time.monotonic(), None))
            time.sleep(0.02)


# -- the file sampler ------------------------------------------------------------------------------

class Sampler:
    """Samples both nodes' role files (component 1) and marker files (component 2).

    Each sample reads the four resources in one order, then again in the
    reverse order; a resource counts as active in a sample only if both reads
    said so. Since the first read of one node's resource and the last read of
    the same resource enclose both reads of the other node's, "both nodes
    active in one sample" means the two were really active at the same moment
    (given that a resource does not flap within a millisecond)."""

    RESOURCES = ("role_a", "marker_a", "role_b", "marker_b")

    def __init__(self, pair: Pair, period: float = 0.004):
        self.pair = pair
        self.period = period
        self.history: list[tuple[float, dict[str, bool], frozenset[str]]] = []  # changes only
        self.overlaps: list[tuple[float, dict[str, bool]]] = []
        self.samples = 0
        self.ignore: set[str] = set()  # resources not counted (e.g. a frozen process's stale file)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        wait_for(lambda: self.samples > 0, 5, "the sampler's first sample")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _read(self, name: str) -> bool:
        p = self.pair
        if name == "role_a":
            return p.role("alpha") == "active"
        if name == "role_b":
            return p.role("beta") == "active"
        if name == "marker_a":
            return p.marker("alpha")
        return p.marker("beta")

    def _run(self) -> None:
        last = None
        while not self._stop.is_set():
            first = {r: self._read(r) for r in self.RESOURCES}
            second = {r: self._read(r) for r in reversed(self.RESOURCES)}
            t = time.monotonic()
            ignored = frozenset(self.ignore)
            both = {r: first[r] and second[r] and r not in ignored for r in self.RESOURCES}
            if (both["role_a"] or both["marker_a"]) and (both["role_b"] or both["marker_b"]):
                self.overlaps.append((t, both))
            state = {r: second[r] for r in self.RESOURCES}
            if (state, ignored) != last:
                self.history.append((t, state, ignored))
                last = (state, ignored)
            self.samples += 1
            time.sleep(self.period)

    def active_nodes(self) -> list[str]:
        """The successive nodes that held an active resource (a role file or a
        marker; ignored resources not counted), consecutive repeats and
        moments with none collapsed."""
        seq: list[str] = []
        for _, state, ignored in self.history:
            on = {r: v and r not in ignored for r, v in state.items()}
            a = on["role_a"] or on["marker_a"]
            b = on["role_b"] or on["marker_b"]
            holder = "alpha" if a and not b else "beta" if b and not a else "both" if a and b else None
            if holder is not None and (not seq or seq[-1] != holder):
                seq.append(holder)
        return seq

    def describe(self) -> str:
        if not self.history:
            return "no samples"
        t0 = self.history[0][0]
        lines = []
        for t, s, ignored in self.history:
            lines.append(f"  +{t - t0:7.3f}s " + " ".join(f"{r}={'A' if v else '-'}" for r, v in s.items())
                         + (f" (ignored: {', '.join(sorted(ignored))})" if ignored else ""))
        return "\n".join(lines)


# -- the pair ------------------------------------------------------------------------------------

class Pair:
    """Two agents and their components on loopback. See the module doc."""

    NODES = ("alpha", "beta")

    def __init__(self, **timers):
        self.timers = {**TIMERS, **{k: v for k, v in timers.items() if k in TIMERS}}
        self.set_role_timeout = timers.get("set_role_timeout", 6.0)
        # a short directory: unix socket paths are limited to 107 octets
        self.dir = Path(tempfile.mkdtemp(prefix="hne2e-", dir="/tmp"))
        tag = secrets.token_hex(3)
        self.names = {"alpha": f"alpha-{tag}", "beta": f"beta-{tag}"}
        assert all(len(n) <= 16 for n in self.names.values())
        ports = free_ports(4)
        self.election_port = {"alpha": ports[0], "beta": ports[1]}
        self.status_port = {"alpha": ports[2], "beta": ports[3]}
        self.procs: dict[str, subprocess.Popen] = {}
        self.argv: dict[str, list[str]] = {}
        self.extra: list[subprocess.Popen] = []
        for node in self.NODES:
            self.config_path(node).write_text(self.config_text(node))
            self.argv[node] = [PY, "-m", "hanode", "run", "--log-level", "debug", "--config", str(self.config_path(node))]
            comp = self.component(node)
            self.argv[comp] = [
                PY, "-m", "hanode.sample", "--connect", str(self.socket_path(node)), "--id", "1",
                "--dir", str(self.component_dir(node)),
                "--heartbeat-interval", str(self.timers["heartbeat_interval"]),
                "--dead-after", str(self.timers["dead_after"]),
            ]

    # -- layout
    @staticmethod
    def component(node: str) -> str:
        return node[0] + "1"  # "a1", "b1"

    def peer_of(self, node: str) -> str:
        return "beta" if node == "alpha" else "alpha"

    def config_path(self, node: str) -> Path:
        return self.dir / f"{node}.toml"

    def socket_path(self, node: str) -> Path:
        return self.dir / f"{node[0]}.sock"

    def component_dir(self, node: str) -> Path:
        return self.dir / self.component(node)

    def marker_path(self, node: str) -> Path:
        return self.dir / f"{node}.vip"

    def log_path(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def status_addr(self, node: str) -> str:
        return f"127.0.0.1:{self.status_port[node]}"

    def lock_path(self, node: str) -> Path:
        return Path(tempfile.gettempdir()) / f"hanode-{self.names[node]}.guard.lock"

    def config_text(self, node: str) -> str:
        peer = self.peer_of(node)
        t = self.timers
        marker = self.marker_path(node)
        return f"""\
[node]
name = "{self.names[node]}"

[peer]
name = "{self.names[peer]}"
address = "127.0.0.1:{self.election_port[peer]}"

[election]
listen = "127.0.0.1:{self.election_port[node]}"
heartbeat_interval = {t['heartbeat_interval']}
dead_after = {t['dead_after']}
startup_grace = {t['startup_grace']}
preferred = "{self.names['alpha']}"
handover_after = {t['handover_after']}

[components]
listen = "{self.socket_path(node)}"

[[component]]
id = "1"
name = "db"
order = 10
set_role_timeout = {self.set_role_timeout}

[[component]]
id = "2"
name = "vip"
order = 20
on_active = "touch {marker}"
on_standby = "rm -f {marker}"
check = "true"
check_interval = 1.0
command_timeout = 5.0

[status]
listen = "127.0.0.1:{self.status_port[node]}"
"""

    # -- processes
    def start(self, name: str) -> subprocess.Popen:
        """Start (or start again) one of alpha, beta, a1, b1."""
        old = self.procs.get(name)
        assert old is None or old.poll() is not None, f"{name} is still running"
        with open(self.log_path(name), "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} harness: starting {name}\n".encode())
            log.flush()
            proc = subprocess.Popen(self.argv[name], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env(), cwd=self.dir)
        self.procs[name] = proc
        return proc

    restart = start

    def start_all(self) -> None:
        for name in ("alpha", "beta", "a1", "b1"):
            self.start(name)

    def spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        """Any other process (a status --watch client); killed at teardown."""
        log = open(self.log_path(log_name), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env(), cwd=self.dir)
        log.close()
        self.extra.append(proc)
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        self._log_note(name, f"harness: sending {signal.Signals(sig).name}")
        proc.send_signal(sig)
        if sig == signal.SIGKILL:
            proc.wait(10)

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def _log_note(self, name: str, text: str) -> None:
        with open(self.log_path(name), "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} {text}\n".encode())

    def guard_pids(self, node: str | None = None) -> list[int]:
        nodes = [node] if node else list(self.NODES)
        pids = []
        for n in nodes:
            pattern = r"hanode\.guard .*--lock " + re.escape(str(self.lock_path(n))) + "$"
            out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        return pids

    def stop_all(self) -> None:
        """kill -9 everything this pair started; remove the guard lock files."""
        for proc in [*self.procs.values(), *self.extra]:
            if proc.poll() is None:
                with _suppress():
                    proc.kill()
        for proc in [*self.procs.values(), *self.extra]:
            with _suppress():
                proc.wait(10)
        for _ in range(3):  # a guard fences (runs rm) before exiting: make sure none is left
            pids = self.guard_pids()
            if not pids:
                break
            for pid in pids:
                with _suppress():
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        for node in self.NODES:
            with _suppress():
                self.lock_path(node).unlink()

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- observation
    def role(self, node: str, component: str = "1") -> str | None:
        """The role file of node's sample component: active, standby or None
        (not written yet). Component "1" is the only process component."""
        assert component == "1", "the pair has one process component, id 1"
        try:
            return (self.component_dir(node) / "role").read_text().strip() or None
        except FileNotFoundError:
            return None

    def marker(self, node: str) -> bool:
        return self.marker_path(node).exists()

    def status(self, node: str, timeout: float = 2.0) -> str | None:
        return query_status(self.status_port[node], timeout)

    def control(self, node: str, what: str, on: bool = True) -> None:
        """Create/remove the sample component's control file: unhealthy, refuse or delay."""
        path = self.component_dir(node) / what
        if on is False:
            path.unlink(missing_ok=True)
        else:
            path.write_text("" if on is True else str(on))

    def snapshot(self) -> str:
        parts = []
        for node in self.NODES:
            parts.append(f"{node}: status={self.status(node, 1.0)} role={self.role(node)} marker={self.marker(node)}"
                         f" running={self.running(node)}")
        return "; ".join(parts)

    def wait_for(self, predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "a condition") -> object:
        return wait_for(predicate, timeout, what, describe=self.snapshot)

    def wait_status(self, node: str, *statuses: str, timeout: float = DEADLINE) -> str:
        return self.wait_for(lambda: (s := self.status(node, 1.0)) in statuses and s, timeout,
                             f"{node} status in {statuses}")

    def wait_converged(self, active: str = "alpha", timeout: float = DEADLINE) -> None:
        """``active`` serving (status active, component active, marker) and its peer standby."""
        standby = self.peer_of(active)
        self.wait_for(
            lambda: self.status(active, 1.0) == "active" and self.role(active) == "active" and self.marker(active)
            and self.status(standby, 1.0) == "standby" and self.role(standby) == "standby" and not self.marker(standby),
            timeout, f"{active} active and {standby} standby",
        )

    def log_tails(self, lines: int = 60) -> str:
        out = [f"---- e2e pair in {self.dir} (nodes {self.names['alpha']}, {self.names['beta']})"]
        for path in sorted(self.dir.glob("*.log")):
            text = [line for line in path.read_text(errors="replace").splitlines() if not _NOISE.search(line)]
            out.append(f"---- {path.name} (last {min(lines, len(text))} of {len(text)} lines)")
            out.extend(text[-lines:])
        return "\n".join(out)


_NOISE = re.compile(r"status client \d+ \(.*\) disconnected: closed by the other side")  # our own polling


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (OSError, subprocess.TimeoutExpired, ProcessLookupError))

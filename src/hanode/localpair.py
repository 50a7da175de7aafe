"""A pair of real hanode agents on loopback, run as processes.

One launcher for everything that runs a whole pair on one machine:
``hanode demo`` (:mod:`hanode.demo`), the end-to-end tests
(``tests/e2e_pair.py``) and the failover benchmark (``bench/failover.py``).

:class:`LocalPair` writes two TOML configs into a fresh short folder under
/tmp (unix socket paths are limited to 107 octets) and starts, as
subprocesses:

- the two agents, ``python -m hanode run --config FILE --dashboard off``,
  keyed ``"alpha"`` and ``"beta"``; their node names are ``alpha-TAG`` and
  ``beta-TAG`` with a tag new to each pair, because an agent's fencing guard
  locks ``/tmp/hanode-NAME.guard.lock``: two pairs with the same names would
  wait on each other's guards (and a cleanup would kill the other's);
- one sample component per node (``python -m hanode.sample``, component id
  "1", order 10, keyed ``"a1"`` and ``"b1"``), which writes the role it holds
  to ``DIR/role`` and reads the control files of :mod:`hanode.sample`.

Each agent also runs a command component (id "2", order 20) whose
on_active/on_standby create/remove a marker file ``NODE.vip`` (a stand-in
for a virtual IP), serves its status port, HTTP (``/status``, ``/active``,
``/metrics``) and a control socket in the folder. Ports are free ones
(bound to port 0, then released).

Every process gets its own session (process group): a Ctrl-C in the
terminal that runs the pair is not also a SIGINT to the agents (which would
hand over and stop), and a signal sent with :meth:`LocalPair.kill` reaches
the whole group. :meth:`LocalPair.stop_all` kills everything the pair
started, the agents' fencing guards included (they are not our children:
the agents start them in their own sessions; they are found by their lock
file). Each process's output goes to ``NAME.log`` in the folder.

Observation (role files, markers, the status port, HTTP ``/status``) is by
polling: :func:`wait_for` polls a predicate until it holds or a deadline
passes, then raises :class:`WaitFailed` saying what it waited for. Two
threads record what polling would miss (the end-to-end tests and the chaos
benchmark use them): :class:`StatusWatch`, a status client subscribed to
one agent that records its getStatus answer and every statusIndication
(``None`` when the agent went away; it reconnects), and :class:`Sampler`,
which reads both nodes' role and marker files every few milliseconds and
records every change, so that an overlap of active nodes cannot slip
between two looks.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import hanode
from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage, StatusIndication
from hanode.snapshot import Snapshot
from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

__all__ = [
    "DEFAULT_TIMERS",
    "NODES",
    "PY",
    "SLOW_TIMERS",
    "LocalPair",
    "Sampler",
    "StatusWatch",
    "WaitFailed",
    "agent_args",
    "child_env",
    "fetch_snapshot",
    "free_ports",
    "kill_pids",
    "launch",
    "processes_mentioning",
    "query_status",
    "stop_process",
    "wait_for",
]

PY = sys.executable
NODES = ("alpha", "beta")

DEFAULT_TIMERS: dict[str, float] = {
    "heartbeat_interval": 0.1,
    "dead_after": 3,
    "startup_grace": 2.0,
    "handover_after": 1.0,
}
"""The configuration defaults: what the benchmarks measure."""

SLOW_TIMERS: dict[str, float] = {
    "heartbeat_interval": 0.2,
    "dead_after": 4,
    "startup_grace": 2.0,
    "handover_after": 1.5,
}
"""Scaled up so that a loaded 2-core CI machine does not turn scheduling
delays into failovers (the end-to-end tests, ``hanode demo --check``)."""

DEADLINE = 20.0  # seconds a wait_for may take by default
POLL = 0.025     # seconds between two polls of a wait_for


# -- processes ------------------------------------------------------------------------------------

def child_env() -> dict[str, str]:
    """The environment of every child: the folder holding the ``hanode``
    package imported here goes first on PYTHONPATH, so the children run the
    same code as the parent (a checkout's src/ or an installed copy)."""
    env = dict(os.environ)
    here = str(Path(hanode.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"  # a log tail shows the last line written, not the last one flushed
    env.pop("PYTHONSTARTUP", None)
    return env


def agent_args(config: str | os.PathLike, log_level: str = "info") -> list[str]:
    """``hanode``'s arguments that run an agent from ``config`` with its logs on stderr."""
    return ["run", "--config", str(config), "--dashboard", "off", "--log-level", log_level]


def launch(argv: list[str], log: Path, *, cwd: str | os.PathLike, note: str | None = None) -> subprocess.Popen:
    """Start ``argv`` in its own session, stdin from /dev/null, stdout and
    stderr appended to ``log`` (after a ``==== TIME note`` line, if given)."""
    with open(log, "ab") as out:
        if note is not None:
            out.write(f"==== {time.strftime('%H:%M:%S')} {note}\n".encode())
            out.flush()
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=child_env(), cwd=cwd, start_new_session=True)


def signal_group(proc: subprocess.Popen, sig: int) -> bool:
    """Send ``sig`` to ``proc``'s process group if it leads one (as after
    :func:`launch`), else to ``proc`` alone; False if it has already exited.
    Only a child not yet reaped is signalled, so a recycled pid is never hit."""
    if proc.poll() is not None:
        return False
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """kill -9 ``proc``'s process group and reap it."""
    signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def processes_mentioning(text: str) -> list[int]:
    """The pids (other than ours) whose command line contains ``text``, from /proc."""
    needle = text.encode()
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return pids


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each of ``pids`` that still exists."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports nothing listens on now on 127.0.0.1 (bound to 0, then let go)."""
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


# -- asking an agent ----------------------------------------------------------------------------------

def query_status(port: int, timeout: float = 2.0) -> str | None:
    """One getStatus to 127.0.0.1:``port``; the status token, or None if
    unreachable or no answer within ``timeout``."""
    from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage
    from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
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
    except (OSError, ValueError):  # ValueError: a frame that does not decode
        return None


# No proxy: http_proxy in the environment must not send a loopback request elsewhere.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch_snapshot(port: int, timeout: float = 1.0) -> Snapshot | None:
    """GET http://127.0.0.1:``port``/status as a :class:`Snapshot`; None when
    the agent does not answer with one within ``timeout`` (down, frozen,
    still starting)."""
    try:
        with _HTTP.open(f"http://127.0.0.1:{port}/status", timeout=timeout) as response:
            return Snapshot.from_dict(json.loads(response.read()))
    except (OSError, ValueError, http.client.HTTPException):
        return None


# -- waiting --------------------------------------------------------------------------------------

class WaitFailed(Exception):
    """A :func:`wait_for` gave up: its deadline passed, or a process it needs exited."""


def wait_for(predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "a condition",
             describe: Callable[[], str] | None = None, *, check: Callable[[], str | None] | None = None) -> object:
    """Poll ``predicate`` every 25 ms until it returns something truthy, and return that.

    Past ``timeout`` seconds, raise :class:`WaitFailed` naming ``what`` (and
    ``describe()``, the state of things then). ``check``, called before each
    poll, returns why waiting longer is pointless (then raised at once) or None.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None and (why := check()):
            extra = f"; now: {describe()}" if describe is not None else ""
            raise WaitFailed(f"{why} while waiting for {what}{extra}")
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"; now: {describe()}" if describe is not None else ""
            raise WaitFailed(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(POLL)


# -- the pair ------------------------------------------------------------------------------------

class LocalPair:
    """Two agents and their sample components on loopback (see the module doc).

    ``timers`` override :data:`DEFAULT_TIMERS` key by key;
    ``set_role_timeout`` is written for component 1 (None: the config's
    default); ``log_level`` is the agents'; ``witness`` (host:port) and
    ``preferred`` (a key of :data:`NODES`) go to ``[election]``. Nothing runs
    until :meth:`start` or :meth:`start_all`. As a context manager, it stops
    everything on exit and removes its folder unless ``keep``. A subclass
    that runs the agents elsewhere (network namespaces) overrides
    :meth:`listen_addr` and :meth:`peer_addr`.
    """

    NODES = NODES

    def __init__(self, *, timers: Mapping[str, float] | None = None, set_role_timeout: float | None = None,
                 log_level: str = "info", tag: str | None = None, prefix: str = "hanode-pair-", keep: bool = False,
                 witness: Iterable[str] = (), preferred: str = NODES[0]):
        unknown = set(timers or ()) - set(DEFAULT_TIMERS)
        if unknown:
            raise ValueError(f"unknown timers {sorted(unknown)}; known: {sorted(DEFAULT_TIMERS)}")
        self.timers = {**DEFAULT_TIMERS, **(timers or {})}
        self.set_role_timeout = set_role_timeout
        self.witness = list(witness)
        self.preferred = preferred
        self.log_level = log_level
        self.keep = keep
        self.tag = tag if tag is not None else secrets.token_hex(3)
        self.names = {node: f"{node}-{self.tag}" for node in NODES}
        if any(len(name) > 16 for name in self.names.values()):
            raise ValueError(f"tag {self.tag!r} too long: node names are at most 16 characters")
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))  # short: unix socket paths
        ports = iter(free_ports(3 * len(NODES)))
        self.election_port = {node: next(ports) for node in NODES}
        self.status_port = {node: next(ports) for node in NODES}
        self.http_port = {node: next(ports) for node in NODES}
        self.procs: dict[str, subprocess.Popen] = {}
        self.extra: list[subprocess.Popen] = []
        self.argv: dict[str, list[str]] = {}
        for node in NODES:
            self.config_path(node).write_text(self.config_text(node))
            self.argv[node] = [PY, "-m", "hanode", *agent_args(self.config_path(node), log_level)]
            self.argv[self.component(node)] = [
                PY, "-m", "hanode.sample", "--connect", str(self.socket_path(node)), "--id", "1",
                "--dir", str(self.component_dir(node)),
                # the library must expect the agent's heartbeats as often as the agent sends them
                "--heartbeat-interval", str(self.timers["heartbeat_interval"]),
                "--dead-after", str(self.timers["dead_after"]),
            ]

    def __enter__(self) -> LocalPair:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- layout
    @staticmethod
    def component(node: str) -> str:
        """The process key of ``node``'s sample component: "a1" or "b1"."""
        return node[0] + "1"

    @staticmethod
    def peer_of(node: str) -> str:
        return NODES[1] if node == NODES[0] else NODES[0]

    def config_path(self, node: str) -> Path:
        return self.dir / f"{node}.toml"

    def socket_path(self, node: str) -> Path:
        return self.dir / f"{node}.sock"

    def control_path(self, node: str) -> Path:
        return self.dir / f"{node}.ctl"

    def component_dir(self, node: str) -> Path:
        return self.dir / self.component(node)

    def marker_path(self, node: str) -> Path:
        return self.dir / f"{node}.vip"

    def log_path(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def lock_path(self, node: str) -> Path:
        """The lock file of ``node``'s fencing guard (named after the node, by the agent)."""
        return Path(tempfile.gettempdir()) / f"hanode-{self.names[node]}.guard.lock"

    def status_addr(self, node: str) -> str:
        return f"127.0.0.1:{self.status_port[node]}"

    def http_addr(self, node: str) -> str:
        return f"127.0.0.1:{self.http_port[node]}"

    def listen_addr(self, node: str) -> str:
        """Where ``node``'s agent listens for its peer."""
        return f"127.0.0.1:{self.election_port[node]}"

    def peer_addr(self, node: str) -> str:
        """Where ``node``'s agent dials its peer."""
        return self.listen_addr(self.peer_of(node))

    def config_text(self, node: str) -> str:
        """The TOML file of ``node``."""
        t = self.timers
        marker = self.marker_path(node)
        set_role = "" if self.set_role_timeout is None else f"set_role_timeout = {self.set_role_timeout}\n"
        witness = f"witness = {json.dumps(self.witness)}\n" if self.witness else ""
        return f"""\
[node]
name = "{self.names[node]}"

[peer]
name = "{self.names[self.peer_of(node)]}"
address = "{self.peer_addr(node)}"

[election]
listen = "{self.listen_addr(node)}"
heartbeat_interval = {t['heartbeat_interval']}
dead_after = {t['dead_after']}
startup_grace = {t['startup_grace']}
preferred = "{self.names[self.preferred]}"
handover_after = {t['handover_after']}
{witness}
[components]
listen = "{self.socket_path(node)}"

[[component]]
id = "1"
name = "db"
order = 10
{set_role}
[[component]]
id = "2"
name = "vip"
order = 20
on_active = "touch {marker}"
on_standby = "rm -f {marker}"
check = "true"
check_interval = 1.0
command_timeout = 5.0

{self.service_sections(node)}
[control]
path = "{self.control_path(node)}"
"""

    def service_sections(self, node: str) -> str:
        """The status port's and HTTP's sections of ``node``'s file."""
        return f"""\
[status]
listen = "127.0.0.1:{self.status_port[node]}"

[http]
listen = "127.0.0.1:{self.http_port[node]}"
"""

    # -- processes
    def start(self, name: str) -> subprocess.Popen:
        """Start (or start again) one of the agents ("alpha", "beta") or components ("a1", "b1")."""
        old = self.procs.get(name)
        if old is not None and old.poll() is None:
            raise RuntimeError(f"{name} is still running (pid {old.pid})")
        proc = launch(self.argv[name], self.log_path(name), cwd=self.dir, note=f"localpair: starting {name}")
        self.procs[name] = proc
        return proc

    restart = start

    def start_all(self) -> None:
        """Both agents, then both components (which retry until their agent listens)."""
        for node in NODES:
            self.start(node)
        for node in NODES:
            self.start(self.component(node))

    def spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        """Any other process (a ``hanode status --watch`` client): output to
        ``log_name``.log, killed by :meth:`stop_all`."""
        proc = launch(argv, self.log_path(log_name), cwd=self.dir)
        self.extra.append(proc)
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL, *, wait: bool = True) -> bool:
        """Send ``sig`` to one of the pair's processes (its whole group); with
        SIGKILL and ``wait``, reap it. False if it was not running."""
        proc = self.procs[name]
        if proc.poll() is not None:
            return False
        sent = signal_group(proc, sig)
        # noted after the signal, which the failover benchmark times from just before this call
        self._note(name, f"localpair: sent {signal.Signals(sig).name}")
        if sent and sig == signal.SIGKILL and wait:
            proc.wait(10)
        return sent

    def running(self, name: str) -> bool:
        """Started and not exited (a stopped process is running)."""
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def _note(self, name: str, text: str) -> None:
        with open(self.log_path(name), "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} {text}\n".encode())

    def guard_pids(self, node: str | None = None) -> list[int]:
        """The fencing guards of ``node`` (default: both), found by their lock file."""
        nodes = [node] if node else list(NODES)
        return [pid for n in nodes for pid in processes_mentioning(f"--lock\0{self.lock_path(n)}\0")]

    def stop_all(self) -> None:
        """kill -9 everything this pair started, fencing guards included, and
        remove the guards' lock files. Nothing is left running."""
        procs = [*self.procs.values(), *self.extra]
        for proc in procs:
            signal_group(proc, signal.SIGKILL)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        # A guard whose agent is gone fences (rm -f the marker) and exits within
        # milliseconds: let it, so that no fencing shell is orphaned; then make sure.
        deadline = time.monotonic() + 2.0
        while self.guard_pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        deadline = time.monotonic() + 5.0
        while (pids := self.guard_pids()) and time.monotonic() < deadline:
            kill_pids(pids)
            time.sleep(0.02)
        for node in NODES:
            self.lock_path(node).unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Remove the folder (configs, logs, sockets, role and marker files)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        """:meth:`stop_all`, then :meth:`cleanup` unless ``keep``."""
        self.stop_all()
        if not self.keep:
            self.cleanup()

    # -- observation
    def role(self, node: str) -> str | None:
        """What ``node``'s sample component last wrote to its role file:
        "active", "standby", or None (not written yet)."""
        try:
            return (self.component_dir(node) / "role").read_text().strip() or None
        except FileNotFoundError:
            return None

    def marker(self, node: str) -> bool:
        """Whether ``node``'s command component holds the (stand-in) virtual IP."""
        return self.marker_path(node).exists()

    def status(self, node: str, timeout: float = 2.0) -> str | None:
        """``node``'s service status token from its status port (None: no answer)."""
        return query_status(self.status_port[node], timeout)

    def http_status(self, node: str, timeout: float = 1.0) -> Snapshot | None:
        """``node``'s snapshot from HTTP ``/status`` (None: no answer)."""
        return fetch_snapshot(self.http_port[node], timeout)

    def control(self, node: str, what: str, on: bool | float = True) -> None:
        """Create (``on``: True, or a value to write) or remove (False) a
        control file of ``node``'s sample component: unhealthy, refuse or delay."""
        path = self.component_dir(node) / what
        if on is False:
            path.unlink(missing_ok=True)
        else:
            path.write_text("" if on is True else str(on))

    def converged(self, active: str = NODES[0]) -> bool:
        """``active`` serving (status active, component active, marker) and its peer standby."""
        standby = self.peer_of(active)
        return (self.role(active) == "active" and self.marker(active)
                and self.role(standby) == "standby" and not self.marker(standby)
                and self.status(active, 1.0) == "active" and self.status(standby, 1.0) == "standby")

    def describe(self) -> str:
        """Both nodes in one line, for a failed wait."""
        return "; ".join(
            f"{node}: status={self.status(node, 1.0)} role={self.role(node)} marker={self.marker(node)}"
            f" running={self.running(node)}" for node in NODES)

    def exited(self, names: Iterable[str] = NODES) -> str | None:
        """Which of ``names`` has exited, as a sentence (None: all running);
        a ``check`` for :meth:`wait_for`."""
        for name in names:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                return f"{name} exited with status {proc.returncode}"
        return None

    def wait_for(self, predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "a condition",
                 *, needs: Iterable[str] = ()) -> object:
        """:func:`wait_for` that describes the pair when it fails and gives up
        at once if one of ``needs`` (process names) exits."""
        needs = tuple(needs)
        return wait_for(predicate, timeout, what, describe=self.describe,
                        check=(lambda: self.exited(needs)) if needs else None)

    def wait_status(self, node: str, *statuses: str, timeout: float = DEADLINE) -> str:
        """Until ``node``'s status is one of ``statuses``; returns it."""
        return self.wait_for(lambda: (s := self.status(node, 1.0)) in statuses and s, timeout,
                             f"{node} status in {statuses}")

    def wait_converged(self, active: str = NODES[0], timeout: float = DEADLINE, *, needs: Iterable[str] = ()) -> None:
        """Until :meth:`converged`."""
        self.wait_for(lambda: self.converged(active), timeout,
                      f"{active} active and {self.peer_of(active)} standby", needs=needs)

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last ``lines`` lines of one process's log."""
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_tails(self, lines: int = 60) -> str:
        """The tail of every log in the folder, headed by the pair's folder and names."""
        out = [f"---- pair in {self.dir} (nodes {self.names['alpha']}, {self.names['beta']})"]
        for path in sorted(self.dir.glob("*.log")):
            text = [line for line in path.read_text(errors="replace").splitlines() if not _is_noise(line)]
            out.append(f"---- {path.name} (last {min(lines, len(text))} of {len(text)} lines)")
            out.extend(text[-lines:])
        return "\n".join(out)


def _is_noise(line: str) -> bool:
    # Our own status-port polling: every query is a client that connects and goes.
    return "status client" in line and "disconnected: closed by the other side" in line


# -- status clients ------------------------------------------------------------------------------

class _Recorder:
    """A daemon thread running ``_run`` until ``stop()``; as a context manager
    it starts, waits for its first record (``_started``), and stops."""

    def __init__(self, thread_name: str):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def __enter__(self):
        self._thread.start()
        self._started()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _started(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError


class StatusWatch(_Recorder):
    """A subscribed status client in a thread: ``events`` is a list of
    ``(monotonic time, token)``; ``None`` marks a lost connection. The first
    token after each (re)connection is the getStatus answer."""

    def __init__(self, port: int, name: str = ""):
        super().__init__(f"status-watch-{name}")
        self.port = port
        self.name = name
        self.events: list[tuple[float, str | None]] = []
        self.connected = threading.Event()

    def _started(self) -> None:
        wait_for(lambda: self.tokens(), 10, f"the status watch on {self.name} to get its first answer")

    def tokens(self) -> list[str | None]:
        return [t for _, t in list(self.events)]

    def last(self) -> str | None:
        ev = list(self.events)
        return ev[-1][1] if ev else None

    def _run(self) -> None:
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

class Sampler(_Recorder):
    """Samples both nodes' role files (component 1) and marker files (component 2).

    Each sample reads the four resources in one order, then again in the
    reverse order; a resource counts as active in a sample only if both reads
    said so. Since the first read of one node's resource and the last read of
    the same resource enclose both reads of the other node's, "both nodes
    active in one sample" means the two were really active at the same moment
    (given that a resource does not flap within a millisecond)."""

    RESOURCES = ("role_a", "marker_a", "role_b", "marker_b")

    def __init__(self, pair: LocalPair, period: float = 0.004):
        super().__init__("sampler")
        self.pair = pair
        self.period = period
        self.history: list[tuple[float, dict[str, bool], frozenset[str]]] = []  # changes only
        self.overlaps: list[tuple[float, dict[str, bool]]] = []
        self.samples = 0
        self.ignore: set[str] = set()  # resources not counted (e.g. a frozen process's stale file)

    def _started(self) -> None:
        wait_for(lambda: self.samples > 0, 5, "the sampler's first sample")

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

    def catch_up(self) -> None:
        """Wait for a whole sample begun after this call, so that a change the
        caller has already seen (reading the same files) is recorded."""
        begun = self.samples
        deadline = time.monotonic() + 1.0
        while self.samples < begun + 2 and not self._stop.is_set() and time.monotonic() < deadline:
            time.sleep(self.period / 4)

    def active_nodes(self) -> list[str]:
        """The successive nodes that held an active resource (a role file or a
        marker; ignored resources not counted), consecutive repeats and
        moments with none collapsed, up to now."""
        self.catch_up()
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

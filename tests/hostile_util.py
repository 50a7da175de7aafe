"""The harness of tests/test_hostile.py: one live agent and the honest
parties around it, all played by the test process.

``Harness`` writes a config for node ``beta`` (peer ``alpha``), starts
``python -m hanode run`` with its log in a file, and runs, in threads:

- ``FakePeer``, the node ``alpha``: it owns a listener at beta's
  ``peer.address`` (beta's probes land there and are closed, as a real
  dialling agent closes them), dials beta's election port like a real
  ``alpha`` (it sorts first, so it dials; beta accepts) and redials 10 ms
  after a close, heartbeats (four times an interval by default: see
  test_hostile's module doc), announces itself active at every link-up,
  answers health queries and nominations. So beta is ``standby``.
- ``GoodComponent``, process component ``"1"``: heartbeats every interval,
  answers health queries and SetRoles, counts the agent's heartbeats.

Nothing sleeps and hopes: ``wait_for`` polls a condition under a deadline.
``Harness.counters()`` / ``Harness.assert_unharmed()`` compare what the honest
parties saw before and after a hostile act.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hanode.codec import (
    Assigment,
    BillOfHealth,
    ComponentStatus,
    ElectionMessage,
    GetStatus,
    GetStatusResponse,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    NominationMessage,
    ReturnCode,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    Veto,
)
from hanode import localpair
from hanode.localpair import child_env, free_ports
from hanode.wire import CLIENT_TYPES, COMPONENT_TYPES, PEER_TYPES, MessageReader, frame_message

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = "127.0.0.1"

# Timers for a loaded 2-core machine: the peer and component are lost after
# 1 s of silence, the agent counts itself frozen after 0.8 s.
INTERVAL = 0.2
DEAD_AFTER = 5
STARTUP_GRACE = 2.0
HANDSHAKE = 5.0          # [limits] handshake_timeout (the default, written out)
HTTP_IDLE = 10.0         # web.serve_http's idle_timeout default (not configurable)
MAX_FRAME = 16384        # [limits] max_frame, the default
MAX_COMPONENTS = 1024    # [limits] max_component_connections, the default
MAX_CLIENTS = 256        # [limits] max_status_clients, the default
DEADLINE = 15.0          # default deadline of any wait
OK = BillOfHealth(ComponentStatus.ok)


def env() -> dict[str, str]:
    return child_env()


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll ``predicate`` until it returns something true; that value."""
    return localpair.wait_for(predicate, timeout, what)


# -- raw sockets ---------------------------------------------------------------------------------

def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def local_port(s: socket.socket) -> int:
    return s.getsockname()[1]


def wait_closed(s: socket.socket, timeout: float = DEADLINE) -> tuple[float, bytes]:
    """Read until the other side closes (EOF or reset); (seconds it took, what
    was read meanwhile). Fails if the connection is still open at ``timeout``."""
    start = time.monotonic()
    got = b""
    s.settimeout(0.05)
    while time.monotonic() - start < timeout:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:  # reset: the agent closed with our data unread
            return time.monotonic() - start, got
        if not data:
            return time.monotonic() - start, got
        got += data
    raise AssertionError(f"the connection from port {local_port(s)} is still open after {timeout:g} s")


def is_open(s: socket.socket) -> bool:
    """Whether the other side has not closed ``s`` (nothing is waiting to be read)."""
    s.setblocking(False)
    try:
        data = s.recv(65536, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)
    return bool(data)


def send_quietly(s: socket.socket, data: bytes) -> None:
    """Send, ignoring a connection the agent already closed."""
    try:
        s.sendall(data)
    except OSError:
        pass


def status_query(port: int, timeout: float = 5.0) -> str | None:
    """The agent's answer to getStatus on a fresh connection; None if it
    closed the connection without answering (refused)."""
    try:
        s = connect(port, timeout)
    except OSError:
        return None
    with s:
        s.sendall(frame_message(ServiceStatusMessage("42", GetStatus())))
        reader = MessageReader(CLIENT_TYPES, 65535)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not data:
                return None
            for msg in reader.feed(data):
                if type(msg.message) is GetStatusResponse and msg.correlation_id == "42":
                    return msg.message.status
    raise AssertionError(f"no answer to getStatus on port {port} within {timeout:g} s")


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- the log --------------------------------------------------------------------------------------

class AgentLog:
    """The agent's log file, read by offset: ``mark()`` now, ``text(since)`` later."""

    def __init__(self, path: Path):
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def text(self, since: int = 0) -> str:
        with open(self.path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def lines(self, pattern: str, since: int = 0) -> list[str]:
        rx = re.compile(pattern)
        return [line for line in self.text(since).splitlines() if rx.search(line)]

    def wait(self, pattern: str, since: int = 0, timeout: float = DEADLINE, count: int = 1) -> list[str]:
        """At least ``count`` lines matching ``pattern`` after ``since``."""
        return wait_for(lambda: (found := self.lines(pattern, since)) and len(found) >= count and found,
                        f"{count} log line(s) matching {pattern!r}", timeout)

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-n:])


# -- framed threads: the fake peer and the good component ---------------------------------------------

class _Framed:
    """A thread that keeps one framed connection to the agent, redialling
    ``redial`` seconds after a close, and a second thread that sends a
    heartbeat every ``beat`` seconds while connected."""

    name = "framed"
    allowed: frozenset = frozenset()

    def __init__(self, port: int, beat: float, redial: float):
        self.port = port
        self.beat = beat
        self.redial = redial
        self.sock: socket.socket | None = None
        self.connects = 0          # connections made
        self.closes = 0            # connections the agent closed (or lost)
        self.unexpected: list = [] # PDUs the honest party did not expect
        self.paused = threading.Event()  # while set, send() sends nothing
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._seq = 0
        self._threads = [threading.Thread(target=self._run, name=f"{self.name}-conn", daemon=True),
                         threading.Thread(target=self._beat, name=f"{self.name}-beat", daemon=True)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        s = self.sock
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(5)

    def send(self, msg) -> None:
        s = self.sock
        if s is None or self.paused.is_set():
            return
        with self._send_lock:
            try:
                s.sendall(frame_message(msg))
            except OSError:
                pass  # the reader notices the close

    def send_raw(self, data: bytes) -> None:
        s = self.sock
        assert s is not None, f"{self.name} is not connected"
        with self._send_lock:
            s.sendall(data)

    def heartbeat(self) -> HealthMonitorMessage:
        raise NotImplementedError

    def on_connect(self) -> None:
        pass

    def on_message(self, msg, first: bool) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                s = socket.create_connection((HOST, self.port), timeout=2)
            except OSError:
                time.sleep(0.05)
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(0.2)
            self.sock = s
            self.connects += 1
            self.on_connect()
            self.send(self.heartbeat())
            reader = MessageReader(self.allowed, 65535)
            first = True
            try:
                while not self._stop.is_set():
                    try:
                        data = s.recv(65536)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    for msg in reader.feed(data):
                        self.on_message(msg, first)
                        first = False
            except OSError:
                pass
            finally:
                self.sock = None
                s.close()
            if not self._stop.is_set():
                self.closes += 1
                time.sleep(self.redial)

    def _beat(self) -> None:
        next_beat = time.monotonic()
        while not self._stop.is_set():
            next_beat += self.beat
            delay = next_beat - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_beat = time.monotonic()
            self.send(self.heartbeat())

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)


class FakePeer(_Framed):
    """Node ``alpha``, active, as beta's peer (see the module doc)."""

    name = "alpha"
    allowed = PEER_TYPES

    def __init__(self, listen_port: int, beta_port: int, beat: float):
        super().__init__(beta_port, beat, redial=0.01)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, listen_port))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.probes = 0            # beta's dials at our address
        self.link_ups = 0          # links on which beta's first PDU arrived
        self.beta_beats: list[tuple[float, ComponentStatus]] = []
        self._threads.append(threading.Thread(target=self._accept, name="alpha-listener", daemon=True))

    def stop(self) -> None:
        super().stop()
        self.listener.close()

    def heartbeat(self) -> HealthMonitorMessage:
        return HealthMonitorMessage(self._next_seq(), "", HeartBeat(OK))

    def on_message(self, msg, first: bool) -> None:
        if first:  # the link is up: the active node's opening is its announcement
            self.link_ups += 1
            self.send(ElectionMessage("", Assigment("alpha", "beta")))
        body = msg.message
        if type(msg) is HealthMonitorMessage:
            if type(body) is HeartBeat:
                self.beta_beats.append((time.monotonic(), body.bill_of_health.status))
            elif type(body) is HealthQuery:
                self.send(HealthMonitorMessage(msg.correlation_id, "", HealthQueryResponse(OK)))
            else:
                self.unexpected.append(msg)
        elif type(body) is NominationMessage:  # active alpha: rule 2, no pre-emption
            answer = Assigment("alpha", "beta") if body.nominee == "alpha" else Veto("alpha", "beta")
            self.send(ElectionMessage(msg.correlation_id, answer))
        else:
            self.unexpected.append(msg)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                s, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.probes += 1
            s.close()


class GoodComponent(_Framed):
    """Process component ``"1"``: heartbeats, answers, takes every role."""

    name = "component-1"
    allowed = COMPONENT_TYPES

    def __init__(self, port: int, beat: float):
        super().__init__(port, beat, redial=0.2)
        self.agent_beats: list[tuple[float, ComponentStatus]] = []
        self.roles: list = []

    def heartbeat(self) -> HealthMonitorMessage:
        return HealthMonitorMessage(self._next_seq(), "1", HeartBeat(OK))

    def on_message(self, msg, first: bool) -> None:
        body = msg.message
        if type(body) is HeartBeat:
            self.agent_beats.append((time.monotonic(), body.bill_of_health.status))
        elif type(body) is HealthQuery:
            self.send(HealthMonitorMessage(msg.correlation_id, "1", HealthQueryResponse(OK)))
        elif type(body) is SetRole:
            self.roles.append(body.role)
            self.send(RoleMessage(msg.correlation_id, SetRoleResponse(ReturnCode.success)))
        else:
            self.unexpected.append(msg)


# -- the agent and its honest parties ---------------------------------------------------------------

@dataclass(frozen=True)
class Counters:
    """What the honest parties had seen at one moment."""

    log: int
    component_connects: int
    component_closes: int
    agent_beats: int
    peer_connects: int
    peer_closes: int
    peer_link_ups: int
    beta_beats: int


class Harness:
    """beta's agent, its fake peer alpha and its good component 1."""

    def __init__(self, workdir: Path, peer_beat: float = INTERVAL / 4):
        self.dir = workdir
        (self.election, self.alpha, self.components, self.status, self.http) = free_ports(5)
        self.config = workdir / "beta.toml"
        self.config.write_text(self.config_text())
        self.log = AgentLog(workdir / "beta.log")
        self.peer = FakePeer(self.alpha, self.election, peer_beat)
        self.component = GoodComponent(self.components, INTERVAL)
        self.process: subprocess.Popen | None = None

    def config_text(self) -> str:
        return f"""\
[node]
name = "beta"

[peer]
name = "alpha"
address = "{HOST}:{self.alpha}"

[election]
listen = "{HOST}:{self.election}"
heartbeat_interval = {INTERVAL}
dead_after = {DEAD_AFTER}
startup_grace = {STARTUP_GRACE}

[components]
listen = "{HOST}:{self.components}"

[[component]]
id = "1"
name = "db"

[[component]]            # for the hostile connections that bind an id (never required)
id = "2"
name = "spare"
required = false

[status]
listen = "{HOST}:{self.status}"

[http]
listen = "{HOST}:{self.http}"

[limits]
handshake_timeout = {HANDSHAKE}
"""

    # -- life -------------------------------------------------------------------------------------
    def start(self) -> None:
        cmd = [PY, "-m", "hanode", "run", "--config", str(self.config), "--dashboard", "off"]
        self.process = self._spawn(cmd)
        wait_for(lambda: self._listening() or self.process.poll() is not None, "the agent's listeners")
        if self.process.poll() is not None and "--dashboard" in self.log.text():
            self.process = self._spawn(cmd[:-2])  # a CLI without the flag yet: never a dashboard then
        wait_for(lambda: self._listening() or self._died(), "the agent's listeners")
        self.peer.start()
        self.component.start()
        wait_for(lambda: self._died() or status_query(self.status) == "standby", "beta standby", 20)
        wait_for(lambda: self._died() or (self.snapshot_ok() and self.component.agent_beats), "component 1 healthy")

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        with open(self.log.path, "ab") as out:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env(), cwd=self.dir)

    def _died(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the agent exited with status {self.process.returncode}:\n{self.log.tail()}")
        return False

    def _listening(self) -> bool:
        try:
            socket.create_connection((HOST, self.http), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.component.stop()
        self.peer.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    # -- looking ----------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        code, body = http_get(self.http, "/status")
        assert code == 200, (code, body)
        return json.loads(body)

    def snapshot_ok(self) -> bool:
        """/status says: standby, peer link up and alive, component 1 connected and healthy."""
        snap = self.snapshot()
        db = next(c for c in snap["components"] if c["id"] == "1")
        return (snap["state"] == "standby" and snap["status"] == "standby"
                and snap["peer"]["connected"] and snap["peer"]["alive"]
                and db["connected"] and db["health"] == "healthy")

    def counters(self) -> Counters:
        return Counters(
            log=self.log.mark(),
            component_connects=self.component.connects,
            component_closes=self.component.closes,
            agent_beats=len(self.component.agent_beats),
            peer_connects=self.peer.connects,
            peer_closes=self.peer.closes,
            peer_link_ups=self.peer.link_ups,
            beta_beats=len(self.peer.beta_beats),
        )

    def assert_unharmed(self, before: Counters, *, peer_closes: int = 0) -> None:
        """Everything honest carried on since ``before``: the agent runs; the
        good component's connection was never closed and the agent keeps
        heartbeating it with a healthy bill; the peer link was closed exactly
        ``peer_closes`` times (0: never) and beta keeps heartbeating alpha;
        beta is still standby (status port and /status) and logged no failure
        of component 1, no loss of its peer, no change of role, no error."""
        assert self.process is not None
        assert self.process.poll() is None, f"the agent died:\n{self.log.tail()}"
        c, p = self.component, self.peer
        wait_for(lambda: len(c.agent_beats) >= before.agent_beats + 3 and len(p.beta_beats) >= before.beta_beats + 3,
                 "three more heartbeats from the agent to component 1 and to alpha")
        assert c.closes == before.component_closes and c.connects == before.component_connects, \
            f"component 1's connection was closed ({c.closes - before.component_closes} times)"
        assert c.agent_beats[-1][1] == ComponentStatus.ok, "the agent reports the node unhealthy"
        assert p.closes == before.peer_closes + peer_closes, \
            f"the peer link was closed {p.closes - before.peer_closes} times, expected {peer_closes}"
        assert p.beta_beats[-1][1] == ComponentStatus.ok
        assert not c.unexpected and not p.unexpected, (c.unexpected, p.unexpected)
        assert status_query(self.status) == "standby"
        assert self.snapshot_ok(), self.snapshot()
        since = self.log.text(before.log)
        for bad in ("component 1 (db) failed", "peer alpha lost", "election: ", "status: status"):
            assert bad not in since, f"{bad!r} in the log:\n{since[-3000:]}"
        if not peer_closes:
            assert "peer link closed" not in since, since[-3000:]
        whole = self.log.text()
        assert "Traceback" not in whole and " ERROR " not in whole, self.log.tail(80)

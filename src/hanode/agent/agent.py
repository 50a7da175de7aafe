"""The node agent: a sans-IO :class:`~hanode.core.Node` run for real on Trio.

The agent takes no decision: it turns sockets, processes and the clock into
events for the node, and carries out the actions the node returns. Every
event goes through :meth:`Agent.handle`, which is synchronous: sends are
queued on their connection, never awaited, so one slow socket never holds
up the others.

Tasks, in one nursery, started in dependency order with ``nursery.start``:
the read mux (one task reads every socket connection that is ready), the
peer listener, the component listener, the status listener, then the
ticker (wakes the node at ``next_deadline()`` through a cancel scope whose
deadline follows it), the peer dialer and the witness prober. Commands run in
their own tasks, bounded by ``command_timeout``.

The peer link, as SPEC section 3 recommends: the node whose name sorts first
dials (with backoff) and the other accepts. A new incoming connection
replaces the current one only when that one has been silent for longer
than a freeze (``dead_after - 1`` intervals). The accepting node, when its link closes, dials once too: a
refused connection means its peer's agent is gone, and the node is told at
once (a killed agent is noticed in milliseconds).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import tempfile
import itertools
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable

import trio

if sys.version_info < (3, 11):  # pragma: no cover - trio brings the backport there
    from exceptiongroup import BaseExceptionGroup

from hanode.config import AgentConfig, Endpoint
from hanode.core import (
    Action,
    ClientConnected,
    ClientDisconnected,
    ClientMessage,
    CloseClient,
    CommandsFenced,
    FenceFinished,
    CloseComponent,
    ClosePeer,
    CommandFinished,
    ComponentConnected,
    ComponentDisconnected,
    ComponentMessage,
    ComponentMessages,
    Log,
    Node,
    PeerConnected,
    PeerDisconnected,
    PeerMessage,
    PeerRefused,
    ProbeWitness,
    RunCommand,
    RunFence,
    SendClient,
    SendComponent,
    SendHeartbeats,
    SendPeer,
    Shutdown,
    StatusChanged,
    SetMaintenance,
    Stopped,
    Switchover,
    Tick,
    WitnessChanged,
)
from hanode.wire import CLIENT_TYPES, COMPONENT_TYPES, PEER_TYPES

from hanode.control import serve_control
from hanode.logs import log_target
from hanode.peerauth import AUTHENTICATED, PeerAuth
from hanode.snapshot import Snapshot
from hanode.web import serve_http

from ._fastio import send_heartbeats
from .connection import Connection, ReadMux, connect, open_listeners
from .observe import Observer

log = logging.getLogger("hanode.agent")

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
PEER_QUEUE = 256          # frames queued for the peer before the link counts as stuck
COMPONENT_QUEUE = 256
RECENT_EVENTS = 200       # Log actions kept for the dashboard
REFUSED = object()        # what _connect_peer returns when nothing listens at the peer's address
PROBE_DELAYS = (0.0, 0.01, 0.02, 0.04, 0.08)  # seconds between the accepting side's probes
FIRST_REDIAL = 0.01       # the dialling side's first retry: a dying peer refuses within ms
GUARD_START = 10.0        # seconds the fencing guard may take to say it is ready


class GuardError(Exception):
    """The fencing guard cannot be started; the message says why and what to do."""


class Agent:
    """One node's agent. Create it, then ``await nursery.start(agent.run)``.

    ``connector`` opens a stream to an Endpoint (the peer, a witness) and
    ``listen=False`` opens no listener: tests pass in-memory streams to
    ``accept_peer``/``accept_component``/``accept_client`` instead and run
    under Trio's MockClock. The fencing guard is started only when
    ``guard`` is true and there are command components."""

    def __init__(self, config: AgentConfig, *, connector=None, listen: bool = True, guard: bool = True):
        self.config = config
        self._connector = connector or connect
        self._listen = listen
        self._use_guard = guard
        self.spec = config.node_spec()
        self.node: Node | None = None
        self._ids = itertools.count(1)
        self.peer: Connection | None = None
        self.components: dict[int, Connection] = {}
        self.clients: dict[int, Connection] = {}
        self.stopped = trio.Event()          # the node has stopped (after a Shutdown)
        self.finished = trio.Event()         # run() has returned: connections closed
        self.recent: deque[tuple[float, Log]] = deque(maxlen=RECENT_EVENTS)
        self.status_hooks: list[Callable[[str, str], None]] = []
        self._nursery: trio.Nursery | None = None
        self._tick_scope: trio.CancelScope | None = None
        self._peer_changed = trio.Event()  # set (and renewed) whenever self.peer changes
        self._commands = {c.id: c for c in config.components}
        self._stop_requested = False
        self._probe_now = trio.Event()  # the node wants a fresh witness verdict
        self._mux: ReadMux | None = None  # reads every socket connection, in one task
        self._batch_now: float | None = None  # set while the mux hands us a batch
        self.observer = Observer(self)

    # -- the one entry point --------------------------------------------------------
    def handle(self, event) -> None:
        """Feed one event to the node and carry out what it says."""
        node = self.node
        if node is None or self._nursery is None:
            return  # not running (yet, or any more): connections closing late
        now = self._batch_now
        t = trio.current_time() if now is None else now
        for action in node.handle(event, t):
            self._act(action)
        if now is None:
            self._follow_deadline()

    def _follow_deadline(self) -> None:
        scope = self._tick_scope
        if scope is not None and self.node is not None:
            deadline = self.node.next_deadline()
            if deadline != scope.deadline:  # most heartbeats move no timer
                scope.deadline = deadline

    # The read mux's batches: every message read in one wake-up is handled at
    # the same ``now``, and the ticker's deadline follows once, at the end
    # (it is only looked at when this task yields).
    def _batch_begin(self) -> None:
        assert self._mux is not None
        self._batch_now = self._mux.now

    def _batch_end(self) -> None:
        self._batch_now = None
        self._follow_deadline()

    def _component_batch(self, items: list) -> None:
        self.handle(ComponentMessages(items))

    def _act(self, action: Action) -> None:
        t = type(action)
        if t is SendHeartbeats:
            send_heartbeats(self.components, action.targets, action.correlation_id, action.bill)
        elif t is SendComponent:
            conn = self.components.get(action.conn)
            if conn is not None:
                conn.send(action.msg)
        elif t is SendPeer:
            if self.peer is not None and self.peer.id == action.link:
                self.peer.send(action.msg)
        elif t is SendClient:
            conn = self.clients.get(action.client)
            if conn is not None:
                conn.send(action.msg)
        elif t is Log:
            self.recent.append((trio.current_time(), action))
            log.log(_LEVELS.get(action.level, logging.INFO), "%s: %s", action.kind, action.text)
        elif t is ClosePeer:
            if self.peer is not None and self.peer.id == action.link:
                self.peer.close(action.reason, flush=True)
        elif t is CloseComponent:
            conn = self.components.get(action.conn)
            if conn is not None:
                conn.close(action.reason)
        elif t is CloseClient:
            conn = self.clients.get(action.client)
            if conn is not None:
                conn.close(action.reason)
        elif t is RunCommand:
            assert self._nursery is not None
            self._nursery.start_soon(self._run_command, action.component_id, action.command)
        elif t is ProbeWitness:
            self._probe_now.set()
        elif t is RunFence:
            assert self._nursery is not None
            self._nursery.start_soon(self._run_fence)
        elif t is StatusChanged:
            for hook in self.status_hooks:
                hook(action.old, action.new)
        elif t is Stopped:
            self.stopped.set()

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Serve until the node stops (after a Shutdown) or the caller cancels."""
        try:
            await self._run(task_status)
        finally:
            self._nursery = None  # late callbacks (connections closing) find it gone
            self._tick_scope = None
            self.finished.set()

    async def _run(self, task_status) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            wants_guard = self._use_guard and any(c.kind == "command" for c in self.config.components)
            guard = await self._start_guard() if wants_guard else None
            self.node = Node(self.spec, trio.current_time())
            self._mux = ReadMux(self._batch_begin, self._batch_end, self._component_batch)
            await nursery.start(self._mux.run)
            if guard is not None:
                nursery.start_soon(self._pulse_guard, guard)
                nursery.start_soon(self._hear_guard, guard)
            if self.config.peer_key is None:
                log.warning("the peer link is not authenticated: anyone who reaches %s can take part in the election; "
                            "set [peer] key_file on both nodes (hanode keygen)", self.config.listen)
            if self._listen:
                await nursery.start(self._serve, self.config.listen, self.accept_peer, "peer")
                if self.config.components_listen is not None:
                    await nursery.start(self._serve, self.config.components_listen, self.accept_component, "component")
                if self.config.status_listen is not None:
                    await nursery.start(self._serve, self.config.status_listen, self.accept_client, "status")
                if self.config.http_listen is not None:
                    await nursery.start(functools.partial(
                        serve_http, self.config.http_listen, self.snapshot,
                        idle_timeout=self.config.http_idle_timeout, max_connections=self.config.http_max_connections,
                    ))
                    log.info("serving /status, /active and /metrics on http://%s", self.config.http_listen)
                if self.config.control_path is not None:
                    await nursery.start(serve_control, self.config.control_path, self)
            await nursery.start(self._ticker)
            nursery.start_soon(self._dialer)
            nursery.start_soon(self.observer.probe_peer)
            if self.config.witness:
                nursery.start_soon(self._witness_prober)
            task_status.started(self)
            await self.stopped.wait()
            for conn in [self.peer, *self.components.values(), *self.clients.values()]:
                if conn is not None:
                    conn.close("agent stopped", flush=True)
            with trio.move_on_after(1):
                while self.peer is not None or self.components or self.clients:
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()

    def snapshot(self) -> Snapshot:
        """This node as the dashboard, /status and the control socket show it."""
        return self.observer.snapshot()

    def switchover(self) -> str | None:
        """Hand the role to the peer (``hanode switchover``); the reason it
        cannot, or None when it has begun."""
        if self.node is None:
            return "the agent is starting"
        refusal = self.node.switchover_refusal()
        if refusal is None:
            self.handle(Switchover())
        return refusal

    def set_maintenance(self, on: bool) -> None:
        """Maintenance on or off (``hanode maintenance``)."""
        self.handle(SetMaintenance(on))

    def shutdown(self) -> None:
        """Begin a graceful shutdown (SIGTERM): hand over, then stop."""
        if not self._stop_requested:
            self._stop_requested = True
            self.handle(Shutdown())

    async def fence_commands(self) -> None:
        """Run every command component's on_standby: the last resort of a
        shutdown that could not complete in time."""
        async with trio.open_nursery() as nursery:
            for component in self.config.components:
                if component.on_standby is not None:
                    nursery.start_soon(run_shell, component.on_standby, component.command_timeout)

    # -- the guard of command components -------------------------------------------------
    @property
    def guard_lock(self) -> str:
        return os.path.join(tempfile.gettempdir(), f"hanode-{self.spec.name}.guard.lock")

    async def _start_guard(self) -> trio.Process:
        """Wait for a predecessor's guard to finish fencing, then start ours."""
        wait = sum(c.command_timeout for c in self.config.components if c.kind == "command") + 5
        if not await trio.to_thread.run_sync(_wait_for_lock, self.guard_lock, wait):
            # A predecessor's guard fences within its commands' timeouts; a lock
            # held longer is a live agent of this node (and its guard).
            raise GuardError(
                f"{self.guard_lock} is still held after {wait:g} s: another agent of node {self.spec.name} "
                f"is running on this host (stop it first), or its fencing guard is stuck (kill it)"
            )
        log_format, log_stream = log_target()
        spec = {
            "fence_after": self.spec.timers.freeze_time,
            "commands": [[c.id, c.on_standby, c.command_timeout] for c in self.config.components if c.kind == "command"],
            "node": self.spec.name,
            "log_format": log_format,
        }
        try:
            log_stream.flush()
            stderr = log_stream.fileno()  # our log file, or stderr: its lines go with ours
        except (AttributeError, OSError, ValueError):
            stderr = None  # a stream with no descriptor (a test's): the guard inherits stderr
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "hanode.guard", "--spec", json.dumps(spec), "--lock", self.guard_lock],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
        )
        ready = b""
        with trio.move_on_after(GUARD_START):
            ready = await process.stdout.receive_some(64)
        if not ready.startswith(b"ready"):
            process.kill()
            raise GuardError(f"the fencing guard did not start within {GUARD_START:g} s (it said {ready!r})")
        log.info("fencing guard started (pid %d): command components go standby if this agent dies or freezes", process.pid)
        return process

    async def _pulse_guard(self, guard: trio.Process) -> None:
        """One byte an interval; if this loop stalls, the guard fences."""
        interval = self.spec.timers.heartbeat_interval
        try:
            while True:
                await guard.stdin.send_all(b".")
                await trio.sleep(interval)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            log.error("the fencing guard is gone")
        finally:
            with trio.CancelScope(shield=True):
                await guard.stdin.aclose()  # EOF: the guard fences once more and exits

    async def _hear_guard(self, guard: trio.Process) -> None:
        async for chunk in guard.stdout:
            if b"fenced" in chunk:
                self.handle(CommandsFenced())

    # -- time --------------------------------------------------------------------------------
    async def _ticker(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        assert self.node is not None
        task_status.started()
        while True:
            with trio.CancelScope(deadline=self.node.next_deadline()) as scope:
                self._tick_scope = scope
                await trio.sleep_forever()
            self._tick_scope = None
            self.handle(Tick())

    # -- listeners ----------------------------------------------------------------------------
    async def _serve(self, endpoint: Endpoint, handler, kind: str, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await open_listeners(endpoint)
        log.info("listening for %s connections on %s", kind, endpoint)
        try:
            await trio.serve_listeners(
                lambda stream: handler(stream, _remote(stream)), listeners, task_status=task_status
            )
        finally:
            if endpoint.is_unix:
                with contextlib.suppress(OSError):
                    os.unlink(endpoint.path)

    async def accept_component(self, stream, remote: str = "") -> None:
        """Serve one component connection until it closes."""
        limits = self.config.limits
        await self._serve_accepted(
            stream, remote, "component", self.components, limits.max_component_connections,
            "limits.max_component_connections", COMPONENT_TYPES, COMPONENT_QUEUE,
            (ComponentConnected, ComponentMessage, ComponentDisconnected), limits.handshake_timeout,
        )

    async def accept_client(self, stream, remote: str = "") -> None:
        """Serve one status client until it disconnects. A client may only
        listen (it is subscribed from the moment it connects): no first-PDU
        timeout."""
        limits = self.config.limits
        await self._serve_accepted(
            stream, remote, "status client", self.clients, limits.max_status_clients,
            "limits.max_status_clients", CLIENT_TYPES, limits.client_queue,
            (ClientConnected, ClientMessage, ClientDisconnected), None,
        )

    async def _serve_accepted(self, stream, remote, kind, table, limit, limit_key, allowed, queue, events, first_pdu_timeout) -> None:
        connected, message, disconnected = events
        if len(table) >= limit:
            log.warning("refused a %s from %s: %d connected (%s)", kind, remote, len(table), limit_key)
            await trio.aclose_forcefully(stream)
            return

        def closed(conn: Connection, reason: str) -> None:
            table.pop(conn.id, None)
            log.info("%s %s (%s) disconnected: %s", kind, conn.id, conn.peer, reason)
            if not self.stopped.is_set():
                self.handle(disconnected(conn.id))

        conn = Connection(
            stream, next(self._ids), kind, allowed,
            max_payload=self.config.limits.max_frame, queue=queue,
            on_message=lambda c, m: self.handle(message(c.id, m)),
            on_closed=closed, first_pdu_timeout=first_pdu_timeout, peer=remote, mux=self._mux,
            batched=message is ComponentMessage,  # read in C, handed over with the others: _component_batch
        )
        table[conn.id] = conn
        self.handle(connected(conn.id))
        await conn.run()

    # -- the peer link ---------------------------------------------------------------------------
    @property
    def dials(self) -> bool:
        """The node whose name sorts first dials; the other accepts."""
        return self.spec.name < self.spec.peer

    async def accept_peer(self, stream, remote: str = "") -> None:
        """Serve a connection the peer opened to us (or close it, see the module doc)."""
        if self.dials:
            # Only the other node's probe dials reach the dialling side: the
            # accept was the answer it wanted.
            await trio.aclose_forcefully(stream)
            return
        current = self.peer
        if current is not None and not current.closed:
            # Only a link quiet for longer than a freeze can be half-open (a peer
            # that went away closes its end, and we see that): a stranger's
            # connection must not replace a live link during a scheduling hiccup.
            quiet = trio.current_time() - (current.last_rx or 0.0)
            if quiet < self.spec.timers.freeze_time:
                log.warning("refused a second peer connection from %s: the current link is alive", remote)
                await trio.aclose_forcefully(stream)
                return
            current.close("replaced by a new connection from the peer")
        await self._adopt_peer(stream, remote).run()

    def _adopt_peer(self, stream, remote: str) -> Connection:
        """Make ``stream`` the peer connection, synchronously: nothing can
        slip in between the check that there is none and this. On an
        authenticated link the node hears of it only once the peer's hello
        checks out: a peer with the wrong key never reaches the election."""
        key = self.config.peer_key
        auth = PeerAuth(key, max_payload=self.config.limits.max_frame) if key is not None else None
        conn = Connection(
            stream, next(self._ids), "peer", PEER_TYPES,
            max_payload=self.config.limits.max_frame, queue=PEER_QUEUE,
            on_message=self._peer_message,
            on_closed=self._peer_closed, peer=remote, mux=self._mux, auth=auth,
        )
        self._set_peer(conn)
        if auth is None:
            self.handle(PeerConnected(conn.id))
        else:
            conn.write(auth.hello())
        return conn

    def _peer_message(self, conn: Connection, msg) -> None:
        if msg is AUTHENTICATED:
            conn.announced = True
            log.info("peer connection %s (%s): authenticated with the cluster key", conn.id, conn.peer)
            self.handle(PeerConnected(conn.id))
            return
        self.observer.peer_message(msg)
        self.handle(PeerMessage(conn.id, msg))

    def _set_peer(self, conn: Connection | None) -> None:
        self.peer = conn
        self._peer_changed.set()
        self._peer_changed = trio.Event()

    def _peer_closed(self, conn: Connection, reason: str) -> None:
        if self.peer is not conn:
            return
        self._set_peer(None)
        log.info("peer connection %s (%s) closed: %s", conn.id, conn.peer, reason)
        if not self.stopped.is_set() and conn.announced:
            self.handle(PeerDisconnected(conn.id))
            if not self.dials and self._nursery is not None:
                self._nursery.start_soon(self._probe_peer)

    async def _dialer(self) -> None:
        """Keep one connection to the peer (the dialling side) with backoff."""
        if not self.dials:
            return
        interval = self.spec.timers.heartbeat_interval
        backoff = FIRST_REDIAL
        last: Connection | None = None
        while True:
            while self.peer is not None:
                await self._peer_changed.wait()
            if last is not None and last.announced:
                backoff = FIRST_REDIAL  # it was a link: dial again at once
            elif last is not None:
                # It connected but never became a link (its hello failed: another
                # key): back off as from a refusal, or we would redial in a loop.
                await trio.sleep(backoff)
                backoff = min(backoff * 2, max(1.0, interval))
            stream = await self._connect_peer()
            if stream is None or stream is REFUSED:
                await trio.sleep(backoff)
                backoff = min(backoff * 2, max(1.0, interval))
                continue
            if self.peer is not None:  # the peer dialled us meanwhile: keep that one
                await trio.aclose_forcefully(stream)
                continue
            last = self._adopt_peer(stream, str(self.config.peer_address))
            self._nursery.start_soon(last.run)

    async def _probe_peer(self) -> None:
        """The accepting side's dials after a loss: is anything listening?

        A killed agent's kernel may close its connection a moment before its
        listener, and a connect in that moment still completes: so probe a few
        times over some tens of milliseconds, while no new link has come."""
        for delay in PROBE_DELAYS:
            await trio.sleep(delay)
            if self.peer is not None or self.stopped.is_set():
                return
            stream = await self._connect_peer()
            if stream is REFUSED:
                return  # reported: the node knows its peer is gone
            if stream is not None:
                await trio.aclose_forcefully(stream)
        log.debug("probe: the peer's listener at %s still accepts", self.config.peer_address)

    async def _connect_peer(self):
        """A connection to the peer's listener; REFUSED (reported to the node)
        when nothing listens there; None when it failed otherwise."""
        address = self.config.peer_address
        timeout = max(self.spec.timers.dead_time, 0.5)
        try:
            with trio.fail_after(timeout):
                return await self._connector(address)
        except trio.TooSlowError:
            return None
        except OSError as e:
            if refused(e):
                if not self.stopped.is_set():
                    self.handle(PeerRefused())
                return REFUSED
            log.debug("dialling the peer at %s failed: %s (%r)", address, e, e.__cause__)
            return None

    # -- witness ----------------------------------------------------------------------------------
    async def _witness_prober(self) -> None:
        """Probe every period, or at once when the node asks (a take-over needs a
        verdict newer than the loss of the peer); every result goes to the node."""
        period = max(self.spec.timers.heartbeat_interval * self.spec.timers.dead_after, 0.5)
        while True:
            self._probe_now = trio.Event()
            reachable = await self._probe_witnesses(period)
            self.handle(WitnessChanged(reachable))
            with trio.move_on_after(period):
                await self._probe_now.wait()

    async def _probe_witnesses(self, timeout: float) -> bool:
        for endpoint in self.config.witness:
            with trio.move_on_after(timeout):
                try:
                    stream = await self._connector(endpoint)
                except OSError:
                    continue
                await trio.aclose_forcefully(stream)
                return True
        return False

    # -- commands ----------------------------------------------------------------------------------
    async def _run_command(self, component_id: str, command: str) -> None:
        component = self._commands[component_id]
        line = getattr(component, command)
        if line is None:  # no check configured: always healthy
            self.handle(CommandFinished(component_id, command, True))
            return
        ok, detail = await run_shell(line, component.command_timeout)
        level = logging.INFO if ok else logging.WARNING
        if command != "check" or not ok:
            log.log(level, "component %s (%s) %s: %s", component_id, component.name, command, detail)
        if not self.stopped.is_set():
            self.handle(CommandFinished(component_id, command, ok))


    async def _run_fence(self) -> None:
        """The fence command, with the peer's name and address in its environment."""
        config = self.config
        line = (f"export HANODE_NODE={shlex.quote(config.name)} HANODE_PEER={shlex.quote(config.peer_name)} "
                f"HANODE_PEER_ADDRESS={shlex.quote(str(config.peer_address))}; {config.fence}")
        log.warning("fencing %s: %s", config.peer_name, config.fence)
        ok, detail = await run_shell(line, config.fence_timeout)
        log.log(logging.INFO if ok else logging.ERROR, "fence command: %s", detail.replace(line, config.fence))
        if not self.stopped.is_set():
            self.handle(FenceFinished(ok))


def _wait_for_lock(path: str, timeout: float) -> bool:
    """Block until nobody holds ``path``'s lock (or ``timeout``); then let it go."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(fd)  # closing releases the lock


def refused(error: BaseException) -> bool:
    """Whether a failed connect was refused (nothing listens), looking through
    the exception group trio.open_tcp_stream wraps its attempts in."""
    if isinstance(error, ConnectionRefusedError) or getattr(error, "errno", None) == errno.ECONNREFUSED:
        return True
    inner = error.__cause__
    if isinstance(inner, BaseExceptionGroup):
        return bool(inner.exceptions) and all(refused(e) for e in inner.exceptions)
    return inner is not None and refused(inner)


async def run_shell(line: str, timeout: float) -> tuple[bool, str]:
    """Run ``line`` with /bin/sh under ``timeout``; (exit status 0, what it said)."""

    async def kill_group(process: trio.Process) -> None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)

    result = None
    with trio.move_on_after(timeout) as scope:
        result = await trio.run_process(
            ["/bin/sh", "-c", line], check=False, capture_stdout=True, capture_stderr=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True, deliver_cancel=kill_group,
        )
    if scope.cancelled_caught or result is None:
        return False, f"killed after command_timeout ({timeout:g} s): {line}"
    output = (result.stdout + result.stderr).decode(errors="replace").strip()
    summary = f"exit {result.returncode}" + (f": {output[-500:]}" if output else "")
    return result.returncode == 0, summary


# -- helpers ---------------------------------------------------------------------------------------

def _remote(stream) -> str:
    try:
        name = stream.socket.getpeername()
    except (AttributeError, OSError):
        return "?"
    if isinstance(name, tuple):
        return f"{name[0]}:{name[1]}"
    return name or "local"

"""One framed connection on a Trio stream: messages in, messages out.

The reader feeds every decoded message to a callback; the writer drains a
bounded queue. Socket connections given a :class:`ReadMux` have no reader
task of their own: one task reads every ready socket per wake-up (a thousand
heartbeating components would otherwise cost a thousand task switches a
round). Sending never blocks the caller: a connection whose queue is
full is not reading and is closed (a slow status client must never slow the
agent, SPEC section 6). The first malformed frame closes this connection and
nothing else (section 2).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import stat
from collections.abc import Callable, Iterable

import trio

from hanode.config import Endpoint
from hanode.errors import DecodeError, FrameError, HanodeError
from hanode.peerauth import PeerAuth
from hanode.wire import MessageReader, frame_message

log = logging.getLogger("hanode.agent")

_RECEIVE_SIZE = 16384  # one read; larger costs more to allocate for the small frames we carry


class Connection:
    """A framed, typed connection. ``run()`` serves it until it closes."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        ident: int,
        kind: str,
        allowed: Iterable[int],
        *,
        max_payload: int,
        queue: int,
        on_message: Callable[["Connection", object], None],
        on_closed: Callable[["Connection", str], None],
        first_pdu_timeout: float | None = None,
        peer: str = "",
        mux: ReadMux | None = None,
        auth: PeerAuth | None = None,
    ):
        self.stream = stream
        self.id = ident
        self.kind = kind                 # "peer", "component" or "client", for logs
        self.peer = peer                 # the remote address, for logs
        # An authenticated peer link reads and seals through its PeerAuth.
        self._reader = auth if auth is not None else MessageReader(allowed, max_payload)
        self._encode = auth.seal if auth is not None else frame_message
        self.announced = auth is None    # the agent has told the node about it (at once, unless authenticating)
        self._out_send, self._out_recv = trio.open_memory_channel[bytes](queue)
        self._on_message = on_message
        self._on_closed = on_closed
        self._first_pdu_timeout = first_pdu_timeout
        self._scope = trio.CancelScope()
        self.closed = False
        self.reason = ""
        self.received = 0                # messages received
        self.last_rx: float | None = None
        # Frames queued or being sent by the writer task. While there are none,
        # send() writes straight to the socket: one syscall, no task switch
        # (the heartbeat path: a thousand components at 10 Hz).
        self._backlog = 0
        self._fd = _socket_fd(stream)
        self._mux = mux if self._fd is not None else None

    # -- called from the agent, synchronously ----------------------------------------
    def send(self, msg) -> None:
        """Queue ``msg``; a connection that does not keep up is closed."""
        if not self.closed:
            self.write(self._encode(msg))

    def write(self, data: bytes) -> None:
        """Queue bytes already framed (``send`` frames a message first)."""
        if self.closed:
            return
        if self._backlog == 0 and self._fd is not None:
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            except OSError as e:
                self.close(f"send failed: {e}")
                return
            if written == len(data):
                return
            data = data[written:]  # the kernel buffer is full: the writer task waits for room
        try:
            self._out_send.send_nowait(data)
            self._backlog += 1
        except trio.WouldBlock:
            self.close("not reading: its send queue is full")
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # closing (with a flush, or cancelled): nothing more goes out

    def close(self, reason: str, *, flush: bool = False) -> None:
        """Close; with ``flush``, what is queued is sent first."""
        if self.closed:
            return
        self.closed = True
        self.reason = reason
        if self._mux is not None:
            self._mux.discard(self._fd)  # read nothing more (a level-triggered fd would spin)
        if flush:
            self._out_send.close()  # the writer drains the queue, then ends the connection
        else:
            self._scope.cancel()

    # -- the tasks ---------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until either side closes it; then report once."""
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write)
                    if self._mux is not None:
                        await self._watch_muxed()
                    else:
                        await self._read()
                    nursery.cancel_scope.cancel()
        finally:
            if self._mux is not None:
                self._mux.discard(self._fd)  # before the fd is closed and its number reused
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self.stream)
            self.closed = True
            self._on_closed(self, self.reason or "closed")

    async def _read(self) -> None:
        first = self._first_pdu_timeout
        while True:
            try:
                if first is not None and self.received == 0:
                    with trio.move_on_after(first) as timeout:
                        data = await self._receive()
                    if timeout.cancelled_caught:
                        self._no_first_pdu()
                        return
                else:
                    data = await self._receive()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as e:
                self.close(f"receive failed: {e}")
                return
            self._deliver(data)
            if self.closed:
                return

    async def _watch_muxed(self) -> None:
        """The muxed connection's own task: only the first-PDU timeout."""
        assert self._mux is not None and self._fd is not None
        self._mux.add(self._fd, self._readable)
        first = self._first_pdu_timeout
        if first is not None:
            await trio.sleep(first)
            if self.received == 0:
                self._no_first_pdu()
                return
        await trio.sleep_forever()  # until close() cancels the connection's scope

    def _readable(self) -> None:
        """Called by the mux when the socket has something to read."""
        try:
            data = os.read(self._fd, _RECEIVE_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            self.close(f"receive failed: {e}")
            return
        self._deliver(data)

    def _no_first_pdu(self) -> None:
        self.close(f"no PDU within {self._first_pdu_timeout:g} s of connecting")

    def _deliver(self, data: bytes) -> None:
        """Decode what arrived and hand each message on; close on bad input."""
        if not data:
            unread = self._reader.buffered
            if unread:  # a frame cut short is bad input too: say so
                log.warning("%s connection %s from %s: closed in the middle of a frame (%d octets unread)", self.kind, self.id, self.peer or "?", unread)
                self.close(f"closed by the other side in the middle of a frame ({unread} octets unread)")
            else:
                self.close("closed by the other side")
            return
        try:
            messages = self._reader.feed(data)
        except (FrameError, DecodeError) as e:
            log.warning("%s connection %s from %s: closing it on bad input: %s", self.kind, self.id, self.peer or "?", e)
            self.close(f"bad input: {e}")
            return
        if messages:
            self.last_rx = trio.current_time() if self._mux is None else self._mux.now
        for msg in messages:
            self.received += 1
            self._on_message(self, msg)
            if self.closed:
                return

    async def _receive(self) -> bytes:
        """What the other side sent next. On a socket: wait until it is
        readable, then read it once (receive_some tries a read first, which
        on a heartbeat connection fails every time: two syscalls a message)."""
        fd = self._fd
        if fd is None:
            return await self.stream.receive_some(_RECEIVE_SIZE)
        while True:
            await trio.lowlevel.wait_readable(fd)
            try:
                return os.read(fd, _RECEIVE_SIZE)
            except BlockingIOError:
                continue  # woken with nothing to read after all

    async def _write(self) -> None:
        async with self._out_recv:
            async for frame in self._out_recv:
                # Whatever else is queued goes out in the same send.
                batch = [frame]
                while True:
                    try:
                        batch.append(self._out_recv.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                try:
                    await self.stream.send_all(b"".join(batch) if len(batch) > 1 else frame)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as e:
                    self.close(f"send failed: {e}")
                    return
                finally:
                    self._backlog -= len(batch)
        # The queue was closed for a flush: everything is out, end the connection.
        self._scope.cancel()


def _socket_fd(stream) -> int | None:
    """The file descriptor under a socket stream, or None (an in-memory stream)."""
    sock = getattr(stream, "socket", None)
    try:
        return sock.fileno() if sock is not None else None
    except OSError:
        return None


class ReadMux:
    """One task that reads many sockets: an epoll set whose own descriptor
    Trio waits on. Each wake-up calls back every socket that is ready, so
    the cost of a wake-up is shared by all the messages that arrived.
    ``begin`` and ``end`` (optional) are called around each wake-up's
    callbacks: the agent handles the whole batch at one ``now`` and moves
    its timer once."""

    def __init__(self, begin: Callable[[], None] | None = None, end: Callable[[], None] | None = None) -> None:
        self._epoll = select.epoll()
        self._readers: dict[int, Callable[[], None]] = {}
        self.now = 0.0  # trio.current_time() of the wake-up being served
        self._begin = begin or _nothing
        self._end = end or _nothing

    def add(self, fd: int, on_readable: Callable[[], None]) -> None:
        self._readers[fd] = on_readable
        self._epoll.register(fd, select.EPOLLIN)

    def discard(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            self._epoll.unregister(fd)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; then the epoll set is closed."""
        task_status.started()
        readers = self._readers
        try:
            while True:
                await trio.lowlevel.wait_readable(self._epoll.fileno())
                self.now = trio.current_time()
                self._begin()
                try:
                    for fd, _ in self._epoll.poll(0):
                        reader = readers.get(fd)  # an earlier callback may have closed it
                        if reader is not None:
                            reader()
                finally:
                    self._end()
        finally:
            readers.clear()
            self._epoll.close()


def _nothing() -> None:
    pass


class ListenError(HanodeError):
    """A listener could not be opened; the message names the address and the fix."""


async def open_listeners(endpoint: Endpoint) -> list:
    """Listeners for a host:port, or an owner-only unix socket (a stale socket
    from a previous run is replaced; any other file there is an error)."""
    try:
        if endpoint.is_unix:
            return [await _unix_listener(endpoint.path)]
        return await trio.open_tcp_listeners(endpoint.port, host=endpoint.host)
    except OSError as e:
        raise ListenError(f"cannot listen on {endpoint}: {e.strerror or e}; is another agent running, or is the address wrong?") from e


async def _unix_listener(path: str) -> trio.SocketListener:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(mode):
            raise ListenError(f"cannot listen on {path}: it exists and is not a socket; remove it or choose another components.listen")
        os.unlink(path)  # a stale socket from a previous run
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # owner-only from the start: no window with a wider mode
    try:
        await sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return trio.SocketListener(sock)


async def connect(endpoint: Endpoint) -> trio.abc.Stream:
    """A stream to a host:port or a unix socket."""
    if endpoint.is_unix:
        return await trio.open_unix_socket(endpoint.path)
    return await trio.open_tcp_stream(endpoint.host, endpoint.port)

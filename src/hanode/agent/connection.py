"""One framed connection on a Trio stream: messages in, messages out.

The reader feeds every decoded message to a callback; the writer drains a
bounded queue. Socket connections given a :class:`ReadMux` have no reader
task of their own: one task reads every ready socket per wake-up (a thousand
heartbeating components would otherwise cost a thousand task switches a
round), in C (``_fastio``); a ``batched`` connection's whole frames are
decoded there too and handed to the mux's ``on_batch`` with every other
connection's, one call a wake-up. Sending never blocks the caller: a
connection whose queue is full is not reading and is closed (a slow status
client must never slow the agent, SPEC section 6). The first malformed frame
closes this connection and nothing else (section 2).
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
from hanode.wire import MessageReader, decoders, frame_message

from ._fastio import Channel, Poller

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
        batched: bool = False,
    ):
        """``batched`` (with a ``mux``): whole frames decoded in C go to the
        mux's ``on_batch`` as ``(ident, message)`` pairs instead of to
        ``on_message``, which still takes what the connection's own reader
        decodes (a frame split across reads)."""
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
        self._received = 0               # messages decoded by self._reader
        self.last_rx: float | None = None  # when the reader last decoded one (not kept for batched frames)
        self._fd = _socket_fd(stream)
        self._mux = mux if self._fd is not None else None
        # A socket's descriptor, shared with the C read mux and heartbeat writer.
        # While its writer task holds no frame (channel.backlog), a send is
        # written straight to the socket: one syscall, no task switch.
        self.channel: Channel | None = None
        if self._fd is not None:
            self.channel = Channel(
                self._fd, ident, self._read_data, self._read_failed, self._queue,
                decoders(allowed) if batched and self._mux is not None and auth is None else None, max_payload,
            )

    @property
    def received(self) -> int:
        """Messages received so far."""
        return self._received + (self.channel.received if self.channel is not None else 0)

    # -- called from the agent, synchronously ----------------------------------------
    def send(self, msg) -> None:
        """Queue ``msg``; a connection that does not keep up is closed."""
        if not self.closed:
            self.write(self._encode(msg))

    def write(self, data: bytes) -> None:
        """Send bytes already framed (``send`` frames a message first)."""
        if self.closed:
            return
        if self.channel is not None:
            self.channel.write(data)  # what the kernel does not take comes back through _queue
        else:
            self._queue(data)

    def _queue(self, data: bytes) -> None:
        """Hand ``data`` to the writer task (the socket is full, or not a socket)."""
        if self.closed:
            return
        try:
            self._out_send.send_nowait(data)
            if self.channel is not None:
                self.channel.backlog += 1
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
        if self.channel is not None:
            self.channel.closed = True
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
            if self.channel is not None:
                self.channel.closed = True
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
        assert self._mux is not None and self.channel is not None
        self._mux.add(self.channel)
        first = self._first_pdu_timeout
        if first is not None:
            await trio.sleep(first)
            if self.received == 0:
                self._no_first_pdu()
                return
        await trio.sleep_forever()  # until close() cancels the connection's scope

    # The C mux's callbacks.
    def _read_data(self, data: bytes) -> None:
        """What the mux read and did not decode itself (``b""``: the other side closed)."""
        self._deliver(data)
        if self.channel is not None:
            # A partial frame stays with the reader: the next read is its too.
            self.channel.pending = self._reader.buffered > 0

    def _read_failed(self, reason: str) -> None:
        self.close(reason)

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
            self._received += 1
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
                    if self.channel is not None:
                        self.channel.backlog -= len(batch)
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
    Trio waits on. Each wake-up serves every socket that is ready (in C, see
    ``_fastio.Poller``), so the cost of a wake-up is shared by all the
    messages that arrived. ``begin`` and ``end`` (optional) are called
    around each wake-up's work: the agent handles the whole batch at one
    ``now`` and moves its timer once. ``on_batch`` takes the messages the
    batched connections' reads decoded, ``(conn_id, message)`` pairs in the
    order read, once a wake-up."""

    def __init__(self, begin: Callable[[], None] | None = None, end: Callable[[], None] | None = None,
                 on_batch: Callable[[list], None] | None = None) -> None:
        self._epoll = select.epoll()
        self._channels: dict[int, Channel] = {}
        self._poller = Poller(self._epoll.fileno(), self._channels)
        self.now = 0.0  # trio.current_time() of the wake-up being served
        self._begin = begin or _nothing
        self._end = end or _nothing
        self._on_batch = on_batch or _no_batch

    def add(self, channel: Channel) -> None:
        self._channels[channel.fd] = channel
        self._epoll.register(channel.fd, select.EPOLLIN)

    def __contains__(self, fd: int) -> bool:
        """Whether the descriptor ``fd`` is watched."""
        return fd in self._channels

    def discard(self, fd: int) -> None:
        if self._channels.pop(fd, None) is not None:
            self._epoll.unregister(fd)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; then the epoll set is closed."""
        task_status.started()
        serve = self._poller.serve
        try:
            while True:
                await trio.lowlevel.wait_readable(self._epoll.fileno())
                self.now = trio.current_time()
                self._begin()
                try:
                    batch: list = []
                    serve(batch)
                    if batch:
                        self._on_batch(batch)
                finally:
                    self._end()
        finally:
            self._channels.clear()
            self._epoll.close()


def _nothing() -> None:
    pass


def _no_batch(batch: list) -> None:
    raise RuntimeError(f"ReadMux: {len(batch)} messages from batched connections, and no on_batch to take them")


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

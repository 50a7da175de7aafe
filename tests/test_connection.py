"""hanode.agent.connection over real sockets: the ReadMux and muxed Connections.

Real socketpairs, real time with generous bounds: the mux is an epoll set
whose descriptor Trio waits on, which only a real descriptor exercises. The
mux's tests run twice: plain (every read goes to the connection's reader)
and ``batched`` (whole frames decoded in C and handed over in one batch, as
the agent's component connections are).
"""

from __future__ import annotations

import socket

import pytest
import trio

from hanode.agent._fastio import Channel, send_heartbeats
from hanode.agent.connection import Connection, ReadMux
from hanode.codec import BillOfHealth, ComponentStatus, HealthMonitorMessage, HeartBeat, Role, RoleMessage, SetRole
from hanode.wire import COMPONENT_TYPES, MessageReader, frame_message

CAP = 10.0


def beat(cid: str, seq: int = 1) -> HealthMonitorMessage:
    return HealthMonitorMessage(str(seq), cid, HeartBeat(BillOfHealth(ComponentStatus.ok)))


class Muxed:
    """N muxed connections, each on a socketpair whose far end the test holds."""

    def __init__(self, n: int, *, first_pdu_timeout: float | None = None, batched: bool = False, queue: int = 8):
        self.batches: list[int] = []
        self._in_batch = 0
        self.mux = ReadMux(self._begin, self._end, self._batch)
        self.received: list[tuple[int, object, float]] = []
        self.via_batch = 0  # messages that came through on_batch
        self.closed: dict[int, str] = {}
        self.far: list[socket.socket] = []
        self.conns: list[Connection] = []
        for i in range(n):
            near, far = socket.socketpair()
            self.far.append(far)
            self.conns.append(Connection(
                trio.SocketStream(trio.socket.from_stdlib_socket(near)), i, "component", COMPONENT_TYPES,
                max_payload=1024, queue=queue, on_message=self._message, on_closed=self._closed,
                first_pdu_timeout=first_pdu_timeout, mux=self.mux, batched=batched,
            ))

    def _begin(self) -> None:
        self._in_batch = 0

    def _end(self) -> None:
        self.batches.append(self._in_batch)

    def _message(self, conn: Connection, msg) -> None:
        self._in_batch += 1
        self.received.append((conn.id, msg, self.mux.now))

    def _batch(self, items: list) -> None:
        self._in_batch += len(items)
        self.via_batch += len(items)
        self.received.extend((conn, msg, self.mux.now) for conn, msg in items)

    def _closed(self, conn: Connection, reason: str) -> None:
        self.closed[conn.id] = reason

    async def start(self, nursery: trio.Nursery) -> None:
        await nursery.start(self.mux.run)
        for conn in self.conns:
            nursery.start_soon(conn.run)
        await trio.testing.wait_all_tasks_blocked()


async def wait_until(predicate, what: str) -> None:
    with trio.move_on_after(5):
        while not predicate():
            await trio.sleep(0.005)
        return
    raise AssertionError(f"not within 5 s: {what}")


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
async def test_one_wake_up_reads_every_ready_socket(batched):
    with trio.fail_after(CAP):
        m = Muxed(50, batched=batched)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            # Everything is written before the mux task can run: one wake-up finds all 50 ready.
            for i, far in enumerate(m.far):
                far.sendall(frame_message(beat(str(i))))
            await wait_until(lambda: len(m.received) == 50, "50 messages")
            assert sorted(conn for conn, _, _ in m.received) == list(range(50))
            assert all(msg == beat(str(conn)) for conn, msg, _ in m.received)
            assert max(m.batches) == 50  # one batch, one `now` for all of it
            assert len({t for _, _, t in m.received}) == 1
            assert m.via_batch == (50 if batched else 0)
            assert [c.received for c in m.conns] == [1] * 50
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
async def test_a_closed_peer_closes_only_its_connection_and_leaves_the_mux(batched):
    with trio.fail_after(CAP):
        m = Muxed(3, batched=batched)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[1].close()
            await wait_until(lambda: 1 in m.closed, "connection 1 closed")
            assert m.closed == {1: "closed by the other side"}
            assert m.conns[1]._fd not in m.mux  # no spinning on a dead descriptor
            m.far[0].sendall(frame_message(beat("0")))
            m.far[2].sendall(frame_message(beat("2")))
            await wait_until(lambda: len(m.received) == 2, "the others still read")
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
async def test_bad_input_closes_that_connection_with_the_reason(batched):
    with trio.fail_after(CAP):
        m = Muxed(2, batched=batched)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[0].sendall(b"\x00\x01\x07x")  # PDU type 7 does not exist
            m.far[1].sendall(frame_message(beat("1")))
            await wait_until(lambda: 0 in m.closed and m.received, "bad one closed, good one read")
            assert m.closed[0].startswith("bad input: frame: unknown PDU type 7")
            assert [conn for conn, _, _ in m.received] == [1]
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
async def test_first_pdu_timeout_applies_to_muxed_connections(batched):
    with trio.fail_after(CAP):
        m = Muxed(2, first_pdu_timeout=0.2, batched=batched)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[1].sendall(frame_message(beat("1")))
            await wait_until(lambda: 0 in m.closed, "the silent one closed")
            assert m.closed[0] == "no PDU within 0.2 s of connecting"
            await trio.sleep(0.3)
            assert 1 not in m.closed  # it spoke in time
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
async def test_a_frame_split_across_reads_is_reassembled(batched):
    with trio.fail_after(CAP):
        m = Muxed(1, batched=batched)
        frame = frame_message(beat("7", 123456))
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            for i in range(len(frame)):
                m.far[0].sendall(frame[i:i + 1])
                await trio.sleep(0.002)
            await wait_until(lambda: m.received, "the message")
            assert [msg for _, msg, _ in m.received] == [beat("7", 123456)]
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("flush", [False, True])
async def test_close_from_the_agent_unregisters_at_once(flush):
    with trio.fail_after(CAP):
        m = Muxed(1)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            conn = m.conns[0]
            conn.close("the agent closed it", flush=flush)
            assert conn._fd not in m.mux
            m.far[0].sendall(frame_message(beat("0")))  # arrives after the close: never delivered
            await wait_until(lambda: 0 in m.closed, "closed")
            assert m.received == [] and m.closed[0] == "the agent closed it"
            nursery.cancel_scope.cancel()


async def test_batched_reads_take_the_connections_reader_for_a_split_frame_then_batch_again():
    with trio.fail_after(CAP):
        m = Muxed(1, batched=True)
        conn = m.conns[0]
        first, second, third = (frame_message(beat("0", k)) for k in (1, 2, 3))
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[0].sendall(first + second[:2])  # a whole frame and the start of the next
            await wait_until(lambda: len(m.received) == 1, "the whole frame")
            assert m.via_batch == 0 and conn.channel.pending  # all of that read went to the reader: in order
            m.far[0].sendall(second[2:])
            await wait_until(lambda: len(m.received) == 2, "the completed frame")
            assert not conn.channel.pending
            m.far[0].sendall(third)
            await wait_until(lambda: len(m.received) == 3, "the next whole frame")
            assert m.via_batch == 1  # back on the fast path
            assert [msg.correlation_id for _, msg, _ in m.received] == ["1", "2", "3"]
            assert conn.received == 3
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("bad, reason", [
    (b"\x00\x01\x01\x00", "bad input: frame: PDU type 1 (election) is not allowed"),  # not on a component connection
    (b"\x04\x01\x03" + b"\x00" * 1025, "bad input: frame: payload length 1025 exceeds"),
    (b"\x00\x01\x03\xff", "bad input: frame 2 (monitor)"),  # a monitor payload that does not decode
], ids=["type", "length", "payload"])
async def test_batched_read_with_a_bad_frame_closes_as_a_plain_one_does(bad, reason):
    with trio.fail_after(CAP):
        m = Muxed(1, batched=True)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[0].sendall(frame_message(beat("0")) + bad)
            await wait_until(lambda: 0 in m.closed, "closed")
            # As without the batch: the read that holds a bad frame is bad input, all of it.
            assert m.received == []
            assert m.closed[0].startswith(reason), m.closed[0]
            nursery.cancel_scope.cancel()


async def test_what_the_kernel_does_not_take_is_queued_and_sent_in_order():
    with trio.fail_after(CAP):
        m = Muxed(1, queue=100_000)
        conn, far = m.conns[0], m.far[0]
        frames = [frame_message(RoleMessage(str(k), SetRole(Role.active))) for k in range(1, 20_001)]
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            for frame in frames:  # far more than a socket buffer holds, while nobody reads
                conn.write(frame)
            assert conn.channel.backlog > 0  # the writer task holds the rest
            reader = MessageReader(COMPONENT_TYPES)
            got = []
            far.setblocking(False)
            while len(got) < len(frames):
                try:
                    got += reader.feed(far.recv(65536))
                except BlockingIOError:
                    await trio.sleep(0.001)
            assert [frame_message(msg) for msg in got] == frames
            await wait_until(lambda: conn.channel.backlog == 0, "the queue drained")
            nursery.cancel_scope.cancel()


async def test_a_failed_write_closes_the_connection_with_the_reason():
    with trio.fail_after(CAP):
        m = Muxed(1)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.conns[0].stream.socket.shutdown(socket.SHUT_WR)  # our side can no longer send
            m.conns[0].send(beat("0"))
            await wait_until(lambda: 0 in m.closed, "closed")
            assert m.closed[0] == "send failed: [Errno 32] Broken pipe"
            nursery.cancel_scope.cancel()


async def test_send_heartbeats_frames_one_beat_for_each_connection_it_finds():
    with trio.fail_after(CAP):
        m = Muxed(3)
        memory_near, memory_far = trio.testing.memory_stream_pair()
        in_memory = Connection(memory_near, 99, "component", COMPONENT_TYPES, max_payload=1024, queue=8,
                               on_message=lambda c, msg: None, on_closed=lambda c, r: None)
        assert in_memory.channel is None
        ok = BillOfHealth(ComponentStatus.ok)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            nursery.start_soon(in_memory.run)
            m.conns[2].close("gone")
            connections = {0: m.conns[0], 1: m.conns[1], 2: m.conns[2], 99: in_memory}
            targets = [(0, "10"), (1, "1234567890123456"), (2, "12"), (7, "13"), (99, "")]
            send_heartbeats(connections, targets, "42", ok)
            expected = {cid: frame_message(HealthMonitorMessage("42", cid, HeartBeat(ok))) for _, cid in targets}
            for i, cid in ((0, "10"), (1, "1234567890123456")):
                assert m.far[i].recv(100) == expected[cid]
            assert await memory_far.receive_some(100) == expected[""]  # through Connection.send
            m.far[2].setblocking(False)
            with pytest.raises((BlockingIOError, ConnectionResetError)):
                data = m.far[2].recv(100)  # closed: nothing was written to it
                assert data == b""
                raise BlockingIOError
            nursery.cancel_scope.cancel()


def test_a_channel_needs_one_decoder_slot_per_type_octet():
    with pytest.raises(ValueError, match="256 entries"):
        Channel(0, 1, print, print, print, (None,) * 255, 1024)

"""hanode.agent.connection over real sockets: the ReadMux and muxed Connections.

Real socketpairs, real time with generous bounds: the mux is an epoll set
whose descriptor Trio waits on, which only a real descriptor exercises.
"""

from __future__ import annotations

import socket

import pytest
import trio

from hanode.agent.connection import Connection, ReadMux
from hanode.codec import BillOfHealth, ComponentStatus, HealthMonitorMessage, HeartBeat
from hanode.wire import COMPONENT_TYPES, frame_message

CAP = 10.0


def beat(cid: str, seq: int = 1) -> HealthMonitorMessage:
    return HealthMonitorMessage(str(seq), cid, HeartBeat(BillOfHealth(ComponentStatus.ok)))


class Muxed:
    """N muxed connections, each on a socketpair whose far end the test holds."""

    def __init__(self, n: int, *, first_pdu_timeout: float | None = None):
        self.batches: list[int] = []
        self._in_batch = 0
        self.mux = ReadMux(self._begin, self._end)
        self.received: list[tuple[int, object, float]] = []
        self.closed: dict[int, str] = {}
        self.far: list[socket.socket] = []
        self.conns: list[Connection] = []
        for i in range(n):
            near, far = socket.socketpair()
            self.far.append(far)
            self.conns.append(Connection(
                trio.SocketStream(trio.socket.from_stdlib_socket(near)), i, "component", COMPONENT_TYPES,
                max_payload=1024, queue=8, on_message=self._message, on_closed=self._closed,
                first_pdu_timeout=first_pdu_timeout, mux=self.mux,
            ))

    def _begin(self) -> None:
        self._in_batch = 0

    def _end(self) -> None:
        self.batches.append(self._in_batch)

    def _message(self, conn: Connection, msg) -> None:
        self._in_batch += 1
        self.received.append((conn.id, msg, self.mux.now))

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


async def test_one_wake_up_reads_every_ready_socket():
    with trio.fail_after(CAP):
        m = Muxed(50)
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
            nursery.cancel_scope.cancel()


async def test_a_closed_peer_closes_only_its_connection_and_leaves_the_mux():
    with trio.fail_after(CAP):
        m = Muxed(3)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[1].close()
            await wait_until(lambda: 1 in m.closed, "connection 1 closed")
            assert m.closed == {1: "closed by the other side"}
            assert m.conns[1]._fd not in m.mux._readers  # no spinning on a dead descriptor
            m.far[0].sendall(frame_message(beat("0")))
            m.far[2].sendall(frame_message(beat("2")))
            await wait_until(lambda: len(m.received) == 2, "the others still read")
            nursery.cancel_scope.cancel()


async def test_bad_input_closes_that_connection_with_the_reason():
    with trio.fail_after(CAP):
        m = Muxed(2)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[0].sendall(b"\x00\x01\x07x")  # PDU type 7 does not exist
            m.far[1].sendall(frame_message(beat("1")))
            await wait_until(lambda: 0 in m.closed and m.received, "bad one closed, good one read")
            assert m.closed[0].startswith("bad input: frame: unknown PDU type 7")
            assert [conn for conn, _, _ in m.received] == [1]
            nursery.cancel_scope.cancel()


async def test_first_pdu_timeout_applies_to_muxed_connections():
    with trio.fail_after(CAP):
        m = Muxed(2, first_pdu_timeout=0.2)
        async with trio.open_nursery() as nursery:
            await m.start(nursery)
            m.far[1].sendall(frame_message(beat("1")))
            await wait_until(lambda: 0 in m.closed, "the silent one closed")
            assert m.closed[0] == "no PDU within 0.2 s of connecting"
            await trio.sleep(0.3)
            assert 1 not in m.closed  # it spoke in time
            nursery.cancel_scope.cancel()


async def test_a_frame_split_across_reads_is_reassembled():
    with trio.fail_after(CAP):
        m = Muxed(1)
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
            assert conn._fd not in m.mux._readers
            m.far[0].sendall(frame_message(beat("0")))  # arrives after the close: never delivered
            await wait_until(lambda: 0 in m.closed, "closed")
            assert m.received == [] and m.closed[0] == "the agent closed it"
            nursery.cancel_scope.cancel()

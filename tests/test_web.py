"""hanode.web: the HTTP endpoints, on real sockets on 127.0.0.1.

Each test starts :func:`serve_http` on port 0 with ``nursery.start`` (as the
agent does) and talks to it with one of three clients: ``http.client`` in a
thread (a parser independent of h11), an h11 client on a Trio stream (for
keep-alive and connection counting), or raw bytes (for HEAD, bodies,
garbage and resets, where what matters is the exact bytes on the wire).
Timing tests use real time with short timeouts and generous upper bounds:
a MockClock does not drive real sockets reliably. Every test is capped by
``trio.fail_after(10)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import socket
import struct
from collections.abc import AsyncIterator, Callable
from functools import partial

import h11
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from hanode.config import Endpoint
from hanode.metrics import CONTENT_TYPE
from hanode.snapshot import ComponentView, EventView, PeerView, Snapshot
from hanode.web import serve_http

CAP = 10  # seconds, every test


def make_snapshot(**changes) -> Snapshot:
    snapshot = Snapshot(
        name="alpha",
        state="active",
        role="active",
        status="active",
        in_state_for=12.5,
        healthy=True,
        maintenance=False,
        witness=None,
        peer=PeerView(
            name="beta", address="10.0.0.2:7400", connected=True, alive=True,
            heartbeat_age=0.375, rtt=0.0042, healthy=True,
        ),
        components=(
            ComponentView(
                id="db", name="Postgres", kind="process", order=1, required=True, connected=True,
                role="active", health="healthy", heartbeat_age=0.125, heartbeats_per_s=4.0,
            ),
        ),
        events=(EventView(at=1_700_000_000.5, level="info", kind="election", text="became active"),),
        clients=3,
        failovers=7,
        taken_at=1_700_000_001.0,
        pid=4242,
    )
    return dataclasses.replace(snapshot, **changes)


@contextlib.asynccontextmanager
async def running(get_snapshot: Callable[[], Snapshot] | Snapshot, **options) -> AsyncIterator[int]:
    """Serve on 127.0.0.1, port 0; yields the port."""
    if isinstance(get_snapshot, Snapshot):
        get_snapshot = partial(lambda s: s, get_snapshot)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(serve_http, Endpoint(host="127.0.0.1", port=0), get_snapshot, **options)
        )
        try:
            yield listeners[0].socket.getsockname()[1]
        finally:
            nursery.cancel_scope.cancel()


def _fetch(port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


async def fetch(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request with http.client (in a thread): status, headers (lower-case names), body."""
    return await trio.to_thread.run_sync(_fetch, port, method, path)


class Client:
    """An h11 client on one TCP connection, for several requests in a row."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> Client:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def get(self, path: str) -> tuple[h11.Response, bytes]:
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        request = h11.Request(method="GET", target=path, headers=[("Host", "test")])
        await self.stream.send_all(self.conn.send(request) + self.conn.send(h11.EndOfMessage()))
        response = await self._next()
        assert isinstance(response, h11.Response), response
        body = b""
        while not isinstance(event := await self._next(), h11.EndOfMessage):
            body += event.data
        return response, body

    async def _next(self) -> h11.Event:
        while (event := self.conn.next_event()) is h11.NEED_DATA:
            self.conn.receive_data(await self.stream.receive_some(65536))
        return event


async def raw(port: int, data: bytes) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(data)
        return await read_to_eof(stream)


async def read_to_eof(stream: trio.SocketStream) -> bytes:
    got = b""
    try:
        while chunk := await stream.receive_some(65536):
            got += chunk
    except trio.BrokenResourceError:
        pass  # a reset ends it too
    return got


def split_response(data: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Status line, headers (lower-case names), body of one raw response."""
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, data
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


# -- routes ------------------------------------------------------------------


async def test_status_is_the_snapshot_as_json():
    snapshot = make_snapshot()
    with trio.fail_after(CAP):
        async with running(snapshot) as port:
            status, headers, body = await fetch(port, "/status")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    expected = json.loads(json.dumps(snapshot.to_dict()))  # tuples become lists
    assert json.loads(body) == expected
    assert json.loads(body)["peer"]["rtt"] == 0.0042  # not a vacuous comparison
    assert json.loads(body)["components"][0]["id"] == "db"


async def test_status_follows_the_snapshot_per_request():
    current = [make_snapshot(status="active")]
    with trio.fail_after(CAP):
        async with running(lambda: current[0]) as port:
            first = json.loads((await fetch(port, "/status"))[2])
            current[0] = make_snapshot(status="degraded", failovers=8)
            second = json.loads((await fetch(port, "/status?verbose=1"))[2])  # a query is ignored
    assert (first["status"], first["failovers"]) == ("active", 7)
    assert (second["status"], second["failovers"]) == ("degraded", 8)


@pytest.mark.parametrize(
    ("role", "state", "status", "code"),
    [
        ("active", "active", "active", 200),
        ("active", "active", "degraded", 200),  # degraded still holds the role
        ("active", "promoting", "promoting", 503),  # components not all active yet
        ("active", "demoting", "demoting", 503),
        ("standby", "standby", "standby", 503),
        ("standby", "unassigned", "electing", 503),
    ],
)
async def test_active(role, state, status, code):
    snapshot = make_snapshot(role=role, state=state, status=status)
    with trio.fail_after(CAP):
        async with running(snapshot) as port:
            got, headers, body = await fetch(port, "/active")
    assert got == code
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"node": "alpha", "status": status, "active": code == 200}


async def test_metrics():
    snapshot = make_snapshot(failovers=11, clients=5)
    with trio.fail_after(CAP):
        async with running(snapshot) as port:
            status, headers, body = await fetch(port, "/metrics")
    assert status == 200
    assert headers["content-type"] == CONTENT_TYPE
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert got[("hanode_failovers_total", (("node", "alpha"),))] == 11
    assert got[("hanode_status_clients", (("node", "alpha"),))] == 5
    assert got[("hanode_active", (("node", "alpha"),))] == 1
    assert got[("hanode_peer_rtt_seconds", (("node", "alpha"),))] == 0.0042
    assert got[("hanode_component_role", (("component", "db"), ("name", "Postgres"), ("node", "alpha"), ("role", "active")))] == 1


async def test_head_has_headers_and_no_body():
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            _, get_headers, get_body = await fetch(port, "/status")
            data = await raw(port, b"HEAD /status HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(data)
    assert status == b"HTTP/1.1 200 OK"
    assert body == b""
    assert int(headers[b"content-length"]) == len(get_body) == int(get_headers["content-length"])
    assert headers[b"content-type"] == b"application/json"


async def test_other_methods_are_405():
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            for method in ("POST", "PUT", "DELETE", "OPTIONS"):
                status, headers, body = await fetch(port, "/status", method)
                assert status == 405, method
                assert headers["allow"] == "GET, HEAD"
                assert method.encode() in body


async def test_unknown_path_is_404_and_lists_the_paths():
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            for path in ("/", "/nope", "/status/", "/STATUS", "/metrics/x"):
                status, headers, body = await fetch(port, path)
                assert status == 404, path
                assert headers["content-type"].startswith("text/plain")
                for known in (b"/status", b"/active", b"/metrics"):
                    assert known in body
            # A wrong method on an unknown path is still "not found".
            assert (await fetch(port, "/nope", "POST"))[0] == 404


async def test_snapshot_failure_is_500_and_the_server_goes_on():
    calls = []

    def get_snapshot() -> Snapshot:
        calls.append(None)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return make_snapshot()

    with trio.fail_after(CAP):
        async with running(get_snapshot) as port:
            status, _, body = await fetch(port, "/status")
            assert status == 500
            assert b"boom" not in body  # internals stay in the log
            assert (await fetch(port, "/status"))[0] == 200


# -- connections -------------------------------------------------------------


async def test_keep_alive_serves_several_requests_on_one_connection():
    current = [make_snapshot(failovers=1)]
    with trio.fail_after(CAP):
        async with running(lambda: current[0]) as port:
            client = await Client.connect(port)
            async with client.stream:
                first, first_body = await client.get("/status")
                current[0] = make_snapshot(failovers=2)
                second, second_body = await client.get("/active")
                third, third_body = await client.get("/status")
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 200)
    assert json.loads(first_body)["failovers"] == 1
    assert json.loads(second_body)["active"] is True
    assert json.loads(third_body)["failovers"] == 2
    # h11 would have refused a second request on a connection the server closed.
    assert client.conn.our_state is h11.DONE


async def test_keep_alive_with_http_client():
    def two_requests(port: int) -> tuple[int, int, bool]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/status")
            first = conn.getresponse()
            first.read()
            sock = conn.sock
            conn.request("GET", "/metrics")
            second = conn.getresponse()
            second.read()
            return first.status, second.status, conn.sock is sock and sock is not None
        finally:
            conn.close()

    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            assert await trio.to_thread.run_sync(two_requests, port) == (200, 200, True)


async def test_pipelined_requests_are_answered_in_order():
    with trio.fail_after(CAP):
        async with running(make_snapshot(role="standby", state="standby")) as port:
            data = await raw(
                port,
                b"GET /active HTTP/1.1\r\nHost: test\r\n\r\n"
                b"GET /nope HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
            )
    status, headers, rest = split_response(data)
    length = int(headers[b"content-length"])
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert json.loads(rest[:length])["active"] is False
    status, headers, body = split_response(rest[length:])
    assert status == b"HTTP/1.1 404 Not Found"
    assert len(body) == int(headers[b"content-length"])


async def test_request_with_a_body_is_400_and_closed():
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            data = await raw(
                port,
                b"GET /status HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello"
                b"GET /status HTTP/1.1\r\nHost: test\r\n\r\n",  # never answered: the connection closes
            )
            status, headers, _ = split_response(data)
            assert status.startswith(b"HTTP/1.1 400 ")
            assert headers[b"connection"] == b"close"
            assert data.count(b"HTTP/1.1 ") == 1
            # Announced but not sent: the same, without waiting for it.
            data = await raw(port, b"GET /status HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
            assert data.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello, more or less
        b"HELLO\r\n\r\n",
        b"GET /status HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /status HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    ],
)
async def test_garbage_is_400_and_the_server_goes_on(garbage):
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            data = await raw(port, garbage)
            assert data.startswith(b"HTTP/1.1 400 ")
            assert split_response(data)[1][b"connection"] == b"close"
            assert (await fetch(port, "/status"))[0] == 200


async def test_reset_mid_request_does_not_hurt_the_listener():
    with trio.fail_after(CAP):
        async with running(make_snapshot()) as port:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"GET /sta")
            # SO_LINGER 0: close with a reset, not a FIN.
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()
            await trio.sleep(0.1)
            assert (await fetch(port, "/active"))[0] == 200


async def test_connections_beyond_the_limit_are_closed_at_once():
    with trio.fail_after(CAP):
        async with running(make_snapshot(), max_connections=2) as port:
            first, second = await Client.connect(port), await Client.connect(port)
            # Answered, so both hold their slot (kept alive).
            assert (await first.get("/status"))[0].status_code == 200
            assert (await second.get("/status"))[0].status_code == 200

            third = await trio.open_tcp_stream("127.0.0.1", port)
            async with third:
                with contextlib.suppress(trio.BrokenResourceError):
                    await third.send_all(b"GET /status HTTP/1.1\r\nHost: test\r\n\r\n")
                assert await read_to_eof(third) == b""

            # The kept-alive ones are still served; a freed slot takes a new one.
            assert (await first.get("/active"))[0].status_code == 200
            await second.stream.aclose()
            while True:  # until the server has seen the close
                fourth = await Client.connect(port)
                try:
                    response, _ = await fourth.get("/status")
                    break
                except (trio.BrokenResourceError, h11.RemoteProtocolError):
                    await trio.sleep(0.05)
                finally:
                    await fourth.stream.aclose()
            assert response.status_code == 200
            await first.stream.aclose()


async def test_idle_connection_is_closed_after_the_timeout():
    with trio.fail_after(CAP):
        async with running(make_snapshot(), idle_timeout=0.2) as port:
            # Kept alive after a request, then silent.
            client = await Client.connect(port)
            async with client.stream:
                assert (await client.get("/status"))[0].status_code == 200
                start = trio.current_time()
                with trio.fail_after(5):
                    assert await read_to_eof(client.stream) == b""
                assert trio.current_time() - start >= 0.15  # not closed right after the response
            # Connected, never a byte.
            start = trio.current_time()
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                with trio.fail_after(5):
                    assert await read_to_eof(stream) == b""
            # Half a request, then silent.
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(b"GET /status HTTP/1.1\r\nHo")
                with trio.fail_after(5):
                    assert b"200" not in await read_to_eof(stream)


async def test_unix_socket_endpoint(tmp_path):
    path = str(tmp_path / "http.sock")
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_http, Endpoint(path=path), lambda: make_snapshot())
            stream = await trio.open_unix_socket(path)
            async with stream:
                await stream.send_all(b"GET /active HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                status, _, body = split_response(await read_to_eof(stream))
            nursery.cancel_scope.cancel()
    assert status.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body)["node"] == "alpha"


async def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="idle_timeout"):
        await serve_http(Endpoint(host="127.0.0.1", port=0), make_snapshot, idle_timeout=0)
    with pytest.raises(ValueError, match="max_connections"):
        await serve_http(Endpoint(host="127.0.0.1", port=0), make_snapshot, max_connections=0)

"""The HTTP endpoints of one node: ``/status``, ``/active``, ``/metrics``.

A small HTTP/1.1 server on Trio around h11's sans-IO ``Connection``, after
h11's ``examples/trio-server.py``: h11 parses and frames, this module only
moves bytes and picks responses. Every response is a pure function of the
:class:`~hanode.snapshot.Snapshot` that ``get_snapshot()`` returns when the
request arrives.

Routes (GET and HEAD; HEAD has the headers of GET and no body):

- ``/status``: 200, ``application/json``: ``Snapshot.to_dict()``.
- ``/active``: 200 on the node serving the active role, 503 elsewhere, for
  load balancers and health checks (as Patroni's ``/primary``). Active means
  role *and* election state ``active``: a node still ``promoting`` (or
  ``demoting``) answers 503, since its components are not all serving yet
  (or no longer). A ``degraded`` active node answers 200: it holds the role.
  Body: ``{"node": ..., "status": ..., "active": bool}``.
- ``/metrics``: 200, Prometheus text (:mod:`hanode.metrics`).

Anything else: an unknown path is 404 (the body lists the paths), another
method on a known path 405 with ``Allow``. A request with a body is 400 and
a request h11 cannot parse gets h11's status hint (400; 431 for oversized
headers); both close the connection after the response.

Limits: each request/response cycle on a connection, from the moment the
server waits for a request until the response is written, must finish
within ``idle_timeout``, or the connection is closed (an idle keep-alive
connection and a client that stops reading both end that way). Beyond
``max_connections`` open connections, a new one is closed at once. A
connection's failure (reset, garbage) is logged at debug level and closes
that connection only; the listener never sees it.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from itertools import count

import h11
import trio

from hanode import __version__
from hanode.agent.connection import open_listeners
from hanode.config import Endpoint
from hanode.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hanode.metrics import render_metrics
from hanode.snapshot import Snapshot

__all__ = ["PATHS", "serve_http"]

log = logging.getLogger("hanode.http")

PATHS = ("/status", "/active", "/metrics")
"""The paths served."""

_METHODS = (b"GET", b"HEAD")
_ALLOW = b"GET, HEAD"
_RECEIVE_SIZE = 65536
_LINGER = 2.0  # at most this long draining a client after our last response
_SERVER = f"hanode/{__version__} {h11.PRODUCT_ID}".encode("ascii")
_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"


async def serve_http(
    listen: Endpoint | Sequence[trio.SocketListener],
    get_snapshot: Callable[[], Snapshot],
    *,
    idle_timeout: float = 10.0,
    max_connections: int = 64,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the HTTP endpoints on ``listen`` until cancelled.

    ``listen`` is an :class:`~hanode.config.Endpoint` (host:port, or a unix
    socket path; opened with :func:`hanode.agent.connection.open_listeners`,
    which raises ``ListenError``) or listeners already open. Started with
    ``await nursery.start(serve_http, endpoint, get_snapshot)``, which
    returns the listeners once they accept (for port 0:
    ``listeners[0].socket.getsockname()``). ``get_snapshot`` is called once
    per request; it must be synchronous and cheap. The listeners are closed
    on exit.
    """
    if idle_timeout <= 0:
        raise ValueError(f"idle_timeout must be positive, not {idle_timeout}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, not {max_connections}")
    listeners = await open_listeners(listen) if isinstance(listen, Endpoint) else list(listen)
    open_connections = 0
    ids = count(1)

    async def handler(stream: trio.SocketStream) -> None:
        nonlocal open_connections
        ident = next(ids)
        if open_connections >= max_connections:
            # Over the limit: no slot, no response (a response could block on
            # a client that does not read), just the close.
            log.debug("http %d: %d connections open, closing the new one", ident, open_connections)
            await trio.aclose_forcefully(stream)
            return
        open_connections += 1
        try:
            await _serve_connection(stream, get_snapshot, idle_timeout, ident)
        except Exception as e:
            # One connection's failure must never reach serve_listeners: an
            # exception there would end the whole listener.
            log.debug("http %d: closed on error: %r", ident, e)
        finally:
            open_connections -= 1
            await trio.aclose_forcefully(stream)

    for listener in listeners:
        log.info("http: listening on %s", _address(listener))
    await trio.serve_listeners(handler, listeners, task_status=task_status)


async def _serve_connection(
    stream: trio.SocketStream,
    get_snapshot: Callable[[], Snapshot],
    idle_timeout: float,
    ident: int,
) -> None:
    """Serve requests on one connection until either side closes it."""
    conn = h11.Connection(h11.SERVER)
    log.debug("http %d: connection from %s", ident, _peer(stream))
    while True:
        with trio.move_on_after(idle_timeout) as cycle:
            try:
                event = await _next_event(stream, conn)
                if isinstance(event, h11.ConnectionClosed):
                    log.debug("http %d: closed by the client", ident)
                    return
                assert isinstance(event, h11.Request), event  # h11 yields nothing else from IDLE
                # A body we would have to read and throw away to keep the
                # connection in step; no route takes one, so answer and close.
                has_body = not isinstance(conn.next_event(), h11.EndOfMessage)
            except h11.RemoteProtocolError as e:
                log.info("http %d from %s: bad request, closing it: %s", ident, _peer(stream), e)
                await _send_error(stream, conn, e.error_status_hint, f"bad request: {e}\n")
                break
            await _respond(stream, conn, event, has_body, get_snapshot, ident)
        if cycle.cancelled_caught:
            log.debug("http %d: no request within %g s, closing", ident, idle_timeout)
            return
        if conn.our_state is h11.MUST_CLOSE:
            break
        try:
            conn.start_next_cycle()
        except h11.LocalProtocolError:
            # Only when the client is not done with its request, which every
            # response above already closes for; belt and braces.
            break
    await _shutdown(stream)


async def _next_event(stream: trio.SocketStream, conn: h11.Connection) -> h11.Event:
    """h11's next event, reading from the stream as it needs data."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        try:
            data = await stream.receive_some(_RECEIVE_SIZE)
        except (trio.BrokenResourceError, ConnectionError):
            data = b""  # a reset: the same as a close to h11
        conn.receive_data(data)


async def _respond(
    stream: trio.SocketStream,
    conn: h11.Connection,
    request: h11.Request,
    has_body: bool,
    get_snapshot: Callable[[], Snapshot],
    ident: int,
) -> None:
    """Answer one request; a body, if it has one, is left unread (and the
    connection closed after the response)."""
    path = request.target.split(b"?", 1)[0].split(b"#", 1)[0].decode("ascii", "replace")
    method = request.method.decode("ascii", "replace")
    headers: list[tuple[bytes, bytes]] = []
    if path not in PATHS:
        status, content_type = 404, _TEXT
        body = ("not found; paths: " + " ".join(PATHS) + "\n").encode()
    elif request.method not in _METHODS:
        status, content_type = 405, _TEXT
        body = f"{method} not allowed; use GET or HEAD\n".encode()
        headers.append((b"Allow", _ALLOW))
    elif has_body:
        status, content_type = 400, _TEXT
        body = b"a request body is not accepted here\n"
    else:
        try:
            status, content_type, body = _route(path, get_snapshot())
        except Exception:
            # A bug of ours, not the client's: say so, and keep serving.
            log.exception("http %d: %s %s failed", ident, method, path)
            status, content_type, body = 500, _TEXT, b"internal error; see the agent's log\n"
    if has_body:
        headers.append((b"Connection", b"close"))
    log.debug("http %d: %s %s -> %d", ident, method, path, status)
    await _send(stream, conn, status, content_type, body, headers, head=request.method == b"HEAD")


def _route(path: str, snapshot: Snapshot) -> tuple[int, bytes, bytes]:
    """Status, content type and body of a GET on one of :data:`PATHS`."""
    if path == "/status":
        return 200, _JSON, json.dumps(snapshot.to_dict()).encode()
    if path == "/active":
        active = snapshot.role == "active" and snapshot.state == "active"
        body = json.dumps({"node": snapshot.name, "status": snapshot.status, "active": active})
        return (200 if active else 503), _JSON, body.encode()
    return 200, METRICS_CONTENT_TYPE.encode("ascii"), render_metrics(snapshot)


async def _send_error(stream: trio.SocketStream, conn: h11.Connection, status: int, text: str) -> None:
    """Answer a request h11 could not parse, if h11 still lets us answer."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    await _send(stream, conn, status, _TEXT, text.encode("utf-8", "replace"), [(b"Connection", b"close")])


async def _send(
    stream: trio.SocketStream,
    conn: h11.Connection,
    status: int,
    content_type: bytes,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    head: bool = False,
) -> None:
    """One whole response, in one write."""
    headers = [
        (b"Date", email.utils.formatdate(usegmt=True).encode("ascii")),
        (b"Server", _SERVER),
        (b"Content-Type", content_type),
        (b"Content-Length", str(len(body)).encode("ascii")),
        # Answers change by the second; a cache between a monitor and the
        # node would hide a failover.
        (b"Cache-Control", b"no-store"),
        *headers,
    ]
    data = conn.send(h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase))
    if not head:  # h11 frames a HEAD response with no body and would refuse one
        data += conn.send(h11.Data(data=body))
    data += conn.send(h11.EndOfMessage())
    try:
        await stream.send_all(data)
    except BaseException:
        conn.send_failed()
        raise


async def _shutdown(stream: trio.SocketStream) -> None:
    """Close after a response without losing it.

    Closing a socket with unread input sends a reset, which can discard the
    response before the client reads it. So: end our side, read until the
    client closes too (or ``_LINGER`` passes), then close.
    """
    try:
        await stream.send_eof()
        with trio.move_on_after(_LINGER):
            while await stream.receive_some(_RECEIVE_SIZE):
                pass
    except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
        pass  # gone already


def _address(listener: trio.SocketListener) -> str:
    return _format(listener.socket.getsockname())


def _peer(stream: trio.SocketStream) -> str:
    try:
        return _format(stream.socket.getpeername()) or "unix socket"
    except OSError:
        return "?"


def _format(name: object) -> str:
    """host:port (IPv6 in brackets), or a unix socket's path."""
    if isinstance(name, tuple):
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(name)

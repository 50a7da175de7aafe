"""hanode.sdnotify against real AF_UNIX datagram sockets, as systemd listens.

Each test binds the socket systemd would (a path in tmp_path, or an abstract
``@name``) and hands the notifier an environment naming it. The watchdog
tests run under ``autojump_clock`` with a real socket: a receiving task
records ``trio.current_time()`` for each datagram, so ping times are exact
virtual times.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import pytest
import trio

from hanode.sdnotify import SystemdNotifier


@pytest.fixture
def listener(tmp_path):
    """A bound datagram socket at a path; yields (NOTIFY_SOCKET value, socket)."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    try:
        yield path, sock
    finally:
        sock.close()


@pytest.fixture
def make():
    """SystemdNotifier(environ), closed after the test."""
    made = []

    def make(environ=None) -> SystemdNotifier:
        made.append(SystemdNotifier(environ))
        return made[-1]

    try:
        yield make
    finally:
        for sd in made:
            sd.close()


def received(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on ``sock`` (non-blocking)."""
    out = []
    while True:
        try:
            out.append(sock.recv(4096))
        except BlockingIOError:
            return out


def test_messages_to_a_path(listener, make):
    path, sock = listener
    sd = make({"NOTIFY_SOCKET": path})
    assert sd.enabled
    sd.ready("standby, peer beta connected")
    sd.status("active")
    sd.stopping()
    sd.watchdog()
    assert received(sock) == [
        b"READY=1\nSTATUS=standby, peer beta connected",
        b"STATUS=active",
        b"STOPPING=1",
        b"WATCHDOG=1",
    ]


def test_messages_to_an_abstract_name(make):
    name = f"hanode-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    try:
        sd = make({"NOTIFY_SOCKET": "@" + name})
        sd.ready("electing")
        sd.status("standby")
        assert received(sock) == [b"READY=1\nSTATUS=electing", b"STATUS=standby"]
    finally:
        sock.close()


def test_a_newline_cannot_add_an_assignment(listener, make):
    path, sock = listener
    make({"NOTIFY_SOCKET": path}).status("active\nREADY=1")
    assert received(sock) == [b"STATUS=active READY=1"]


def test_unset_is_a_no_op(listener, make):
    path, sock = listener
    sd = make({})
    assert not sd.enabled and sd.watchdog_interval is None
    sd.ready("x")
    sd.status("y")
    sd.stopping()
    sd.watchdog()
    assert not sd.notify("STATUS=z")
    assert received(sock) == []


def test_reads_os_environ_by_default(listener, monkeypatch, make):
    path, sock = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    make().status("from os.environ")
    assert received(sock) == [b"STATUS=from os.environ"]


def test_an_unsupported_address_is_ignored(caplog, make):
    caplog.set_level(logging.WARNING, logger="hanode.sdnotify")
    sd = make({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not sd.enabled
    sd.ready("x")
    assert "vsock:2:1234" in caplog.text


def test_send_errors_are_logged_once_and_never_raised(tmp_path, caplog, listener, make):
    caplog.set_level(logging.DEBUG, logger="hanode.sdnotify")
    missing = str(tmp_path / "nobody-listens.sock")
    sd = make({"NOTIFY_SOCKET": missing})
    sd.ready("x")
    sd.watchdog()
    assert not sd.notify("WATCHDOG=1")
    warnings = [r for r in caplog.records if r.name == "hanode.sdnotify" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert missing in warnings[0].getMessage()
    # once it works again, a later failure is worth one more line
    path, sock = listener
    sd.address = path
    assert sd.notify("STATUS=ok")
    sd.address = missing
    sd.watchdog()
    sd.watchdog()
    warnings = [r for r in caplog.records if r.name == "hanode.sdnotify" and r.levelno >= logging.WARNING]
    assert len(warnings) == 2


# -- the watchdog --------------------------------------------------------------------

async def _pings(environ: dict, until: float, alive=None) -> tuple[list[float], bool]:
    """Run the watchdog for ``until`` virtual seconds against a real socket;
    the ping times relative to the start, and whether run_watchdog returned
    by itself."""
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"hanode-test-{uuid.uuid4().hex}"
    await sock.bind("\0" + name)
    sd = SystemdNotifier({"NOTIFY_SOCKET": "@" + name, **environ})
    start = trio.current_time()
    times: list[float] = []
    returned = False

    async def receive() -> None:
        while True:
            data = await sock.recv(4096)
            assert data == b"WATCHDOG=1"
            times.append(trio.current_time() - start)

    async def watchdog() -> None:
        nonlocal returned
        await sd.run_watchdog(alive)
        returned = True

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            nursery.start_soon(watchdog)
            await trio.sleep(until)
            nursery.cancel_scope.cancel()
    finally:
        sock.close()
        sd.close()
    return times, returned


async def test_watchdog_pings_at_half_the_interval(autojump_clock):
    times, returned = await _pings({"WATCHDOG_USEC": "200000"}, 0.55)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-9)
    assert not returned


async def test_watchdog_for_this_pid(autojump_clock):
    times, _ = await _pings({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}, 1.2)
    assert times == pytest.approx([0.0, 0.5, 1.0], abs=1e-9)


@pytest.mark.parametrize("environ", [
    {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"},          # another process's watchdog
    {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "not-a-pid"},
    {},                                                       # no watchdog configured
    {"WATCHDOG_USEC": "0"},
    {"WATCHDOG_USEC": "soon"},
])
async def test_no_watchdog_no_pings(autojump_clock, environ):
    times, returned = await _pings(environ, 1.0)
    assert times == []
    assert returned  # nothing to do: it returns rather than sleeping forever


async def test_watchdog_needs_a_socket(autojump_clock):
    sd = SystemdNotifier({"WATCHDOG_USEC": "200000"})
    assert sd.watchdog_interval is None
    with trio.fail_after(0.001):
        await sd.run_watchdog()


async def test_no_ping_while_not_alive(autojump_clock, caplog):
    caplog.set_level(logging.INFO, logger="hanode.sdnotify")
    t0 = trio.current_time()

    def alive() -> bool:  # stalled from 0.25 s to 0.65 s
        return not 0.25 <= trio.current_time() - t0 < 0.65

    times, _ = await _pings({"WATCHDOG_USEC": "200000"}, 0.95, alive)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.7, 0.8, 0.9], abs=1e-9)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "not responsive" in errors[0].getMessage()  # said once per stall
    assert "responsive again" in caplog.text

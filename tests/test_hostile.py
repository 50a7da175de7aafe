"""A live agent fed hostile input (SPEC section 8): "No input, however
malformed or hostile, stops an agent or corrupts its state: the bad frame or
connection is dropped with a clear log line, every other connection carries
on."

One agent runs for the whole module (``python -m hanode run``, node ``beta``),
with honest parties played by the test (``hostile_util``): its peer ``alpha``
(active; beta is standby and accepts the link), a well-behaved process
component ``"1"``, and the status and HTTP listeners. Each test attacks one
socket, checks the agent's answer to the attacker (closed, refused, with the
log line that names the offence, for that attacker's port) and then
``assert_unharmed``: the agent runs, component 1's connection was never
closed and the agent keeps heartbeating it, the peer link was never closed
and beta keeps heartbeating alpha, beta is still ``standby`` on the status
port and on ``/status``, and the log shows no failure of component 1, no
loss of the peer, no change of role, no error or traceback.

The fake alpha heartbeats four times an interval (it once had to: a quiet
link could be replaced by any newcomer after one interval; now only after a
freeze's worth of silence). That hazard is pinned down on its own by
``test_a_stranger_never_replaces_a_quiet_peer_link``.

Limits come from the config in ``hostile_util``: max_frame, max_status_clients,
max_component_connections at their defaults (16384, 256, 1024),
handshake_timeout 5 s (the default too); the HTTP idle timeout is web.py's fixed 10 s.
"""

from __future__ import annotations

import random
import re
import resource
import select
import socket
import struct
import subprocess
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hanode.codec import (
    ElectionMessage,
    GetStatusResponse,
    HealthMonitorMessage,
    HeartBeat,
    NominationMessage,
    ReturnCode,
    Role,
    RoleMessage,
    ServiceStatusMessage,
    SetRole,
    SetRoleResponse,
    StatusIndication,
)
from hanode.errors import DecodeError, FrameError
from hanode.wire import COMPONENT_TYPES, MessageReader, frame_message

from hostile_util import (
    HANDSHAKE,
    HOST,
    HTTP_IDLE,
    INTERVAL,
    MAX_CLIENTS,
    MAX_COMPONENTS,
    MAX_FRAME,
    OK,
    PY,
    Harness,
    connect,
    env,
    is_open,
    local_port,
    send_quietly,
    status_query,
    wait_closed,
    wait_for,
)

pytestmark = pytest.mark.e2e

FLOOD = 2000                      # connections per port in the flood test
NOFILE = 2 * FLOOD + 512          # descriptors the test process (and the agent it starts) needs
GARBAGE = b"\xde\xad\xbe\xef" * 16  # type octet 0xbe: "unknown PDU type 190"
TYPE = {"component": 3, "status": 4}  # a type octet each socket accepts (monitor, status)
ADDR = HOST.replace(".", r"\.")
NOFILE_OK = False                 # set by the fixture: whether RLIMIT_NOFILE could be raised


def _raise_nofile() -> bool:
    """Raise the soft RLIMIT_NOFILE to NOFILE if the hard limit allows; the
    agent, started afterwards, inherits it. (The fixture restores it.)"""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= NOFILE:
        return True
    if hard != resource.RLIM_INFINITY and hard < NOFILE:
        return False
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, hard))
    except (ValueError, OSError):
        return False
    return True


@pytest.fixture(scope="module")
def harness(tmp_path_factory, request):
    """beta's agent with alpha, component 1, status and HTTP, up and standby."""
    global NOFILE_OK
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    NOFILE_OK = _raise_nofile()
    h = Harness(tmp_path_factory.mktemp("hostile"))
    failed = request.session.testsfailed
    try:
        h.start()
        yield h
    finally:
        h.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        if request.session.testsfailed > failed:
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            text = f"\n--- the agent's log ({h.log.path}), last lines ---\n{h.log.tail(120)}"
            (reporter.write_line if reporter is not None else print)(text)


def port_of(harness: Harness, kind: str) -> int:
    return {"component": harness.components, "status": harness.status,
            "peer": harness.election, "http": harness.http}[kind]


def closed_for_bad_input(kind: str, port: int, what: str) -> str:
    """The log line of a connection closed on a malformed frame; ``what``
    is the start of the reason, literally."""
    name = {"component": "component", "status": "status client"}[kind]
    return rf"WARNING +{name} connection \d+ from {ADDR}:{port}: closing it on bad input: {re.escape(what)}"


def refused_peer(port: int) -> str:
    """The log line of a second peer connection refused while the link is alive."""
    return rf"WARNING +refused a second peer connection from {ADDR}:{port}: the current link is alive"


def attack(harness: Harness, kind: str, data: bytes) -> tuple[int, float, bytes]:
    """Connect to ``kind``'s port, send ``data``, wait until the agent closes
    the connection: (our port, seconds from the send to the close, what the
    agent sent meanwhile)."""
    s = connect(port_of(harness, kind))
    with s:
        port = local_port(s)
        send_quietly(s, data)
        took, got = wait_closed(s)
    return port, took, got


# -- 1. garbage -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["component", "status", "peer", "http"])
def test_garbage(harness, kind):
    before = harness.counters()
    data = GARBAGE if kind != "http" else b"\xde\xad\xbe\xef\r\n\r\n"
    port, took, got = attack(harness, kind, data)
    if kind == "http":
        # h11 rejects the request line: a 400 that says why, then the close.
        # (At the default log level this leaves no line: see test_http_bad_request_is_logged.)
        assert got.startswith(b"HTTP/1.1 400 ") and b"bad request: illegal request line" in got, got
    else:
        assert got == b"", f"the agent answered garbage with {got!r}"
        # on the peer port, a second connection while the link is alive is refused unread
        pattern = refused_peer(port) if kind == "peer" else closed_for_bad_input(kind, port, "frame: unknown PDU type 190")
        harness.log.wait(pattern, before.log)
    assert took < HANDSHAKE, f"closed only after {took:.2f} s"
    harness.assert_unharmed(before)


# -- 2. truncated frames ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["component", "status"])
def test_truncated_frame_then_close(harness, kind):
    """A header announcing 100 octets, 10 sent, then our close: the agent
    drops the connection and its partial frame, and logs the disconnection."""
    before = harness.counters()
    s = connect(port_of(harness, kind))
    port = local_port(s)
    s.sendall(struct.pack(">HB", 100, TYPE[kind]) + b"\x09" * 10)
    s.close()
    name = "component" if kind == "component" else "status client"
    harness.log.wait(rf"INFO +{name} \d+ \({ADDR}:{port}\) disconnected: closed by the other side", before.log)
    harness.assert_unharmed(before)


def test_truncated_frame_is_named_in_the_log(harness):
    before = harness.counters()
    s = connect(harness.components)
    port = local_port(s)
    s.sendall(struct.pack(">HB", 100, 3) + b"\x09" * 10)
    s.close()
    line = harness.log.wait(rf"component \d+ \({ADDR}:{port}\) disconnected", before.log)[0]
    harness.assert_unharmed(before)
    assert any(w in line for w in ("truncated", "incomplete", "partial", "middle of a frame")), line


def test_truncated_frame_held_open_is_closed_after_handshake_timeout(harness):
    before = harness.counters()
    start = time.monotonic()  # before the connect: the agent's timer starts later
    s = connect(harness.components)
    with s:
        port = local_port(s)
        s.sendall(struct.pack(">HB", 100, 3) + b"\x09" * 10)
        _, got = wait_closed(s, HANDSHAKE + 10)
    took = time.monotonic() - start
    assert got == b""
    assert HANDSHAKE - 0.05 <= took < HANDSHAKE + 5, f"closed after {took:.2f} s, handshake_timeout is {HANDSHAKE:g} s"
    harness.log.wait(rf"component \d+ \({ADDR}:{port}\) disconnected: no PDU within {HANDSHAKE:g} s of connecting", before.log)
    harness.assert_unharmed(before)


# -- 3. an oversize length ---------------------------------------------------------------------------

@pytest.mark.parametrize("length", [MAX_FRAME + 1, 0xFFFF])
@pytest.mark.parametrize("kind", ["component", "status"])
def test_oversize_length_is_refused_from_the_header_alone(harness, kind, length):
    """Only the 3 header octets are sent: the agent must close at once, not
    wait for (or allocate) the announced payload."""
    before = harness.counters()
    port, took, got = attack(harness, kind, struct.pack(">HB", length, TYPE[kind]))
    assert got == b""
    assert took < HANDSHAKE - 1, f"closed after {took:.2f} s: not from the header"
    what = f"frame: payload length {length} exceeds this connection's limit of {MAX_FRAME} octets"
    harness.log.wait(closed_for_bad_input(kind, port, what), before.log)
    harness.assert_unharmed(before)


# -- 4. unknown and misplaced PDU types -----------------------------------------------------------------

@pytest.mark.parametrize("octet", [0, 5, 255])
@pytest.mark.parametrize("kind", ["component", "status", "peer"])
def test_unknown_pdu_type(harness, kind, octet):
    before = harness.counters()
    port, took, got = attack(harness, kind, struct.pack(">HB", 2, octet) + b"\x09\x00")
    assert got == b""
    pattern = refused_peer(port) if kind == "peer" else closed_for_bad_input(kind, port, f"frame: unknown PDU type {octet} ")
    harness.log.wait(pattern, before.log)
    harness.assert_unharmed(before)


MISPLACED = {
    "component": (ElectionMessage("1", NominationMessage("beta")), "PDU type 1 (election) is not allowed on this connection (allowed: role, monitor)"),
    "status": (RoleMessage("1", SetRole(Role.active)), "PDU type 2 (role) is not allowed on this connection (allowed: status)"),
    "peer": (ServiceStatusMessage("1", StatusIndication("active")), None),
}


@pytest.mark.parametrize("kind", sorted(MISPLACED))
def test_pdu_type_not_allowed_on_that_socket(harness, kind):
    """Valid PDUs on the wrong socket. On the peer port it comes from a second
    connection, which is refused unread while the link is alive."""
    before = harness.counters()
    msg, what = MISPLACED[kind]
    port, took, got = attack(harness, kind, frame_message(msg))
    assert got == b""
    harness.log.wait(refused_peer(port) if kind == "peer" else closed_for_bad_input(kind, port, f"frame: {what}"), before.log)
    harness.assert_unharmed(before)


# -- 5. undecodable payloads -------------------------------------------------------------------------

def _random_undecodable(pdu_type: int, seed: int) -> bytes:
    rng = random.Random(seed)
    while True:
        payload = rng.randbytes(rng.randint(1, 40))
        try:
            MessageReader({pdu_type}).feed(struct.pack(">HB", len(payload), pdu_type) + payload)
        except DecodeError:
            return payload


UNDECODABLE = [  # (socket, payload after a valid header of that socket's type, id)
    ("component", b"", "empty"),                                  # no PDU has an empty encoding
    ("component", b"\xff" * 8, "correlationId-of-31"),            # NumericString length 31 > 16
    ("component", bytes.fromhex("090630"), "choice-index-3"),     # CHOICE index 3 of 3
    ("component", _random_undecodable(3, 1), "random"),
    ("status", bytes.fromhex("ff"), "correlationId-of-31"),
    ("status", bytes.fromhex("090000"), "trailing-octet"),
    ("status", bytes.fromhex("0901"), "non-zero-padding"),
    ("status", _random_undecodable(4, 2), "random"),
]


@pytest.mark.parametrize(("kind", "payload"), [case[:2] for case in UNDECODABLE],
                         ids=[f"{kind}-{name}" for kind, _, name in UNDECODABLE])
def test_undecodable_payload(harness, kind, payload):
    before = harness.counters()
    port, took, got = attack(harness, kind, struct.pack(">HB", len(payload), TYPE[kind]) + payload)
    assert got == b""
    what = "frame 1 (monitor): " if kind == "component" else "frame 1 (status): "
    harness.log.wait(closed_for_bad_input(kind, port, what), before.log)
    harness.assert_unharmed(before)


# -- bad frames on the live peer link itself -----------------------------------------------------------------

LINK_ATTACKS = {
    "garbage": (GARBAGE, "frame: unknown PDU type 190"),
    "role PDU": (frame_message(RoleMessage("1", SetRole(Role.active))), r"frame: PDU type 2 \(role\) is not allowed"),
    "oversize": (struct.pack(">HB", 0xFFFF, 1), f"frame: payload length 65535 exceeds this connection's limit of {MAX_FRAME}"),
    "undecodable": (struct.pack(">HB", 8, 1) + b"\xff" * 8, r"frame \d+ \(election\): "),
}


@pytest.mark.parametrize("attack_name", sorted(LINK_ATTACKS))
def test_bad_frame_on_the_live_peer_link(harness, attack_name):
    """The peer itself sends a bad frame: that link is closed with a log line
    (it is the bad connection), alpha redials at once like a real dialling
    agent, and beta stays standby: no peer loss, no election."""
    before = harness.counters()
    data, what = LINK_ATTACKS[attack_name]
    port = local_port(wait_for(lambda: harness.peer.sock, "alpha connected"))
    harness.peer.send_raw(data)
    harness.log.wait(rf"WARNING +peer connection \d+ from {ADDR}:{port}: closing it on bad input: {what}", before.log)
    wait_for(lambda: harness.peer.link_ups > before.peer_link_ups, "alpha's new link up")
    harness.assert_unharmed(before, peer_closes=1)


# -- 6. slowloris -------------------------------------------------------------------------------------------

def trickle(s: socket.socket, data: bytes, every: float, timeout: float) -> tuple[float, bytes]:
    """Send ``data`` one octet every ``every`` seconds until the agent closes
    the connection: (seconds from the connect, what it sent meanwhile)."""
    start = time.monotonic()
    got = b""
    for octet in data:
        try:
            s.send(bytes([octet]))
        except OSError:
            return time.monotonic() - start, got
        deadline = time.monotonic() + every
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([s], [], [], left)[0]:
                continue
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return time.monotonic() - start, got
            got += chunk
        if time.monotonic() - start > timeout:
            break
    raise AssertionError(f"still open after {time.monotonic() - start:.1f} s of one octet every {every:g} s")


@pytest.mark.parametrize("kind", ["component", "http"])
def test_slowloris(harness, kind):
    """One octet every 0.5 s of a frame (request) that never completes: the
    component socket drops it after handshake_timeout, HTTP after its idle
    timeout, and neither answers meanwhile."""
    before = harness.counters()
    if kind == "component":
        data, limit = struct.pack(">HB", 200, 3) + b"\x09" * 200, HANDSHAKE
    else:
        data, limit = b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200, HTTP_IDLE
    start = time.monotonic()
    s = connect(port_of(harness, kind))
    with s:
        port = local_port(s)
        _, got = trickle(s, data, 0.5, limit + 10)
    took = time.monotonic() - start
    assert got == b"", f"the agent answered a request that never completed: {got!r}"
    assert limit - 0.05 <= took < limit + 5, f"dropped after {took:.2f} s, the limit is {limit:g} s"
    if kind == "component":
        harness.log.wait(rf"component \d+ \({ADDR}:{port}\) disconnected: no PDU within {HANDSHAKE:g} s of connecting", before.log)
    harness.assert_unharmed(before)


# -- 7. thousands of connections -------------------------------------------------------------------------------

def test_thousands_of_connections(harness):
    """FLOOD connections to the status port, then FLOOD silent ones to the
    component socket, all held open: the agent takes up to its limits,
    refuses the rest at once with a log line each, closes the silent
    components after handshake_timeout; component 1 and alpha notice nothing."""
    if not NOFILE_OK:
        pytest.skip(f"RLIMIT_NOFILE is {resource.getrlimit(resource.RLIMIT_NOFILE)} and cannot be raised to {NOFILE}")
    before = harness.counters()
    comps: list[socket.socket] = []
    clients: list[socket.socket] = []
    try:
        # Status clients have no first-PDU timeout: exactly the excess is refused.
        clients += [connect(harness.status) for _ in range(FLOOD)]
        refused = harness.log.wait(rf"WARNING +refused a status client from {ADDR}:\d+: {MAX_CLIENTS} connected \(limits\.max_status_clients\)",
                                   before.log, count=FLOOD - MAX_CLIENTS, timeout=30)
        assert len(refused) == FLOOD - MAX_CLIENTS
        wait_for(lambda: sum(is_open(s) for s in clients) == MAX_CLIENTS, f"{MAX_CLIENTS} status clients still open")
        assert harness.snapshot()["clients"] == MAX_CLIENTS
        assert status_query(harness.status) is None, "a status client beyond the limit was served"

        # Components: each flood connection is refused at once or, once
        # accepted, closed after handshake_timeout, with a line either way.
        comps += [connect(harness.components) for _ in range(FLOOD)]
        marker = connect(harness.components)  # accepted after every flood connection
        comps.append(marker)
        marker_port = local_port(marker)
        refused_c = rf"WARNING +refused a component from {ADDR}:(\d+): {MAX_COMPONENTS} connected \(limits\.max_component_connections\)"
        timed_out = rf"component \d+ \({ADDR}:(\d+)\) disconnected: no PDU within {HANDSHAKE:g} s of connecting"
        wait_for(lambda: len(harness.log.lines(f"{refused_c}|{timed_out}", before.log)) >= FLOOD + 1,
                 "a refusal or a handshake timeout for every flood component", 60)
        fates = {}  # port -> the first fate logged for it
        for line in harness.log.lines(f"{refused_c}|{timed_out}", before.log):
            m = re.search(refused_c, line) or re.search(timed_out, line)
            fates.setdefault(int(m.group(1)), "refused" if "refused" in line else "timed out")
        ours = {local_port(s) for s in comps}
        assert set(fates) == ours, "a flood connection with no line, or a line for another"
        n_refused = sum(1 for port, fate in fates.items() if fate == "refused" and port != marker_port)
        # Component 1 holds one slot. If the marker, accepted last, was
        # refused before any handshake timeout freed a slot, the agent took
        # exactly MAX_COMPONENTS - 1 and refused the rest; on a machine too
        # slow for that, freed slots were reused: fewer refusals.
        lines = harness.log.text(before.log).splitlines()
        first_timeout = next(i for i, line in enumerate(lines) if re.search(timed_out, line))
        marker_at = next(i for i, line in enumerate(lines) if re.search(rf"{ADDR}:{marker_port}\b", line))
        in_time = fates[marker_port] == "refused" and marker_at < first_timeout
        if in_time:
            assert n_refused == FLOOD - (MAX_COMPONENTS - 1), n_refused
        else:
            assert n_refused <= FLOOD - (MAX_COMPONENTS - 1), n_refused
        wait_for(lambda: not any(is_open(s) for s in comps), "every flood component closed by the agent")
    finally:
        for s in comps + clients:
            s.close()
    # (closed by us: an EOF, or a reset had the agent pushed something unread)
    harness.log.wait(rf"status client \d+ \({ADDR}:\d+\) disconnected: ", before.log, count=MAX_CLIENTS)
    assert harness.snapshot()["clients"] == 0
    harness.assert_unharmed(before)  # component 1 and alpha saw nothing, all along
    cli = subprocess.run([PY, "-m", "hanode", "status", f"{HOST}:{harness.status}", "--expect", "standby"],
                         capture_output=True, text=True, env=env(), timeout=30)
    assert (cli.returncode, cli.stdout) == (0, "standby\n"), cli


# -- 8. well-formed PDUs the agent must not accept ------------------------------------------------------------

def _heartbeat(cid: str, seq: str = "1") -> bytes:
    return frame_message(HealthMonitorMessage(seq, cid, HeartBeat(OK)))


VIOLATIONS = {
    # name: (socket, bind as component 2 first?, the offence, what the log says, literally)
    "unknown id": ("component", False, _heartbeat("7"), "unknown componentId '7' (configured: 1, 2)"),
    "id changed to 1": ("component", True, _heartbeat("1", "2"), "componentId changed from '2' to '1' on a bound connection"),
    "id changed to 7": ("component", True, _heartbeat("7", "2"), "componentId changed from '2' to '7' on a bound connection"),
    "role before heartbeat": ("component", False, frame_message(RoleMessage("1", SetRoleResponse(ReturnCode.success))),
                              "a role PDU before any monitor PDU"),
    "setRole from a component": ("component", True, frame_message(RoleMessage("9", SetRole(Role.active))),
                                 "component 2 sent a SetRole request; only the agent assigns roles"),
    "statusIndication from a client": ("status", False, frame_message(ServiceStatusMessage("", StatusIndication("active"))),
                                       "clients may only send getStatus, got StatusIndication"),
    "getStatusResponse from a client": ("status", False, frame_message(ServiceStatusMessage("3", GetStatusResponse("active"))),
                                        "clients may only send getStatus, got GetStatusResponse"),
}


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_wellformed_but_unacceptable(harness, name):
    """Valid frames and PDUs that break the rules of their socket (protocol.md
    section 2): closed, with a line naming the id or the PDU."""
    before = harness.counters()
    kind, bind, data, what = VIOLATIONS[name]
    s = connect(port_of(harness, kind))
    with s:
        port = local_port(s)
        if bind:  # a legitimate registration as component 2 first
            s.sendall(_heartbeat("2"))
            harness.log.wait(r"monitor: component 2 \(spare\) registered", before.log)
        send_quietly(s, data)
        wait_closed(s)
    what = re.escape(what)
    if kind == "component":
        harness.log.wait(rf"WARNING +monitor: closed a component connection: {what}", before.log)
        harness.log.wait(rf"component \d+ \({ADDR}:{port}\) disconnected: {what}", before.log)
    else:
        harness.log.wait(rf"WARNING +client: closed status client \d+: {what}", before.log)
        harness.log.wait(rf"status client \d+ \({ADDR}:{port}\) disconnected: {what}", before.log)
    harness.assert_unharmed(before)


# -- 9. random bytes (Hypothesis) ------------------------------------------------------------------------------

def _binds_component_1(data: bytes) -> bool:
    """Whether ``data``'s first PDU is a valid monitor PDU of component 1: it
    would legitimately replace the real one (the newest connection wins).
    Fed octet by octet: a valid first frame counts even if garbage follows."""
    reader = MessageReader(COMPONENT_TYPES)
    msgs: list = []
    try:
        for i in range(len(data)):
            msgs += reader.feed(data[i:i + 1])
            if msgs:
                break
    except (FrameError, DecodeError):
        pass
    return bool(msgs) and type(msgs[0]) is HealthMonitorMessage and msgs[0].component_id == "1"


random_input = st.one_of(
    st.binary(max_size=300),
    # a valid header for the socket's types, then anything: reaches the decoder
    st.builds(lambda t, p, tail: struct.pack(">HB", len(p), t) + p + tail,
              st.sampled_from([2, 3]), st.binary(max_size=40), st.binary(max_size=20)),
)


def test_random_bytes_on_the_component_socket(harness):
    before = harness.counters()

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=random_input)
    def one(data: bytes) -> None:
        assume(not _binds_component_1(data))
        s = connect(harness.components)
        with s:
            send_quietly(s, data)
        assert status_query(harness.status) == "standby"

    one()
    harness.assert_unharmed(before)


# -- bugs this file found, pinned down -------------------------------------------------------------------------------

def test_an_id_change_unbinds_the_component_at_once(harness):
    before = harness.counters()
    s = connect(harness.components)
    with s:
        s.sendall(_heartbeat("2"))
        harness.log.wait(r"monitor: component 2 \(spare\) registered", before.log)
        mark = harness.log.mark()
        s.sendall(_heartbeat("7", "2"))
        wait_closed(s)
    line = harness.log.wait(r"monitor: component 2 \(spare\) failed: ", mark)[0]
    harness.assert_unharmed(before)
    assert line.endswith("component 2 (spare) failed: its connection closed"), line


def test_a_stranger_never_replaces_a_quiet_peer_link(harness):
    before = harness.counters()
    harness.peer.paused.set()  # alpha sends nothing for a moment: late, not lost
    try:
        wait_for(lambda: harness.snapshot()["peer"]["heartbeat_age"] >= 1.5 * INTERVAL, "the link quiet for 1.5 intervals")
        port, took, got = attack(harness, "peer", GARBAGE)
    finally:
        harness.peer.paused.clear()
    harness.log.wait(rf"peer connection \d+ \({ADDR}:{port}\) closed|{refused_peer(port)}", before.log)
    assert got == b"", f"beta sent a stranger {got.hex(' ')} (its heartbeat)"
    harness.assert_unharmed(before)


def test_http_bad_request_is_logged(harness):
    before = harness.counters()
    port, took, got = attack(harness, "http", b"\xde\xad\xbe\xef\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 400 ")
    harness.assert_unharmed(before)
    harness.log.wait(r"(?i)http.*bad request", before.log, timeout=3)

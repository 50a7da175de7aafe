"""A real hanode pair on loopback, for the end-to-end tests (tests/test_e2e.py).

``Pair`` is :class:`hanode.localpair.LocalPair` (two agents ``alpha-<tag>``
and ``beta-<tag>``, one sample process component "1" and one marker command
component "2" per node, every process killed at teardown, guards included)
with what the tests want: timers scaled up for a loaded 2-core CI machine
(``TIMERS``), a set_role_timeout of 6 s and debug logs.

What is test-only lives here (the fixtures ``make_pair`` and ``pair`` are
in tests/conftest.py); observation never sleeps and hopes:

- ``StatusWatch`` is a status client (a thread) subscribed to one agent: it
  records the answer to its getStatus and every statusIndication, and
  reconnects when the agent goes away (recording ``None``);
- ``Sampler`` (a thread) reads both role files and both marker files every
  few milliseconds and records every change, so a test can check that the
  two nodes never held an active component at once and count the changes of
  active node.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time

from hanode.localpair import PY, SLOW_TIMERS, LocalPair, child_env, wait_for

TIMERS = SLOW_TIMERS
HOLD = 1.5  # seconds of observation after an outcome: more than dead_after intervals (0.8 s)


# -- status clients ------------------------------------------------------------------------------

class StatusWatch:
    """A subscribed status client in a thread: ``events`` is a list of
    ``(monotonic time, token)``; ``None`` marks a lost connection. The first
    token after each (re)connection is the getStatus answer."""

    def __init__(self, port: int, name: str = ""):
        self.port = port
        self.name = name
        self.events: list[tuple[float, str | None]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"status-watch-{name}", daemon=True)

    def __enter__(self) -> StatusWatch:
        self._thread.start()
        wait_for(lambda: self.tokens(), 10, f"the status watch on {self.name} to get its first answer")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def tokens(self) -> list[str | None]:
        return [t for _, t in list(self.events)]

    def last(self) -> str | None:
        ev = list(self.events)
        return ev[-1][1] if ev else None

    def _run(self) -> None:
        from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage, StatusIndication
        from hanode.wire import CLIENT_TYPES, MessageReader, frame_message

        while not self._stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
            except OSError:
                time.sleep(0.02)
                continue
            got_answer = False
            try:
                s.settimeout(0.05)
                s.sendall(frame_message(ServiceStatusMessage("1", GetStatus())))
                reader = MessageReader(CLIENT_TYPES)
                self.connected.set()
                while not self._stop.is_set():
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    for msg in reader.feed(data):
                        body = msg.message
                        if type(body) is GetStatusResponse:
                            got_answer = True
                            self.events.append((time.monotonic(), body.status))
                        elif type(body) is StatusIndication and got_answer:
                            # indications before the answer are older than it
                            self.events.append((time.monotonic(), body.status))
            except OSError:
                pass
            finally:
                s.close()
                self.connected.clear()
            if got_answer and not self._stop.is_set():
                self.events.append((time.monotonic(), None))
            time.sleep(0.02)


# -- the file sampler ------------------------------------------------------------------------------

class Sampler:
    """Samples both nodes' role files (component 1) and marker files (component 2).

    Each sample reads the four resources in one order, then again in the
    reverse order; a resource counts as active in a sample only if both reads
    said so. Since the first read of one node's resource and the last read of
    the same resource enclose both reads of the other node's, "both nodes
    active in one sample" means the two were really active at the same moment
    (given that a resource does not flap within a millisecond)."""

    RESOURCES = ("role_a", "marker_a", "role_b", "marker_b")

    def __init__(self, pair: Pair, period: float = 0.004):
        self.pair = pair
        self.period = period
        self.history: list[tuple[float, dict[str, bool], frozenset[str]]] = []  # changes only
        self.overlaps: list[tuple[float, dict[str, bool]]] = []
        self.samples = 0
        self.ignore: set[str] = set()  # resources not counted (e.g. a frozen process's stale file)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        wait_for(lambda: self.samples > 0, 5, "the sampler's first sample")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _read(self, name: str) -> bool:
        p = self.pair
        if name == "role_a":
            return p.role("alpha") == "active"
        if name == "role_b":
            return p.role("beta") == "active"
        if name == "marker_a":
            return p.marker("alpha")
        return p.marker("beta")

    def _run(self) -> None:
        last = None
        while not self._stop.is_set():
            first = {r: self._read(r) for r in self.RESOURCES}
            second = {r: self._read(r) for r in reversed(self.RESOURCES)}
            t = time.monotonic()
            ignored = frozenset(self.ignore)
            both = {r: first[r] and second[r] and r not in ignored for r in self.RESOURCES}
            if (both["role_a"] or both["marker_a"]) and (both["role_b"] or both["marker_b"]):
                self.overlaps.append((t, both))
            state = {r: second[r] for r in self.RESOURCES}
            if (state, ignored) != last:
                self.history.append((t, state, ignored))
                last = (state, ignored)
            self.samples += 1
            time.sleep(self.period)

    def active_nodes(self) -> list[str]:
        """The successive nodes that held an active resource (a role file or a
        marker; ignored resources not counted), consecutive repeats and
        moments with none collapsed."""
        seq: list[str] = []
        for _, state, ignored in self.history:
            on = {r: v and r not in ignored for r, v in state.items()}
            a = on["role_a"] or on["marker_a"]
            b = on["role_b"] or on["marker_b"]
            holder = "alpha" if a and not b else "beta" if b and not a else "both" if a and b else None
            if holder is not None and (not seq or seq[-1] != holder):
                seq.append(holder)
        return seq

    def describe(self) -> str:
        if not self.history:
            return "no samples"
        t0 = self.history[0][0]
        lines = []
        for t, s, ignored in self.history:
            lines.append(f"  +{t - t0:7.3f}s " + " ".join(f"{r}={'A' if v else '-'}" for r, v in s.items())
                         + (f" (ignored: {', '.join(sorted(ignored))})" if ignored else ""))
        return "\n".join(lines)


# -- the pair ------------------------------------------------------------------------------------

class Pair(LocalPair):
    """A :class:`LocalPair` with the end-to-end tests' settings; keyword
    arguments override ``TIMERS`` (and ``set_role_timeout``, default 6 s)."""

    def __init__(self, **overrides):
        set_role_timeout = overrides.pop("set_role_timeout", 6.0)
        super().__init__(timers={**TIMERS, **overrides}, set_role_timeout=set_role_timeout,
                         log_level="debug", prefix="hne2e-")


# -- helpers of the tests -----------------------------------------------------------------------------

def hold(seconds: float = HOLD) -> None:
    """An observation window: the sampler and status watches keep recording."""
    time.sleep(seconds)


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """``hanode ARGS`` as a subprocess, its output captured."""
    return subprocess.run([PY, "-m", "hanode", *args], capture_output=True, text=True, env=child_env(), timeout=timeout)


def changes(watch: StatusWatch) -> list[str | None]:
    """The watch's tokens with consecutive repeats collapsed."""
    out: list[str | None] = []
    for t in watch.tokens():
        if not out or out[-1] != t:
            out.append(t)
    return out

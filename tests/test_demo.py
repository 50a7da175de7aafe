"""End-to-end: ``hanode demo``, as a person runs it.

``--check`` runs as a plain subprocess. The interactive demo runs in a
pseudo-terminal (pexpect) whose output feeds a terminal emulator (pyte), so
the test reads the screen a person would see, presses ``k`` and ``q`` as a
person would, and reads the screen again.

Both check afterwards that nothing of the run is left: no process whose
command line names the pair's folder (agents, components and the agents'
fencing guards all do), no folder, no guard lock file. Nothing sleeps and
hopes: every wait polls with a generous deadline, and no speed is asserted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pexpect
import pyte
import pytest

from hanode.localpair import PY, child_env, kill_pids, processes_mentioning, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ROWS, COLS = 30, 160
DEADLINE = 60.0
FOLDER = re.compile(r"/tmp/hanode-demo-[A-Za-z0-9_]+")
NAME = re.compile(r"\b(?:alpha|beta)-[0-9a-f]{6}\b")
STATE = re.compile(r"state\s+(\w+)\s+role\s+(\w+)\s+status\s+(\w+)")


def assert_nothing_left(folder: str, names: set[str]) -> None:
    """No process of the run, no folder, no guard lock file (polled: a killed
    process disappears from /proc once reaped)."""
    wait_for(lambda: not processes_mentioning(folder), 20, f"every process naming {folder} to be gone",
             describe=lambda: f"left: {processes_mentioning(folder)}")
    assert not os.path.exists(folder), f"{folder} was not removed"
    locks = [f"/tmp/hanode-{name}.guard.lock" for name in names]
    assert not any(os.path.exists(lock) for lock in locks), locks


def test_check_fails_over_and_leaves_nothing_running():
    r = subprocess.run([PY, "-m", "hanode", "demo", "--check"], capture_output=True, text=True,
                       env=child_env(), cwd=ROOT, timeout=300)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "failover: kill -9 of alpha-" in r.stdout and "ms later" in r.stdout, r.stdout
    assert "ok: one failover, no fail-back" in r.stdout, r.stdout
    folder = FOLDER.search(r.stdout)
    assert folder, r.stdout
    assert_nothing_left(folder.group(0), set(NAME.findall(r.stdout)))


# -- the screen -------------------------------------------------------------------------------------

class Terminal:
    """``hanode demo`` in a pseudo-terminal, and the screen it draws."""

    def __init__(self, *args: str):
        env = child_env()
        env["TERM"] = "xterm-256color"
        for var in ("COLUMNS", "LINES"):  # rich would take them over the terminal's size
            env.pop(var, None)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(PY, ["-m", "hanode", "demo", *args], dimensions=(ROWS, COLS), env=env,
                                   cwd=str(ROOT))

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def halves(self) -> tuple[str, str]:
        """The left (alpha) and right (beta) columns of the side-by-side dashboard."""
        half = COLS // 2
        lines = self.screen.display
        return "\n".join(line[:half] for line in lines), "\n".join(line[half:] for line in lines)

    def pump(self) -> bool:
        """Feed what the demo wrote to the screen; False at EOF."""
        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout=0.05))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def wait_screen(self, predicate, what: str, timeout: float = DEADLINE):
        """Read output until ``predicate(self)`` is truthy (returned); the screen in the message if not."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.pump()
            value = predicate(self)
            if value:
                return value
            if not alive or time.monotonic() > deadline:
                why = "the demo exited" if not alive else f"timed out after {timeout:g} s"
                raise AssertionError(f"{why} waiting for {what}; the screen:\n{self.text()}")

    def states(self) -> tuple[str | None, str | None]:
        """Each side's election state as drawn ("unreachable" for a side that is down)."""
        out = []
        for half in self.halves():
            m = STATE.search(half)
            out.append(m.group(1) if m else "unreachable" if "unreachable" in half else None)
        return out[0], out[1]

    def stop(self) -> None:
        """If the demo is still running: SIGTERM (it cleans up), then SIGKILL."""
        if not self.child.isalive():
            return
        self.child.kill(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump()
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)


def test_screen_shows_the_failover_when_the_active_agent_is_killed():
    term = Terminal("--slow")
    folder = None
    try:
        def elected(t: Terminal):
            # The folder is in the footer, drawn last: a frame drawn that far has both nodes.
            text, states = t.text(), t.states()
            if FOLDER.search(text) and len(set(NAME.findall(text))) >= 2 \
                    and sorted(states, key=str) == ["active", "standby"]:
                return states
            return None

        left, right = term.wait_screen(elected, "both nodes on screen, one active and the other standby")
        folder = FOLDER.search(term.text()).group(0)
        names = set(NAME.findall(term.text()))
        assert re.search(r"alpha-[0-9a-f]{6}", term.halves()[0]), term.text()  # alpha on the left
        killed = 0 if left == "active" else 1

        term.child.send("k")
        term.wait_screen(lambda t: t.states()[1 - killed] == "active"
                         and t.states()[killed] in ("unreachable", "standby"),
                         "the other node active and the killed one unreachable")
        term.wait_screen(lambda t: "demo: killed" in t.text(), "the key press among the demo's events")

        term.child.send("q")
        term.child.expect(pexpect.EOF, timeout=20)
        term.child.close()
        assert term.child.exitstatus == 0, (term.child.exitstatus, term.child.signalstatus)
        assert_nothing_left(folder, names)
    finally:
        term.stop()
        if folder is not None:  # never leave a failed test's pair behind
            kill_pids(processes_mentioning(folder))

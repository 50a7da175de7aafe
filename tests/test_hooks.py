"""hanode.hooks: a real notify command, run by /bin/sh, in real time.

The hook scripts live in tmp_path and append one line per call to a file;
the tests read that file. Bounds on durations are generous (a loaded CI
machine starts /bin/sh slowly); every test is capped by ``fail_after``.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import trio

from hanode.hooks import Notifier

CAP = 20  # seconds: no test here may take longer


def script(tmp_path: Path, body: str) -> str:
    """A notify command: ``/bin/sh SCRIPT`` with ``body``; ``$OUT`` is out.txt."""
    path = tmp_path / "notify.sh"
    path.write_text(f'OUT={shlex.quote(str(tmp_path / "out.txt"))}\n{body}\n')
    return f"/bin/sh {shlex.quote(str(path))}"


def lines(tmp_path: Path) -> list[str]:
    out = tmp_path / "out.txt"
    return out.read_text().splitlines() if out.exists() else []


async def wait_for(predicate, what: str, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


def alive_in_group(pgid: int) -> list[int]:
    """Pids of processes in group ``pgid`` that are not zombies."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            found.append(int(entry))
    return found


RECORD = 'echo "$1 $2 $HANODE_SEQUENCE $HANODE_NODE" >> "$OUT"'


async def test_rapid_changes_arrive_in_order_once_each(tmp_path):
    notifier = Notifier(script(tmp_path, RECORD), "alpha", timeout=5)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            notifier.notify("electing", "standby")
            notifier.notify("standby", "promoting")
            notifier.notify("promoting", "active")
            assert notifier.pending == 3
            await wait_for(lambda: len(lines(tmp_path)) == 3, "three calls")
            await trio.sleep(0.2)  # and no fourth
            notifier.close()
    assert lines(tmp_path) == [
        "electing standby 1 alpha",
        "standby promoting 2 alpha",
        "promoting active 3 alpha",
    ]


async def test_arguments_and_environment(tmp_path):
    body = 'printf "%s|%s|%s|%s|%s|%s|%s|%s\\n" "$#" "$1" "$2" "$HANODE_NODE" "$HANODE_OLD_STATUS" "$HANODE_NEW_STATUS" "$HANODE_SEQUENCE" "$HANODE_TIMESTAMP" >> "$OUT"'
    odd = "it's \"$HOME\" `true`; *"  # nothing in it may be expanded or split
    notifier = Notifier(script(tmp_path, body), "node 'a'", timeout=5)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            notifier.notify("standby", odd)
            notifier.close()
    (line,) = lines(tmp_path)
    count, one, two, node, old, new, seq, stamp = line.split("|")
    assert (count, one, two, node, old, new, seq) == ("2", "standby", odd, "node 'a'", "standby", odd, "1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert before <= datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) <= datetime.now(timezone.utc)


async def test_a_slow_hook_never_blocks_the_caller(tmp_path):
    # The first call sleeps 1 s; the agent's side must not notice.
    body = f'if [ "$HANODE_SEQUENCE" = 1 ]; then touch "$OUT.started"; sleep 1; fi\n{RECORD}'
    notifier = Notifier(script(tmp_path, body), "alpha", timeout=10)
    ticks = 0

    async def ticker() -> None:  # stands for the agent's other tasks
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            nursery.start_soon(ticker)
            notifier.notify("electing", "standby")
            await wait_for(lambda: (tmp_path / "out.txt.started").exists(), "the slow call to start")
            ticks_then, t0 = ticks, time.monotonic()
            durations = []
            for old, new in [("standby", "promoting"), ("promoting", "active")]:
                start = time.perf_counter()
                notifier.notify(old, new)
                durations.append(time.perf_counter() - start)
            assert max(durations) < 0.01
            assert lines(tmp_path) == []  # the slow call is still running
            await wait_for(lambda: len(lines(tmp_path)) == 3, "all three calls")
            slept = time.monotonic() - t0
            assert ticks - ticks_then >= slept / 0.01 / 4  # the ticker ran throughout (a quarter of its ideal rate)
            notifier.close()
            nursery.cancel_scope.cancel()
    assert lines(tmp_path) == ["electing standby 1 alpha", "standby promoting 2 alpha", "promoting active 3 alpha"]


async def test_a_failing_hook_is_logged_and_the_next_runs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="hanode.hooks")
    body = f'if [ "$HANODE_SEQUENCE" = 1 ]; then echo "cannot reach the pager" >&2; exit 3; fi\n{RECORD}'
    notifier = Notifier(script(tmp_path, body), "alpha", timeout=5)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            notifier.notify("standby", "active")
            notifier.notify("active", "stopping")
            notifier.close()
    assert lines(tmp_path) == ["active stopping 2 alpha"]
    (failure,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert failure.name == "hanode.hooks"
    message = failure.getMessage()
    assert "call 1 (standby -> active)" in message
    assert "exit 3" in message and "cannot reach the pager" in message


async def test_a_hanging_hook_is_killed_with_its_group(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="hanode.hooks")
    # The first call records its process group (field 5 of /proc/PID/stat),
    # starts a child in it and waits forever.
    body = (f'if [ "$HANODE_SEQUENCE" = 1 ]; then set -- $(cat /proc/$$/stat); echo $5 > "$OUT.pgid"; '
            f'sleep 30 & echo $! > "$OUT.child"; wait; fi\n{RECORD}')
    notifier = Notifier(script(tmp_path, body), "alpha", timeout=0.5)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            start = time.monotonic()
            notifier.notify("standby", "active")
            notifier.notify("active", "standby")
            await wait_for(lambda: len(lines(tmp_path)) == 1, "the second call", timeout=10)
            elapsed = time.monotonic() - start
            notifier.close()
    assert 0.5 <= elapsed < 5
    assert lines(tmp_path) == ["active standby 2 alpha"]
    pgid = int((tmp_path / "out.txt.pgid").read_text())
    child = int((tmp_path / "out.txt.child").read_text())
    assert os.getpgid(child) == pgid  # the group really is the hook's (a zombie keeps its group)
    with trio.fail_after(2):  # the kernel may take a moment to finish them off
        while alive_in_group(pgid):
            await trio.sleep(0.01)
    (killed,) = caplog.records
    assert "call 1 (standby -> active) failed: killed after" in killed.getMessage()
    assert killed.getMessage().endswith(f"(0.5 s): {notifier.command}")  # the command, not our shell prefix


async def test_close_drains_what_is_queued(tmp_path):
    notifier = Notifier(script(tmp_path, f"sleep 0.2\n{RECORD}"), "alpha", timeout=5, drain_timeout=10)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            notifier.notify("electing", "standby")
            notifier.notify("standby", "promoting")
            notifier.notify("promoting", "active")
            notifier.close()  # at once: all three are still to run
            notifier.notify("active", "stopping")  # too late: refused, not queued
    # the nursery ended by itself: run() returned once the queue was empty
    assert lines(tmp_path) == ["electing standby 1 alpha", "standby promoting 2 alpha", "promoting active 3 alpha"]
    assert notifier.pending == 0


async def test_the_drain_bound_kills_and_drops_and_says_so(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="hanode.hooks")
    notifier = Notifier(script(tmp_path, f"sleep 0.4\n{RECORD}"), "alpha", timeout=5, drain_timeout=0.6)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            for old, new in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]:
                notifier.notify(old, new)
            start = time.monotonic()
            notifier.close()
    elapsed = time.monotonic() - start
    assert 0.6 <= elapsed < 3  # returned at the bound, not after all four
    assert lines(tmp_path) == ["a b 1 alpha"]
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = error.getMessage()
    assert "shutdown bound (0.6 s)" in message
    assert "call 2 (b -> c) was killed unfinished" in message
    assert "not run: 3 (c -> d), 4 (d -> e)" in message


async def test_a_cancelled_runner_says_what_it_did_not_run(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="hanode.hooks")
    notifier = Notifier(script(tmp_path, f"sleep 5\n{RECORD}"), "alpha", timeout=10)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            notifier.notify("a", "b")
            notifier.notify("b", "c")
            await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "cancelled" in error.getMessage() and "not run: 2 (b -> c)" in error.getMessage()
    notifier.notify("c", "d")  # nobody would run it: refused with a warning, not queued
    assert notifier.pending == 0
    assert "c -> d came after the hook was closed" in caplog.text


async def test_notify_before_the_runner_starts_is_kept(tmp_path):
    notifier = Notifier(script(tmp_path, RECORD), "alpha", timeout=5)
    notifier.notify("electing", "standby")
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            notifier.close()
    assert lines(tmp_path) == ["electing standby 1 alpha"]


@pytest.mark.parametrize("command", ["false", "exit 7"])
async def test_failures_do_not_stop_the_runner(tmp_path, command, caplog):
    caplog.set_level(logging.WARNING, logger="hanode.hooks")
    notifier = Notifier(command, "alpha", timeout=5)
    with trio.fail_after(CAP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notifier.run)
            for i in range(3):
                notifier.notify(str(i), str(i + 1))
            notifier.close()
    assert [r.getMessage().split(" failed")[0] for r in caplog.records] == [
        "notify hook call 1 (0 -> 1)", "notify hook call 2 (1 -> 2)", "notify hook call 3 (2 -> 3)",
    ]

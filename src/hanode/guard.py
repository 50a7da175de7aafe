"""The fencing guard of command components (SPEC section 4).

keepalived leaves a virtual IP behind when it is killed; hanode does not. The
agent starts this small process (plain Python, no Trio, its own session so a
signal to the agent's group does not reach it) and writes one byte to its
stdin every heartbeat interval. When nothing arrives for ``fence_after``
seconds (``dead_after - 1`` intervals: the agent is frozen) or stdin closes
(the agent is gone, however it died), the guard runs every command
component's ``on_standby``, each under its ``command_timeout``. Commands
must be idempotent. If a frozen agent comes back, the guard writes
``fenced`` on stdout so the agent gives those components its role again. On
EOF the guard fences and exits; on SIGTERM too.

The guard holds an exclusive lock on ``--lock`` for its whole life: a
restarted agent takes that lock first, so it waits for its predecessor's
guard to finish fencing before it runs any ``on_active``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import time

from hanode.logs import setup_logging

log = logging.getLogger("hanode.guard")


def fence(commands: list[tuple[str, str, float]], why: str) -> None:
    """Run every ``on_standby``, in parallel, each under its timeout."""
    log.warning("guard: fencing (%s)", why)
    running = []
    for component_id, line, timeout in commands:
        process = subprocess.Popen(["/bin/sh", "-c", line], stdin=subprocess.DEVNULL, start_new_session=True)
        running.append((component_id, line, process, time.monotonic() + timeout))
    for component_id, line, process, deadline in running:
        try:
            code = process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = "killed after command_timeout"
        log.log(logging.INFO if code == 0 else logging.ERROR, "guard: component %s on_standby: %s: %s", component_id, code, line)


def guard(commands: list[tuple[str, str, float]], fence_after: float, stdin_fd: int = 0) -> int:
    """Watch the agent's pulse on ``stdin_fd`` until it ends."""
    fenced = False
    terminated = []
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the agent's terminal is not for us
    while not terminated:
        try:
            ready, _, _ = select.select([stdin_fd], [], [], fence_after)
        except InterruptedError:
            continue
        if not ready:
            if not fenced:
                fence(commands, f"no pulse from the agent for {fence_after:g} s")
                fenced = True
            continue
        data = os.read(stdin_fd, 4096)
        if not data:
            if not fenced:
                fence(commands, "the agent is gone")
            return 0
        if fenced:
            fenced = False
            try:
                print("fenced", flush=True)  # the agent is back: it must re-assign roles
            except BrokenPipeError:
                pass
    if not fenced:
        fence(commands, "terminated")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hanode.guard")
    parser.add_argument("--spec", required=True, help='JSON: {"fence_after": s, "commands": [[id, on_standby, timeout], ...], '
                        '"node": name, "log_format": "text" or "json"}')
    parser.add_argument("--lock", required=True, help="lock file held while this guard lives")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    # Its lines go where the agent's go (the agent hands over its log stream as
    # our stderr), in the agent's format.
    setup_logging(spec.get("node", "?"), fmt=spec.get("log_format", "text"))
    lock = os.open(args.lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel when we exit
    print("ready", flush=True)
    return guard([tuple(c) for c in spec["commands"]], float(spec["fence_after"]))


if __name__ == "__main__":
    raise SystemExit(main())

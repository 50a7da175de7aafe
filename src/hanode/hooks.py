"""The ``notify`` hook: an operator's command run on every status change.

keepalived's notify scripts, without their skipped or duplicated calls. The
agent calls :meth:`Notifier.notify` from its event handling; a runner task,
:meth:`Notifier.run`, carries the calls out. What is guaranteed:

- **Once each, in order.** Every change passed to ``notify`` is queued (no
  coalescing, no bound on the queue) and run exactly once, in the order the
  changes happened. ``HANODE_SEQUENCE`` numbers them 1, 2, 3... in this
  agent's life, so a gap in what a hook recorded is visible.
- **Never concurrent.** One call at a time: a call starts after the one
  before it has ended.
- **A slow hook delays later hook calls, never the agent.** ``notify`` only
  appends to the queue and wakes the runner; it never waits.
- **Bounded.** Each call runs under ``timeout``; past it the call's whole
  process group is killed (SIGKILL), which is logged, and the next call
  runs. A failure is logged with its exit status and the tail of its output.
- **Drained on shutdown.** After :meth:`Notifier.close` the runner runs what
  is still queued, then returns; if that takes longer than
  ``drain_timeout``, the running call is killed, the rest is dropped, and
  the log names every call that did not run to its end.

Not guaranteed: delivery across restarts (a new agent starts again at
sequence 1; a call cut short by a crash is lost), and that a killed call did
nothing. Hooks should be quick and idempotent.

How the command is run: ``/bin/sh -c 'COMMAND "$@"'`` with the old and new
status as ``$1`` and ``$2``, so ``notify = "/etc/hanode/notify.sh"`` runs
``/etc/hanode/notify.sh OLD NEW`` with no quoting to get wrong (the
arguments go to the command line's last command). Its environment adds
``HANODE_NODE``, ``HANODE_OLD_STATUS``, ``HANODE_NEW_STATUS``,
``HANODE_SEQUENCE`` and ``HANODE_TIMESTAMP`` (when the change happened,
ISO 8601 UTC with milliseconds, e.g. ``2024-05-01T12:00:00.123Z``). stdin
is /dev/null; stdout and stderr are captured for the log.
"""

from __future__ import annotations

import logging
import math
import shlex
import time
from collections import deque
from dataclasses import dataclass

import trio

from hanode.agent.agent import run_shell
from hanode.logs import iso_utc

__all__ = ["Notifier"]

log = logging.getLogger("hanode.hooks")


@dataclass(frozen=True)
class _Call:
    sequence: int
    old: str
    new: str
    at: float  # wall-clock time of the change

    def __str__(self) -> str:
        return f"{self.sequence} ({self.old} -> {self.new})"


class Notifier:
    """Runs ``command OLD NEW`` once per status change, in order, one at a time.

    Start the runner with ``await nursery.start(notifier.run)``; pass
    ``notifier.notify`` to the agent's ``status_hooks``; at shutdown call
    ``close()`` and let ``run()`` return (it takes at most about
    ``drain_timeout`` seconds more)."""

    def __init__(self, command: str, node: str, timeout: float, *, drain_timeout: float = 3.0):
        self.command = command
        self.node = node
        self.timeout = timeout
        self.drain_timeout = drain_timeout
        self._queue: deque[_Call] = deque()
        self._sequence = 0
        self._wakeup = trio.Event()
        self._closed = False
        self._drain_deadline = math.inf
        self._scope: trio.CancelScope | None = None

    @property
    def pending(self) -> int:
        """Calls queued and not yet started."""
        return len(self._queue)

    def notify(self, old: str, new: str) -> None:
        """Queue one call for the change ``old`` -> ``new``. Synchronous; never blocks."""
        if self._closed:
            log.warning("notify hook: %s -> %s came after the hook was closed: not run", old, new)
            return
        self._sequence += 1
        self._queue.append(_Call(self._sequence, old, new, time.time()))
        self._wakeup.set()

    def close(self) -> None:
        """No more calls: the runner runs what is queued, within
        ``drain_timeout`` seconds from now, then returns. Call it from Trio."""
        if self._closed:
            return
        self._closed = True
        self._drain_deadline = trio.current_time() + self.drain_timeout
        if self._scope is not None:
            self._scope.deadline = min(self._scope.deadline, self._drain_deadline)
        self._wakeup.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run the queued calls one at a time until closed and drained."""
        current: _Call | None = None
        task_status.started()
        # The drain bound is this scope's deadline, set by close(): it cuts the
        # running call short (run_shell kills its process group) and ends the loop.
        scope = trio.CancelScope(deadline=self._drain_deadline)
        self._scope = scope
        try:
            with scope:
                while True:
                    if self._queue:
                        current = self._queue.popleft()
                        await self._deliver(current)
                        current = None
                    elif self._closed:
                        return
                    else:
                        self._wakeup = trio.Event()
                        await self._wakeup.wait()
        finally:
            self._scope = None
            self._closed = True  # a runner that is gone takes no more calls
            unrun = list(self._queue)
            self._queue.clear()
            if current is not None or unrun:
                why = (f"the shutdown bound ({self.drain_timeout:g} s) passed" if scope.cancelled_caught
                       else "the hook runner was cancelled")
                log.error(
                    "notify hook: %s: %s%s", why,
                    f"call {current} was killed unfinished; " if current is not None else "",
                    "not run: " + ", ".join(map(str, unrun)) if unrun else "every other call ran",
                )

    async def _deliver(self, call: _Call) -> None:
        line = self._line(call)
        try:
            ok, detail = await run_shell(line, self.timeout)
        except OSError as e:  # /bin/sh could not even be started (fork failed, ...)
            ok, detail = False, f"could not start: {e}"
        # run_shell names the line it ran; the operator knows their command, not our prefix.
        detail = detail.replace(line, self.command)
        if ok:
            log.debug("notify hook call %s: %s", call, detail)
        else:
            log.warning("notify hook call %s failed: %s", call, detail)

    def _line(self, call: _Call) -> str:
        """The shell line for ``call``: run_shell runs a line, so the environment
        and the arguments are set inside it, every value quoted by shlex."""
        q = shlex.quote
        env = {
            "HANODE_NODE": self.node,
            "HANODE_OLD_STATUS": call.old,
            "HANODE_NEW_STATUS": call.new,
            "HANODE_SEQUENCE": str(call.sequence),
            "HANODE_TIMESTAMP": iso_utc(call.at),
        }
        exports = " ".join(f"{key}={q(value)}" for key, value in env.items())
        return f'export {exports}; set -- {q(call.old)} {q(call.new)}; {self.command} "$@"'

"""systemd readiness, status and watchdog (sd_notify(3)), in a few lines of stdlib.

sd_notify is one datagram of newline-separated ``KEY=VALUE`` assignments
sent to the AF_UNIX socket named by ``$NOTIFY_SOCKET``: a filesystem path, or
``@name`` for a Linux abstract socket (sent as a leading NUL byte). When the
variable is unset the process is not under a ``Type=notify`` unit and every
call here does nothing. Other address kinds (``vsock:``) are not supported:
they are reported once and then ignored.

The watchdog follows ``sd_watchdog_enabled(3)``: it is on when
``$WATCHDOG_USEC`` is a positive integer and ``$WATCHDOG_PID`` is unset or
names this process (checked when asked, so a forked child never pings for
its parent). :meth:`SystemdNotifier.run_watchdog` pings at half that
interval, as the man page recommends, and skips the ping while the agent
says it is not alive, so systemd restarts an agent whose loop still runs but
whose work has stalled (a loop that does not run pings nobody anyway).

Sending never raises and never blocks the Trio loop (the socket is
non-blocking): a failure is logged once, and again only after a success.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

import trio

__all__ = ["SystemdNotifier"]

log = logging.getLogger("hanode.sdnotify")


class SystemdNotifier:
    """Talks to systemd through ``$NOTIFY_SOCKET``; a no-op when it is unset.

    ``environ`` defaults to ``os.environ`` (read once, here); tests pass their own."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.address: str | None = _address(env.get("NOTIFY_SOCKET"))
        self._watchdog_usec = _positive_int(env.get("WATCHDOG_USEC"), "WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        # A WATCHDOG_PID that is not a pid matches no process: no pings (sd_watchdog_enabled fails too).
        self._watchdog_pid = None if pid is None else _positive_int(pid, "WATCHDOG_PID") or -1
        self._socket: socket.socket | None = None
        self._failing = False  # the last send failed (and was logged)

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify."""
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None
        when systemd expects none from this process."""
        if self.address is None or self._watchdog_usec is None:
            return None
        if self._watchdog_pid is not None and self._watchdog_pid != os.getpid():
            return None
        return self._watchdog_usec / 2e6

    # -- the messages ---------------------------------------------------------------
    def ready(self, status: str) -> None:
        """Start-up is complete (``Type=notify`` units become active now)."""
        self.notify(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, text: str) -> None:
        """The one-line status ``systemctl status`` shows."""
        self.notify(f"STATUS={_one_line(text)}")

    def stopping(self) -> None:
        """A graceful stop has begun."""
        self.notify("STOPPING=1")

    def watchdog(self) -> None:
        """One keep-alive ping."""
        self.notify("WATCHDOG=1")

    def notify(self, state: str) -> bool:
        """Send ``state`` as one datagram; whether it was sent. Never raises."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)  # a full receive queue is an error, not a stall
            self._socket.sendto(state.encode(), self.address)
        except OSError as e:
            if not self._failing:
                log.warning("cannot notify systemd at %s: %s (said once, until it works again)",
                            _shown(self.address), e)
            self._failing = True
            return False
        self._failing = False
        return True

    def close(self) -> None:
        """Close the socket (the next message opens it again)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # -- the watchdog ----------------------------------------------------------------
    async def run_watchdog(self, alive: Callable[[], bool] | None = None) -> None:
        """Ping every :attr:`watchdog_interval` seconds, on a fixed grid that does
        not drift, skipping a ping while ``alive()`` is false. Returns at once
        when the watchdog is off; otherwise runs until cancelled."""
        interval = self.watchdog_interval
        if interval is None:
            return
        log.info("systemd watchdog: pinging every %g s", interval)
        stalled = False
        deadline = trio.current_time()
        while True:
            if alive is None or alive():
                if stalled:
                    log.warning("the agent is responsive again: pinging the systemd watchdog again")
                    stalled = False
                self.watchdog()
            elif not stalled:
                stalled = True
                log.error("the agent is not responsive: not pinging the systemd watchdog, which restarts it")
            # After a stall longer than an interval, ping once and carry on from
            # now rather than firing the missed pings back to back.
            deadline = max(deadline + interval, trio.current_time())
            await trio.sleep_until(deadline)


def _address(value: str | None) -> str | None:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]  # Linux abstract namespace
    if value.startswith("/"):
        return value
    log.warning("NOTIFY_SOCKET=%s: only a path or an @abstract name is supported; not notifying systemd", value)
    return None


def _positive_int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        log.warning("%s=%r is not a positive integer: ignored", name, value)
        return None
    return number


def _one_line(text: str) -> str:
    # A newline would start a second assignment in the datagram.
    return " ".join(str(text).splitlines())


def _shown(address: str) -> str:
    return "@" + address[1:] if address.startswith("\0") else address

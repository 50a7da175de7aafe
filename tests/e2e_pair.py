"""A real hanode pair on loopback, for the end-to-end tests (tests/test_e2e.py).

``Pair`` is :class:`hanode.localpair.LocalPair` (two agents ``alpha-<tag>``
and ``beta-<tag>``, one sample process component "1" and one marker command
component "2" per node, every process killed at teardown, guards included)
with what the tests want: timers scaled up for a loaded 2-core CI machine
(``TIMERS``), a set_role_timeout of 6 s and debug logs.

What is test-only lives here (the fixtures ``make_pair`` and ``pair`` are
in tests/conftest.py); observation never sleeps and hopes: it is done by
:class:`hanode.localpair.StatusWatch` and :class:`hanode.localpair.Sampler`
(shared with the chaos benchmark).
"""

from __future__ import annotations

import subprocess
import time

from hanode.localpair import PY, SLOW_TIMERS, LocalPair, Sampler, StatusWatch, child_env

__all__ = ["TIMERS", "HOLD", "Pair", "Sampler", "StatusWatch", "hold", "cli", "changes"]

TIMERS = SLOW_TIMERS
HOLD = 1.5  # seconds of observation after an outcome: more than dead_after intervals (0.8 s)


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

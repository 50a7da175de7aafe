"""Fixtures shared by the end-to-end tests (tests/test_e2e.py, tests/test_operator_e2e.py)."""

from __future__ import annotations

import os

import pytest

from e2e_pair import Pair


@pytest.fixture
def make_pair(request):
    """``make_pair(cls=Pair, **overrides)`` makes a pair (not started). Every
    pair made in a test is killed at teardown; their logs are printed if the
    test failed, else their folders removed (unless HANODE_E2E_KEEP is set)."""
    pairs: list[Pair] = []
    failed_before = request.session.testsfailed

    def make(cls: type[Pair] = Pair, **overrides) -> Pair:
        p = cls(**overrides)
        pairs.append(p)
        return p

    yield make
    for p in pairs:
        p.stop_all()
    if request.session.testsfailed > failed_before:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        for p in pairs:
            text = p.log_tails()
            if reporter is not None:
                reporter.write_line("")
                reporter.write_line(text)
            else:
                print(text)
    elif not os.environ.get("HANODE_E2E_KEEP"):  # set it to keep the logs of passing tests
        for p in pairs:
            p.cleanup()


@pytest.fixture
def pair(make_pair) -> Pair:
    """A pair started and converged: alpha active, beta standby."""
    p = make_pair()
    p.start_all()
    p.wait_converged("alpha")
    return p

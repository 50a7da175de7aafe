"""hanode.logs: the text and JSON line formats, idempotent setup, level checks.

Each test installs the real handler on the root logger with its own stream
and removes it afterwards (the ``logging_to`` fixture), so pytest's own log
capture is left as it was.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from hanode.logs import log_target, setup_logging

# The format `hanode run` printed before this module (cli._Formatter).
TEXT_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) alpha (DEBUG|INFO|WARNING|ERROR)\s* (.*)$")


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if type(h).__module__ == "hanode.logs"]


@pytest.fixture
def logging_to():
    """Call setup_logging with a fresh StringIO; undo it (handler and level) afterwards."""
    root = logging.getLogger()
    level = root.level

    def setup(fmt: str = "text", level: str = "info") -> io.StringIO:
        stream = io.StringIO()
        setup_logging("alpha", level=level, fmt=fmt, stream=stream)
        return stream

    try:
        yield setup
    finally:
        for handler in _ours():
            root.removeHandler(handler)
        root.setLevel(level)


def test_text_lines_have_the_cli_shape(logging_to):
    stream = logging_to("text")
    logging.getLogger("hanode.agent").info("status: %s -> %s", "standby", "active")
    logging.getLogger("hanode.hooks").warning("notify hook call 1 failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (TEXT_LINE.match(line) for line in lines)
    assert first and second, lines
    assert first.group(2, 3) == ("INFO", "status: standby -> active")
    assert second.group(2, 3) == ("WARNING", "notify hook call 1 failed")
    # the level is padded to 7 characters, as cli._Formatter did
    assert lines[0][13:] == "alpha INFO    status: standby -> active"
    stamp = datetime.strptime(first.group(1), "%H:%M:%S.%f")
    now = datetime.now()
    assert abs((now - stamp.replace(year=now.year, month=now.month, day=now.day)).total_seconds()) < 5  # local time


def test_text_traceback_follows_the_line(logging_to):
    stream = logging_to("text")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("hanode").exception("the agent failed")
    lines = stream.getvalue().splitlines()
    assert TEXT_LINE.match(lines[0]).group(3) == "the agent failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: boom"


def test_json_lines_parse_and_carry_the_keys(logging_to):
    stream = logging_to("json")
    before = datetime.now(timezone.utc)
    logging.getLogger("hanode.agent").info("status: %s -> %s", "standby", 'act"ive\nx')
    logging.getLogger("hanode.sdnotify").error("cannot notify")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a newline in the message stays inside its line
    first, second = map(json.loads, lines)
    assert set(first) == {"ts", "level", "node", "logger", "msg"}
    assert first["level"] == "info" and second["level"] == "error"
    assert first["node"] == "alpha"
    assert first["logger"] == "hanode.agent" and second["logger"] == "hanode.sdnotify"
    assert first["msg"] == 'status: standby -> act"ive\nx'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"]), first["ts"]
    ts = datetime.strptime(first["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=0.002) <= ts <= datetime.now(timezone.utc)  # UTC, not local time


def test_json_carries_the_exception_text(logging_to):
    stream = logging_to("json")
    try:
        raise ValueError("bad frame")
    except ValueError:
        logging.getLogger("hanode.agent").exception("reading failed")
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["msg"] == "reading failed"
    assert entry["exc"].startswith("Traceback (most recent call last):")
    assert entry["exc"].endswith("ValueError: bad frame")


def test_level_filters(logging_to):
    stream = logging_to("text", level="warning")
    logging.getLogger("hanode.agent").info("hidden")
    logging.getLogger("hanode.agent").debug("hidden too")
    logging.getLogger("hanode.agent").warning("shown")
    assert [TEXT_LINE.match(line).group(3) for line in stream.getvalue().splitlines()] == ["shown"]
    stream = logging_to("text", level="debug")
    logging.getLogger("hanode.agent").debug("now shown")
    assert TEXT_LINE.match(stream.getvalue()).group(2, 3) == ("DEBUG", "now shown")


def test_setup_twice_keeps_one_handler_and_the_others(logging_to):
    root = logging.getLogger()
    others = [h for h in root.handlers if h not in _ours()]
    first = logging_to("text")
    second = logging_to("json")
    assert len(_ours()) == 1
    assert [h for h in root.handlers if h not in _ours()] == others  # pytest's capture untouched
    logging.getLogger("hanode").info("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["msg"] == "once"
    assert len(second.getvalue().splitlines()) == 1


def test_bad_level_names_the_valid_ones(logging_to):
    with pytest.raises(ValueError) as info:
        logging_to("text", level="verbose")
    message = str(info.value)
    assert "'verbose'" in message
    for name in ("debug", "info", "warning", "error"):
        assert name in message
    assert _ours() == []  # nothing installed


def test_bad_format_names_the_valid_ones(logging_to):
    with pytest.raises(ValueError, match=r"'xml'.*text, json"):
        logging_to("xml")


def test_log_target_is_what_setup_installed(logging_to):
    stream = logging_to("json")
    assert log_target() == ("json", stream)
    stream = logging_to("text")
    assert log_target() == ("text", stream)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_fencing_guard_logs_in_the_agents_format(fmt, tmp_path):
    """A real guard process: its agent goes away (stdin closes), it fences and
    says so on its stderr in ``fmt``, one line per command with its exit status."""
    spec = {"fence_after": 5.0, "commands": [["2", "true", 5.0], ["3", "exit 3", 5.0]], "node": "alpha", "log_format": fmt}
    guard = subprocess.run(
        [sys.executable, "-m", "hanode.guard", "--spec", json.dumps(spec), "--lock", str(tmp_path / "guard.lock")],
        input=b"...", capture_output=True, timeout=30, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert guard.returncode == 0 and guard.stdout == b"ready\n", guard
    lines = guard.stderr.decode().splitlines()
    assert len(lines) == 3, lines
    if fmt == "json":
        entries = [json.loads(line) for line in lines]
        assert {(e["node"], e["logger"]) for e in entries} == {("alpha", "hanode.guard")}
        got = [(e["level"], e["msg"]) for e in entries]
    else:
        matches = [TEXT_LINE.match(line) for line in lines]
        assert all(matches), lines
        got = [(m.group(2).lower(), m.group(3)) for m in matches]
    assert got[0] == ("warning", "guard: fencing (the agent is gone)")
    assert sorted(got[1:]) == [("error", "guard: component 3 on_standby: 3: exit 3"), ("info", "guard: component 2 on_standby: 0: true")]

"""The agent's log output: readable lines for a terminal, JSON lines for a collector.

:func:`setup_logging` installs one handler on the root logger, in one of two
formats:

- ``text``: ``HH:MM:SS.mmm NODE LEVEL   message`` in local time, the level
  padded to 7 characters, a traceback on the following lines. This is the
  format ``hanode run`` has always printed (``cli._Formatter``), copied
  exactly so nothing that reads agent logs has to change; it carries no
  logger name.
- ``json``: one object per line, keys ``ts`` (ISO 8601, UTC, milliseconds,
  ``Z``), ``level`` (lower case, as ``--log-level`` spells it), ``node``,
  ``logger``, ``msg``, and ``exc`` (the traceback text) only when there is
  one. A traceback stays inside its line, so a collector never splits it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import TextIO

__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "TextFormatter", "iso_utc", "log_target", "setup_logging"]

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("text", "json")


def iso_utc(t: float) -> str:
    """``t`` (seconds since the epoch) as ``2024-05-01T12:00:00.123Z``."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``HH:MM:SS.mmm NODE LEVEL   message``, then the traceback if any."""

    def __init__(self, node: str):
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        text = f"{stamp} {self.node} {record.levelname:<7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module doc for the keys)."""

    def __init__(self, node: str):
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": iso_utc(record.created),
            "level": record.levelname.lower(),
            "node": self.node,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """The handler setup_logging installs: its type is how a second call finds it."""

    def __init__(self, stream: TextIO, fmt: str):
        super().__init__(stream)
        self.fmt = fmt


def log_target() -> tuple[str, TextIO]:
    """The format and stream :func:`setup_logging` installed (``"text"`` and
    stderr before any call): where a helper process (the fencing guard)
    writes its lines, so that they land with the agent's, in its format."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _Handler):
            return handler.fmt, handler.stream
    return "text", sys.stderr


def setup_logging(node: str, *, level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` or above to ``stream`` (stderr by
    default) in format ``fmt`` ("text" or "json"), naming ``node``.

    Idempotent: a second call replaces the handler the first installed and
    leaves other handlers (pytest's, for one) alone. Raises ValueError for an
    unknown level or format, naming the valid ones."""
    number = LEVELS.get(level.lower()) if isinstance(level, str) else None
    if number is None:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use one of {', '.join(FORMATS)}")
    # sys.stderr is looked up now, not at import, so a replaced stderr is honoured
    handler = _Handler(sys.stderr if stream is None else stream, fmt)
    handler.setFormatter(TextFormatter(node) if fmt == "text" else JsonFormatter(node))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()  # a StreamHandler leaves its stream open: only logging's bookkeeping goes
    root.addHandler(handler)
    root.setLevel(number)

"""The cores are sans-IO: no trio, no clock, no socket, no sleep.

Every ``src/hanode/core/*.py`` is parsed with ``ast``; an import of a module
that does I/O, reads time or schedules, and any ``async def``/``await``/
``async for``/``async with``, fails. ``diagrams.py`` (the docs generator, run
by hand) may touch the file system through ``pathlib`` but is held to the
same list. At run time, importing ``hanode.core`` must not pull in trio.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "src" / "hanode" / "core"
FORBIDDEN = {
    "trio", "anyio", "asyncio", "socket", "time", "datetime", "threading",
    "select", "selectors", "subprocess", "os", "random",
}
FILES = sorted(CORE.glob("*.py"))


def violations(source: str, filename: str = "<src>") -> list[str]:
    """Every impure construct in ``source``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        else:
            names = []
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                found.append(f"{node.lineno}: imports {name}")
        if isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            found.append(f"{node.lineno}: {type(node).__name__}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append(f"{node.lineno}: __import__()")
    return found


def test_the_core_modules_are_all_checked():
    names = {f.name for f in FILES}
    assert {"election.py", "role.py", "monitor.py", "status.py", "node.py", "events.py", "settings.py", "table.py", "__init__.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_core_module_is_pure(path):
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import trio", ["1: imports trio"]),
        ("import os.path", ["1: imports os.path"]),
        ("from time import monotonic", ["1: imports time"]),
        ("from datetime import datetime as d", ["1: imports datetime"]),
        ("import json, socket", ["1: imports socket"]),
        ("def f():\n    import random", ["2: imports random"]),
        ("from asyncio import sleep", ["1: imports asyncio"]),
        ("import anyio.abc", ["1: imports anyio.abc"]),
        ("from threading import Lock", ["1: imports threading"]),
        ("import select, selectors, subprocess", ["1: imports select", "1: imports selectors", "1: imports subprocess"]),
        ("async def f():\n    await g()", ["1: AsyncFunctionDef", "2: Await"]),
        ("async def f():\n    async for x in y: pass\n    async with z: pass", ["1: AsyncFunctionDef", "2: AsyncFor", "3: AsyncWith"]),
        ("m = __import__('time')", ["1: __import__()"]),
        # Allowed: relative imports, look-alike names, pure standard modules.
        ("from . import time", []),
        ("from .events import Tick\nimport heapq\nimport timeit_like\nfrom dataclasses import dataclass", []),
        ("import oslo, randomness, sockets", []),
    ],
)
def test_the_checker_catches_what_it_must(source, expected):
    assert violations(textwrap.dedent(source)) == expected


def test_importing_the_cores_loads_no_trio():
    # Compared with what the interpreter had loaded before the import, so that
    # a site hook loading, say, threading does not count against the cores.
    code = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        import hanode.core, hanode.core.election, hanode.core.role, hanode.core.monitor
        import hanode.core.status, hanode.core.node, hanode.core.table, hanode.core.diagrams
        print("trio" in sys.modules)
        print(",".join(sorted(m.split(".")[0] for m in set(sys.modules) - before)))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    trio_loaded, new = r.stdout.split("\n")[:2]
    assert trio_loaded == "False"
    assert "hanode" in new.split(",")
    assert FORBIDDEN.isdisjoint(new.split(",")), f"importing the cores loaded {sorted(FORBIDDEN & set(new.split(',')))}"

"""The command line's handling of an operator's mistakes: one clear line, the
right exit status, nothing destroyed."""

from __future__ import annotations

import socket
from pathlib import Path

from hanode.cli import main
from hanode.config import loads


def _config(tmp_path: Path, listen_port: int, sock: Path) -> Path:
    text = f"""
[node]
name = "alpha"
[peer]
name = "beta"
address = "127.0.0.1:1"
[election]
listen = "127.0.0.1:{listen_port}"
startup_grace = 0.5
[components]
listen = "{sock}"
[[component]]
id = "1"
name = "db"
"""
    path = tmp_path / "alpha.toml"
    path.write_text(text)
    loads(text)  # valid: the failures below come from the machine, not the file
    return path


def test_a_busy_port_is_one_line_and_exit_1(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["run", "--config", str(_config(tmp_path, port, tmp_path / "a.sock"))])
    assert code == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert errors and f"cannot listen on 127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in err  # the operator's mistake: one line


def test_a_file_at_the_component_socket_path_is_never_removed(tmp_path, capsys):
    precious = tmp_path / "a.sock"
    precious.write_text("not a socket")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    code = main(["run", "--config", str(_config(tmp_path, port, precious))])
    assert code == 1
    assert precious.read_text() == "not a socket"
    err = capsys.readouterr().err
    assert any(" ERROR " in line and "is not a socket" in line for line in err.splitlines())
    assert "Traceback" not in err


def test_a_file_limit_too_low_for_the_limits_is_named_at_startup():
    # A real process with a low hard limit: the agent cannot raise it, and says what to change.
    import subprocess
    import sys

    from hanode.localpair import child_env

    script = (
        "import logging, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
        "from hanode.cli import _raise_file_limit\n"
        "from hanode.config import load\n"
        "_raise_file_limit(load(sys.argv[1]))\n"
        "print('soft', resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    example = str(Path(__file__).resolve().parent.parent / "examples" / "alpha.toml")
    out = subprocess.run([sys.executable, "-c", script, example], capture_output=True, text=True, env=child_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "only 256 open files are allowed (RLIMIT_NOFILE) but [limits] allow 1408 connections" in out.stdout
    assert "LimitNOFILE=" in out.stdout and "limits.max_component_connections" in out.stdout
    # With room to raise it, the soft limit goes up to the hard one, quietly.
    script2 = script.replace("(256, 256)", "(256, 4096)")
    out = subprocess.run([sys.executable, "-c", script2, example], capture_output=True, text=True, env=child_env(), timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "soft 4096" and "open files" not in out.stdout

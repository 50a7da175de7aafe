"""The ``hanode`` command line.

``main(argv)`` returns the exit status, so tests call it directly. Exit
statuses (SPEC section 7): ``run`` 0 after a clean stop, 2 on a config error,
1 on a failure; ``check-config`` 0 or 2; ``status`` 0 answered (with
``--expect``: 0 matches, 1 differs), 2 unreachable; ``switchover`` and
``maintenance`` 0 done, 1 refused or failed, 2 unreachable or bad config;
``demo`` 0 (with ``--check``: 0 when it saw the failover, 1 when not);
``keygen`` 0 written, 1 not.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import time

import trio

if sys.version_info < (3, 11):  # pragma: no cover - trio brings the backport there
    from exceptiongroup import BaseExceptionGroup

from hanode import __version__
from hanode.agent.connection import ListenError
from hanode.config import ConfigError, load, parse_endpoint
from hanode.logs import setup_logging

log = logging.getLogger("hanode")

NOTIFY_TIMEOUT = 10.0  # seconds: the notify hook, like command_timeout's default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hanode", description="HA failover agent for an active/standby pair.")
    parser.add_argument("--version", action="version", version=f"hanode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run this node's agent")
    run.add_argument("--config", required=True, help="the node's TOML file")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-format", default="text", choices=["text", "json"],
                     help="log lines for people (text) or one JSON object per line (json)")
    run.add_argument("--dashboard", default="auto", choices=["auto", "on", "off"],
                     help="the live dashboard: auto shows it when stdout is a terminal (default)")
    run.add_argument("--log-file", metavar="PATH",
                     help="with the dashboard on, where log lines go (default: hanode-NODE.log in the temp folder)")
    run.add_argument("--shutdown-timeout", type=float, default=15.0,
                     help="seconds a graceful stop may take before command components are fenced and the agent exits (default 15)")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True)

    status = sub.add_parser("status", help="ask an agent for the service status")
    status.add_argument("address", help="the agent's status listener, host:port")
    status.add_argument("--watch", action="store_true", help="then print every status change until interrupted")
    status.add_argument("--expect", metavar="STATUS", help="exit 0 if the status is STATUS, 1 if not")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer (default 2)")

    switchover = sub.add_parser("switchover", help="hand the active role to the peer (run on the active node)")
    switchover.add_argument("--config", required=True, help="this node's TOML file (for its control socket)")
    switchover.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the peer to take the role (default 10)")

    maintenance = sub.add_parser("maintenance", help="turn maintenance on or off: the node changes no role by itself")
    maintenance.add_argument("mode", choices=["on", "off"])
    maintenance.add_argument("--config", required=True, help="this node's TOML file (for its control socket)")

    keygen = sub.add_parser("keygen", help="write a new cluster key for [peer] key_file (copy it to both nodes)")
    keygen.add_argument("--out", required=True, metavar="FILE", help="the key file to create (owner-only; never overwritten)")

    from hanode import demo as demo_module

    demo = sub.add_parser("demo", help="run a complete pair on loopback and watch it fail over")
    demo_module.add_arguments(demo)

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "check-config":
        return _check_config(args)
    if args.command in ("switchover", "maintenance"):
        return _control(args)
    if args.command == "demo":
        return demo_module.run(args)
    if args.command == "keygen":
        return _keygen(args)
    return _status(args)


# -- run ----------------------------------------------------------------------------

def _load(path: str):
    """The configuration, or None after saying on stderr what is wrong."""
    try:
        return load(path)
    except ConfigError as e:
        print(f"hanode: {e}", file=sys.stderr)
        return None


def _run(args) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    dashboard = args.dashboard == "on" or (args.dashboard == "auto" and sys.stdout.isatty())
    log_file = None
    if dashboard:
        # Log lines written under a live display would tear it: they go to a file.
        log_file = args.log_file or os.path.join(tempfile.gettempdir(), f"hanode-{config.name}.log")
        print(f"hanode: logging to {log_file}", file=sys.stderr)
    setup_logging(config.name, level=args.log_level, fmt=args.log_format,
                  stream=open(log_file, "a", buffering=1) if log_file else None)
    _raise_file_limit(config)
    try:
        trio.run(_serve, config, args.shutdown_timeout, dashboard)
    except Exception as e:
        from hanode.agent.agent import GuardError

        known = _find(e, ListenError) or _find(e, GuardError)
        if known is not None:
            log.error("%s", known)  # the operator's mistake: one line, no traceback
        else:
            log.exception("the agent failed")
        return 1
    return 0


SPARE_FILES = 64        # listeners, the guard's pipes, commands, log files


def _raise_file_limit(config) -> None:
    """Raise the soft limit on open files to the hard one, and say so when
    even that cannot hold every connection the [limits] allow (accept would
    fail with EMFILE before the agent's own limits apply)."""
    import resource

    limits = config.limits
    needed = limits.max_component_connections + limits.max_status_clients + config.http_max_connections + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "only %d open files are allowed (RLIMIT_NOFILE) but [limits] allow %d connections: raise the limit "
            "(LimitNOFILE= under systemd, ulimit -n) or lower limits.max_component_connections / limits.max_status_clients",
            soft, needed,
        )


def _leaves(error: BaseException):
    """``error`` itself, or every exception inside Trio's exception groups."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _find(error: BaseException, kind: type) -> BaseException | None:
    """The first ``kind`` in ``error``, looking inside exception groups."""
    return next((e for e in _leaves(error) if isinstance(e, kind)), None)


async def _serve(config, shutdown_timeout: float, dashboard: bool = False) -> None:
    from hanode.agent.agent import Agent
    from hanode.hooks import Notifier
    from hanode.sdnotify import SystemdNotifier

    agent = Agent(config)
    systemd = SystemdNotifier()
    notifier = None
    if config.notify is not None:
        notifier = Notifier(config.notify, config.name, timeout=NOTIFY_TIMEOUT)
        agent.status_hooks.append(_first_from_none(notifier.notify))
    agent.status_hooks.append(lambda old, new: systemd.status(f"{config.name}: {new}"))
    # SIGHUP too: closing the terminal of a dashboard is a graceful stop, not a crash.
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with trio.open_nursery() as outer:
            if notifier is not None:
                await outer.start(notifier.run)
            try:
                await _serve_agent(agent, signals, shutdown_timeout, systemd, notifier, dashboard)
            finally:
                if notifier is not None:
                    notifier.close()  # the queued calls still run (bounded), then the runner ends
    systemd.close()
    log.info("stopped")


class _first_from_none:
    """A notify hook whose first call has OLD ``none`` (SPEC 7), whether the
    first change comes before the agent is up or after."""

    def __init__(self, notify):
        self.notify = notify
        self.started = False

    def start(self, status: str) -> None:
        if not self.started:
            self.started = True
            self.notify("none", status)

    def __call__(self, old: str, new: str) -> None:
        self.start(old)
        self.notify(old, new)


async def _serve_agent(agent, signals, shutdown_timeout: float, systemd, notifier, dashboard: bool) -> None:
    async with trio.open_nursery() as nursery:

        async def on_signals() -> None:
            async for signum in signals:
                log.info("%s: stopping (handing the role over if we hold it)", signal.Signals(signum).name)
                systemd.stopping()
                agent.shutdown()
                nursery.start_soon(force_stop)

        async def force_stop() -> None:
            await trio.sleep(shutdown_timeout)
            if not agent.finished.is_set():
                log.error("shutdown did not finish within %g s: fencing command components and exiting", shutdown_timeout)
                await agent.fence_commands()
                agent.stopped.set()

        await nursery.start(agent.run)
        for hook in agent.status_hooks:
            if isinstance(hook, _first_from_none):
                hook.start(agent.node.status.status)
        systemd.ready(f"{agent.config.name}: {agent.node.status.status}")  # every listener is up
        nursery.start_soon(systemd.run_watchdog)
        nursery.start_soon(on_signals)
        if dashboard:
            from hanode.dashboard import Dashboard

            nursery.start_soon(Dashboard().run, agent.snapshot)
        await agent.finished.wait()
        nursery.cancel_scope.cancel()


# -- check-config ----------------------------------------------------------------------

def _check_config(args) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    kinds = ", ".join(f"{c.id} {c.name} ({c.kind})" for c in config.components) or "none"
    print(f"{args.config}: ok: node {config.name}, peer {config.peer_name} at {config.peer_address}, components: {kinds}")
    return 0


# -- status ----------------------------------------------------------------------------------

def _status(args) -> int:
    try:
        endpoint = parse_endpoint(args.address, "address")
    except ConfigError as e:
        print(f"hanode status: {e}", file=sys.stderr)
        return 2
    try:
        return trio.run(_ask_status, endpoint, args)
    except BaseException as e:  # Ctrl-C, bare or wrapped in Trio's exception group
        if _only_interrupts(e):
            return 0
        raise


def _only_interrupts(error: BaseException) -> bool:
    return all(isinstance(e, KeyboardInterrupt) for e in _leaves(error))


async def _ask_status(endpoint, args) -> int:
    from hanode.agent.connection import Connection, connect
    from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage, StatusIndication
    from hanode.wire import CLIENT_TYPES

    answer: list[str] = []
    answered = trio.Event()

    def on_message(conn, msg) -> None:
        body = msg.message
        if type(body) is GetStatusResponse and msg.correlation_id == "1":
            answer.append(body.status)
            answered.set()
            print(body.status, flush=True)
        elif type(body) is StatusIndication and args.watch and answered.is_set():
            print(f"{time.strftime('%H:%M:%S')} {body.status}", flush=True)

    try:
        with trio.fail_after(args.timeout):
            stream = await connect(endpoint)
    except (OSError, trio.TooSlowError) as e:
        print(f"hanode status: cannot reach {endpoint}: {e or 'timed out'}", file=sys.stderr)
        return 2
    conn = Connection(stream, 0, "status", CLIENT_TYPES, max_payload=65535, queue=4,
                      on_message=on_message, on_closed=lambda c, reason: None)
    conn.send(ServiceStatusMessage("1", GetStatus()))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(conn.run)
        with trio.move_on_after(args.timeout):
            await answered.wait()
        if not answered.is_set():
            conn.close("no answer")
            print(f"hanode status: {endpoint} did not answer within {args.timeout:g} s", file=sys.stderr)
            return 2
        if not args.watch:
            conn.close("done")
    if args.expect is not None:
        return 0 if answer[0] == args.expect else 1
    return 0


# -- switchover, maintenance (the control socket) ---------------------------------------------

def _control(args) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    if config.control_path is None:
        print(f"hanode {args.command}: {args.config} has no [control] path; add one and restart the agent", file=sys.stderr)
        return 2
    if args.command == "switchover":
        request = {"command": "switchover", "timeout": args.timeout}
        wait = args.timeout + 5
    else:
        request = {"command": "maintenance", "on": args.mode == "on"}
        wait = 5.0
    try:
        reply = trio.run(_ask_control, config.control_path, request, wait)
    except (OSError, trio.TooSlowError) as e:
        print(f"hanode {args.command}: cannot reach the agent at {config.control_path}: {e or 'timed out'}; is it running?", file=sys.stderr)
        return 2
    if reply.get("ok"):
        print(reply.get("text", "done"))
        return 0
    print(f"hanode {args.command}: {reply.get('error', 'failed')}", file=sys.stderr)
    return 1


async def _ask_control(path: str, request: dict, wait: float) -> dict:
    """One request on the control socket; its JSON reply."""
    with trio.fail_after(wait):
        stream = await trio.open_unix_socket(path)
        async with stream:
            await stream.send_all(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                data += chunk
    try:
        return json.loads(data)
    except ValueError:
        return {"ok": False, "error": f"the agent gave no answer ({data[:80]!r})"}


# -- keygen ------------------------------------------------------------------------------------------------

def _keygen(args) -> int:
    from hanode.peerauth import write_key

    try:
        write_key(args.out)
    except FileExistsError:
        print(f"hanode keygen: {args.out} exists; a key is never overwritten (remove it first to replace it on both nodes)", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"hanode keygen: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"{args.out}: a new cluster key (owner-only). Copy it to the other node and set [peer] key_file on both.")
    return 0

"""The ``hanode`` command line.

``main(argv)`` returns the exit status, so tests call it directly. Exit
statuses (SPEC section 7): ``run`` 0 after a clean stop, 2 on a config error,
1 on a failure; ``check-config`` 0 or 2; ``status`` 0 answered (with
``--expect``: 0 matches, 1 differs), 2 unreachable.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

import trio

if sys.version_info < (3, 11):  # pragma: no cover - trio brings the backport there
    from exceptiongroup import BaseExceptionGroup

from hanode import __version__
from hanode.agent.connection import ListenError
from hanode.config import ConfigError, load, parse_endpoint

log = logging.getLogger("hanode")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hanode", description="HA failover agent for an active/standby pair.")
    parser.add_argument("--version", action="version", version=f"hanode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run this node's agent")
    run.add_argument("--config", required=True, help="the node's TOML file")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--shutdown-timeout", type=float, default=15.0,
                     help="seconds a graceful stop may take before command components are fenced and the agent exits (default 15)")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True)

    status = sub.add_parser("status", help="ask an agent for the service status")
    status.add_argument("address", help="the agent's status listener, host:port")
    status.add_argument("--watch", action="store_true", help="then print every status change until interrupted")
    status.add_argument("--expect", metavar="STATUS", help="exit 0 if the status is STATUS, 1 if not")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer (default 2)")

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "check-config":
        return _check_config(args)
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
    _setup_logging(config.name, args.log_level)
    try:
        trio.run(_serve, config, args.shutdown_timeout)
    except Exception as e:
        listen = _find(e, ListenError)
        if listen is not None:
            log.error("%s", listen)  # the operator's mistake: one line, no traceback
        else:
            log.exception("the agent failed")
        return 1
    return 0


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


async def _serve(config, shutdown_timeout: float) -> None:
    from hanode.agent.agent import Agent

    agent = Agent(config)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:

            async def on_signals() -> None:
                async for signum in signals:
                    log.info("%s: stopping (handing the role over if we hold it)", signal.Signals(signum).name)
                    agent.shutdown()
                    nursery.start_soon(force_stop)

            async def force_stop() -> None:
                await trio.sleep(shutdown_timeout)
                if not agent.finished.is_set():
                    log.error("shutdown did not finish within %g s: fencing command components and exiting", shutdown_timeout)
                    await agent.fence_commands()
                    agent.stopped.set()

            await nursery.start(agent.run)
            nursery.start_soon(on_signals)
            await agent.finished.wait()
            nursery.cancel_scope.cancel()
    log.info("stopped")


class _Formatter(logging.Formatter):
    def __init__(self, node: str):
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        text = f"{stamp} {self.node} {record.levelname:<7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _setup_logging(node: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(node))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


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

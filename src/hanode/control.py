"""The control socket: moving the role by hand (``hanode switchover``,
``hanode maintenance``), on a unix socket only its owner can open.

The status port stays read-only; everything that changes what the node does
comes through here. One request per connection, one JSON object per line::

    -> {"command": "switchover", "timeout": 10}
    <- {"ok": true, "text": "beta took the role; alpha is standby"}
    -> {"command": "maintenance", "on": true}
    <- {"ok": true, "text": "maintenance on"}
    -> {"command": "status"}
    <- {"ok": true, "snapshot": {...}}          (as /status)

A refused or failed request answers ``{"ok": false, "error": "..."}`` with
the reason. A switchover answers once the peer has agreed to take the role
(it is promoting) and this node is standby; the peer link carries no
status, so "the peer is active" is the peer's agreement (SPEC 7's wording;
see docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

import trio

from hanode.agent.connection import open_listeners
from hanode.config import Endpoint

if TYPE_CHECKING:
    from hanode.agent.agent import Agent

log = logging.getLogger("hanode.control")

MAX_REQUEST = 4096       # octets: a request is one short line
READ_TIMEOUT = 5.0       # seconds to send that line
POLL = 0.01              # seconds between looks at a switchover in progress
DEFAULT_WAIT = 10.0      # seconds a switchover waits for the peer by default


class ControlError(Exception):
    """A request that cannot be carried out; the message says why."""


async def serve_control(path: str, agent: Agent, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve the control socket at ``path`` (owner-only) until cancelled."""
    listeners = await open_listeners(Endpoint(path=path))
    log.info("control socket at %s (owner-only)", path)
    try:
        await trio.serve_listeners(lambda stream: _serve_one(stream, agent), listeners, task_status=task_status)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


async def _serve_one(stream: trio.abc.Stream, agent: Agent) -> None:
    async with stream:
        try:
            with trio.fail_after(READ_TIMEOUT):
                request = await _read_line(stream)
            reply = await handle_request(agent, request)
        except trio.TooSlowError:
            reply = {"ok": False, "error": f"no complete request line within {READ_TIMEOUT:g} s"}
        except ControlError as e:
            reply = {"ok": False, "error": str(e)}
        try:
            await stream.send_all(json.dumps(reply).encode() + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away: nothing to tell it


async def _read_line(stream: trio.abc.Stream) -> dict:
    data = b""
    while b"\n" not in data:
        chunk = await stream.receive_some(MAX_REQUEST)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ControlError(f"request longer than {MAX_REQUEST} octets")
    try:
        request = json.loads(data.split(b"\n", 1)[0] or b"null")
    except ValueError as e:
        raise ControlError(f"request is not JSON: {e}") from None
    if not isinstance(request, dict) or not isinstance(request.get("command"), str):
        raise ControlError('request must be a JSON object with a "command" (status, switchover, maintenance)')
    return request


async def handle_request(agent: Agent, request: dict) -> dict:
    """Carry out one request; the reply to send."""
    command = request["command"]
    if command == "status":
        return {"ok": True, "snapshot": agent.snapshot().to_dict()}
    if command == "maintenance":
        on = request.get("on")
        if not isinstance(on, bool):
            raise ControlError('maintenance needs "on": true or false')
        agent.set_maintenance(on)
        log.warning("maintenance %s (by the control socket)", "on" if on else "off")
        return {"ok": True, "text": f"{agent.config.name}: maintenance {'on' if on else 'off'}"}
    if command == "switchover":
        timeout = request.get("timeout", DEFAULT_WAIT)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ControlError('switchover "timeout" must be a positive number of seconds')
        return await _switchover(agent, float(timeout))
    raise ControlError(f"unknown command {command!r} (status, switchover, maintenance)")


async def _switchover(agent: Agent, timeout: float) -> dict:
    refusal = agent.switchover()
    name, peer = agent.config.name, agent.config.peer_name
    if refusal is not None:
        raise ControlError(f"switchover refused by {name}: {refusal}")
    log.warning("switchover: handing the role to %s (by the control socket)", peer)
    node = agent.node
    with trio.move_on_after(timeout):
        while True:
            await trio.sleep(POLL)
            outcome = node.switchover_outcome()
            if outcome == "done":
                return {"ok": True, "text": f"{peer} took the role; {name} is standby"}
            if outcome == "refused":
                raise ControlError(f"switchover failed: {peer} did not take the role; {name} is {node.state} again")
            if outcome == "interrupted":
                raise ControlError(f"switchover interrupted: {name} is now {node.state}")
    raise ControlError(f"switchover not finished within {timeout:g} s: {name} is {node.state}")

"""Write a hanode component in a few lines (Trio).

::

    import trio
    from hanode.component import Component
    from hanode.codec import Role

    async def on_role(role: Role) -> bool:
        ...            # start or stop serving; return False if it failed
        return True

    trio.run(Component("/run/hanode/alpha.sock", "1", on_role).run)

The library connects to the agent's component socket (a unix path or
host:port), heartbeats every interval with ``health()``, answers the agent's
health queries, and calls ``on_role`` for each ``SetRole``, answering
``success`` or ``failure``. Roles are applied one at a time, in order; the
heartbeats go on meanwhile.

Self-fencing (SPEC section 4): when the connection to the agent closes, or
nothing has come from it for ``dead_after - 1`` intervals (a killed or frozen
agent; the agent heartbeats its components every interval; a silence that
long is caught also when it ends before the component looked), the component
drops to standby by itself, before the peer agent can take over, and then
reconnects, so that the agent never counts a fenced component as active. The
interval and ``dead_after`` must match the agent's (the defaults do).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from hanode.codec import (
    BillOfHealth,
    HealthMonitorMessage,
    HealthQuery,
    HealthQueryResponse,
    HeartBeat,
    ReturnCode,
    Role,
    RoleMessage,
    SetRole,
    SetRoleResponse,
)
from hanode.wire import COMPONENT_TYPES

from .agent.connection import Connection, connect
from .core.ids import BILL_FAILED, Counter, bill
from .config import Endpoint, parse_endpoint

log = logging.getLogger("hanode.component")



class _AgentSilence:
    """When the agent last spoke, and the longest gap between two of its PDUs
    that reached the fencing threshold: a stall that ended between two looks
    of the watcher must fence too (its peer may be promoting by now)."""

    def __init__(self, now: float):
        self.last = now
        self.longest_gap = 0.0
        self.stalled = trio.Event()

    def heard(self, now: float, fence_after: float) -> None:
        gap = now - self.last
        self.last = now
        if gap >= fence_after:
            self.longest_gap = max(self.longest_gap, gap)
            self.stalled.set()


class Component:
    """A component process: connect, heartbeat, take roles, fence on loss."""

    def __init__(
        self,
        endpoint: str | Endpoint,
        component_id: str,
        on_role: Callable[[Role], Awaitable[bool]],
        health: Callable[[], bool] = lambda: True,
        *,
        heartbeat_interval: float = 0.1,
        dead_after: int = 3,
        reconnect_interval: float = 0.2,
        max_frame: int = 16384,
    ):
        self.endpoint = endpoint if isinstance(endpoint, Endpoint) else parse_endpoint(endpoint, "endpoint", unix=True)
        self.component_id = component_id
        self.on_role = on_role
        self.health = health
        self.interval = heartbeat_interval
        self.fence_after = heartbeat_interval * (dead_after - 1)
        self.reconnect_interval = reconnect_interval
        self.max_frame = max_frame
        self.role = Role.standby
        self.connected = trio.Event()
        self._seq = Counter()
        self._roles: trio.MemorySendChannel | None = None

    async def run(self) -> None:
        """Serve forever: connect, and on every loss fence and reconnect."""
        while True:
            try:
                stream = await connect(self.endpoint)
            except OSError as e:
                log.debug("cannot reach the agent at %s: %s", self.endpoint, e)
                await self._fence("the agent is unreachable")
                await trio.sleep(self.reconnect_interval)
                continue
            await self._serve(stream)
            self.connected = trio.Event()
            await self._fence("the connection to the agent closed")
            await trio.sleep(self.reconnect_interval)

    async def _serve(self, stream) -> None:
        send, receive = trio.open_memory_channel[RoleMessage](16)
        agent = _AgentSilence(trio.current_time())

        def on_message(conn: Connection, msg) -> None:
            agent.heard(trio.current_time(), self.fence_after)
            if type(msg) is RoleMessage and type(msg.message) is SetRole:
                try:
                    send.send_nowait(msg)
                except trio.WouldBlock:
                    conn.close("the agent sent more SetRole requests than it may have outstanding")
            elif type(msg) is HealthMonitorMessage and type(msg.message) is HealthQuery:
                conn.send(HealthMonitorMessage(msg.correlation_id, self.component_id, HealthQueryResponse(self._bill())))

        conn = Connection(
            stream, 0, "agent", COMPONENT_TYPES, max_payload=self.max_frame, queue=64,
            on_message=on_message, on_closed=lambda c, reason: log.info("agent connection closed: %s", reason),
        )
        # The first heartbeat binds the connection to our componentId.
        conn.send(self._heartbeat())
        self.connected.set()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._beat, conn)
            nursery.start_soon(self._watch_agent, conn, agent)
            nursery.start_soon(self._take_roles, conn, receive)
            await conn.run()
            nursery.cancel_scope.cancel()

    async def _beat(self, conn: Connection) -> None:
        next_beat = trio.current_time()
        while not conn.closed:
            next_beat += self.interval
            await trio.sleep_until(next_beat)
            conn.send(self._heartbeat())

    async def _watch_agent(self, conn: Connection, agent: "_AgentSilence") -> None:
        """Fence when the agent falls silent (frozen, or its host is gone), or
        comes back from a silence that long between two of our looks."""
        while not conn.closed:
            with trio.move_on_after(self.interval / 2):
                await agent.stalled.wait()
            silent = max(trio.current_time() - agent.last, agent.longest_gap)
            if silent >= self.fence_after:
                # Drop the role, then the connection: the agent learns of the
                # loss and gives us its role again when we reconnect, instead
                # of believing a fenced component still active.
                await self._fence(f"nothing from the agent for {silent:.3f} s")
                conn.close("the agent fell silent")
                return

    async def _take_roles(self, conn: Connection, receive: trio.MemoryReceiveChannel) -> None:
        async for msg in receive:
            role = msg.message.role
            try:
                ok = bool(await self.on_role(role))
            except Exception:
                log.exception("on_role(%s) raised", role.name)
                ok = False
            if ok:
                self.role = role
            conn.send(RoleMessage(msg.correlation_id, SetRoleResponse(ReturnCode.success if ok else ReturnCode.failure)))

    async def _fence(self, why: str) -> None:
        if self.role == Role.active:
            log.warning("fencing: dropping to standby because %s", why)
            try:
                await self.on_role(Role.standby)
            except Exception:
                log.exception("on_role(standby) raised while fencing")
            self.role = Role.standby

    def _bill(self) -> BillOfHealth:
        try:
            return bill(self.health())
        except Exception:
            log.exception("health() raised: reporting failed")
            return BILL_FAILED

    def _heartbeat(self) -> HealthMonitorMessage:
        return HealthMonitorMessage(self._seq.next(), self.component_id, HeartBeat(self._bill()))


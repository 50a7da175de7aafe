"""hanode.component: the component library's self-fencing, under the MockClock.

The agent's side is played by hand over an in-memory stream, so the times of
its heartbeats (and of a stall) are exact.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from hanode.codec import BillOfHealth, ComponentStatus, HealthMonitorMessage, HeartBeat, Role, RoleMessage, SetRole
from hanode.component import Component
from hanode.wire import frame_message

INTERVAL = 0.1
FENCE_AFTER = 0.2  # (dead_after - 1) intervals


def agent_beat(seq: int) -> bytes:
    return frame_message(HealthMonitorMessage(str(seq), "1", HeartBeat(BillOfHealth(ComponentStatus.ok))))


async def run_agent(beats_at: list[float]):
    """A component made active, then heartbeated at ``beats_at`` (seconds after
    the start); returns its role changes (time, role) and when it closed."""
    ours, theirs = trio.testing.memory_stream_pair()
    roles: list[tuple[float, Role]] = []

    async def on_role(role: Role) -> bool:
        roles.append((trio.current_time() - t0, role))
        return True

    component = Component("/tmp/hanode-test-component.sock", "1", on_role)
    closed: list[float] = []
    t0 = trio.current_time()

    async def serve() -> None:
        await component._serve(ours)
        closed.append(trio.current_time() - t0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await theirs.send_all(frame_message(RoleMessage("1", SetRole(Role.active))))

        async def drain() -> None:  # what the component sends: not looked at
            try:
                while await theirs.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass

        nursery.start_soon(drain)
        for i, t in enumerate(beats_at):
            await trio.sleep_until(t0 + t)
            if closed:
                break
            try:
                await theirs.send_all(agent_beat(i + 1))
            except trio.BrokenResourceError:
                break
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    return roles, closed


async def test_a_stall_that_ends_between_two_looks_still_fences(autojump_clock):
    # The watcher looks every 0.05 s (at 0.05 k); the agent stalls from 0.225 to
    # 0.430: at 0.40 it has been silent 0.175 s, at 0.45 it has just spoken. The
    # gap (0.205 s) is past the threshold all the same: fence on the PDU that ends it.
    roles, closed = await run_agent([0.125, 0.225, 0.430, 0.530, 0.630])
    assert roles[0] == (0.0, Role.active)
    assert roles[1][1] == Role.standby and roles[1][0] == pytest.approx(0.430)
    assert closed and closed[0] == pytest.approx(0.430)


async def test_regular_heartbeats_never_fence(autojump_clock):
    roles, closed = await run_agent([0.1 * k + 0.025 for k in range(1, 20)] + [1.99])
    # Fenced only once the agent went quiet after its last beat at 1.99.
    assert [r for r in roles if r[0] < 2.0] == [(0.0, Role.active)]
    assert closed and closed[0] == pytest.approx(2.2)


async def test_a_silence_is_fenced_by_the_watcher_without_any_pdu(autojump_clock):
    roles, closed = await run_agent([0.125, 0.225])  # then nothing
    assert roles[1][1] == Role.standby and roles[1][0] == pytest.approx(0.45)  # first look past 0.425

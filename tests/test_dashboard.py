"""The dashboard: pure renders of hand-made snapshots, and the Trio driver.

Renders are read as a person would: the text a recording console exports at a
given width, searched for content (never compared with a copied render).
The Dashboard tests use real time with generous bounds, because every
terminal write happens in a worker thread and an autojump clock would jump
while a thread is drawing.
"""

from __future__ import annotations

import functools
import io
import os
import re
import threading
import time

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from hanode.dashboard import (
    MAINTENANCE_BANNER,
    Dashboard,
    PairView,
    SnapshotView,
    clock,
    duration,
    render,
    render_pair,
    style_of,
)
from hanode.core.election import ELECTION_TABLE
from hanode.core.monitor import HEALTH_TABLE
from hanode.core.role import ROLE_TABLE
from hanode.core.status import STATUS_TABLE
from hanode.snapshot import ComponentView, EventView, PeerView, Snapshot

T0 = 1_700_000_000.0


def peer(**changes) -> PeerView:
    fields = dict(name="node-b", address="10.0.0.2:7000", connected=True, alive=True,
                  heartbeat_age=0.0123, rtt=0.00083, healthy=True)
    return PeerView(**{**fields, **changes})


def component(id: str = "1", name: str = "database", **changes) -> ComponentView:
    fields = dict(id=id, name=name, kind="process", order=1, required=True, connected=True,
                  role="active", health="healthy", heartbeat_age=0.012, heartbeats_per_s=10.0)
    return ComponentView(**{**fields, **changes})


def event(i: int, level: str = "info", text: str | None = None) -> EventView:
    return EventView(at=T0 + i * 1.25, level=level, kind="election", text=text or f"event {i} happened")


DEFAULT_COMPONENTS = (
    component("1", "database"),
    component("2", "web", kind="command", order=2, role="active", health="suspect", heartbeats_per_s=None),
    component("3", "cache", order=2, role="failed", health="failed", heartbeat_age=None),
)


def snap(**changes) -> Snapshot:
    """A plausible active node with 3 components and 5 events."""
    fields = dict(name="node-a", state="active", role="active", status="active", in_state_for=192.3,
                  healthy=True, maintenance=False, witness=None, peer=peer(),
                  components=DEFAULT_COMPONENTS, events=tuple(event(i) for i in range(5)),
                  clients=2, failovers=1, taken_at=T0 + 10, pid=4242)
    return Snapshot(**{**fields, **changes})


def text_of(renderable, width: int = 80, height: int = 24) -> str:
    console = Console(file=io.StringIO(), record=True, width=width, height=height, force_terminal=False,
                      color_system=None)
    console.print(renderable)
    return console.export_text()


def lines_of(renderable, width: int = 80, height: int = 24) -> list[str]:
    return text_of(renderable, width, height).splitlines()


def assert_fits(lines: list[str], width: int) -> None:
    too_long = [line for line in lines if cell_len(line) > width]
    assert not too_long, f"lines wider than {width}: {too_long}"


def component_line(lines: list[str], id: str) -> str:
    (line,) = [line for line in lines if re.match(rf"{id}\s", line)]
    return line


# -- what a node shows -------------------------------------------------------

STATUS_TOKENS = ["unassigned", "electing", "active", "standby", "degraded", "failed", "isolated", "stopping"]


@pytest.mark.parametrize("token", STATUS_TOKENS)
def test_every_state_and_status_token_shows(token):
    text = text_of(render(snap(state=token, status=token, role="standby")))
    assert re.search(rf"\bstate\s+{token}\b", text)
    assert re.search(rf"\bstatus\s+{token}\b", text)
    assert re.search(r"\brole\s+standby\b", text)


@pytest.mark.parametrize("token", STATUS_TOKENS)
def test_every_status_token_shows_compact(token):
    text = text_of(render(snap(state="standby", status=token), width=60), width=60)
    assert re.search(rf"\bstatus {token}\b", text)


def test_maintenance_banner_only_when_on():
    assert MAINTENANCE_BANNER == "MAINTENANCE: no role changes"
    assert MAINTENANCE_BANNER in text_of(render(snap(maintenance=True)))
    assert "MAINTENANCE" not in text_of(render(snap(maintenance=False)))


def test_node_facts_show():
    text = text_of(render(snap(witness=False, healthy=False, clients=7, failovers=3, pid=31337)))
    assert re.search(r"\bin state\s+3 m 12 s\b", text)
    assert re.search(r"\bhealth\s+unhealthy\b", text)
    assert re.search(r"\bwitness\s+lost\b", text)
    assert re.search(r"\bclients\s+7\b", text)
    assert re.search(r"\bfailovers\s+3\b", text)
    assert re.search(r"\bpid\s+31337\b", text)


def test_witness_hidden_when_none():
    assert "witness" not in text_of(render(snap(witness=None)))
    assert re.search(r"\bwitness\s+ok\b", text_of(render(snap(witness=True))))


def test_peer_link_shows():
    text = text_of(render(snap(peer=peer(name="far-node", address="192.0.2.7:7100", connected=False,
                                         alive=False, heartbeat_age=0.25, rtt=0.0421, healthy=False))))
    assert "peer far-node" in text
    assert "192.0.2.7:7100" in text
    assert re.search(r"\blink\s+down\b", text)
    assert re.search(r"\balive\s+no\b", text)
    assert re.search(r"\bheartbeat\s+250 ms\b", text)
    assert re.search(r"\brtt\s+42 ms\b", text)
    assert re.search(r"\bhealth\s+unhealthy\b", text)
    good = text_of(render(snap()))
    assert re.search(r"\blink\s+connected\b", good) and re.search(r"\balive\s+yes\b", good)
    assert re.search(r"\bheartbeat\s+12 ms\b", good) and re.search(r"\brtt\s+0\.8 ms\b", good)


def test_none_values_show_a_dash():
    s = snap(healthy=None,
             peer=peer(heartbeat_age=None, rtt=None, healthy=None),
             components=(component(heartbeat_age=None, heartbeats_per_s=None),))
    lines = lines_of(render(s))
    text = "\n".join(lines)
    assert re.search(r"\bheartbeat\s+-(\s|$)", text, re.M)
    assert re.search(r"\brtt\s+-(\s|$)", text, re.M)
    # Both the node's and the peer's health are unknown.
    assert len(re.findall(r"\bhealth\s+-(\s|$)", text, re.M)) == 2
    assert re.search(r"\s-\s+-$", component_line(lines, "1"))


@pytest.mark.parametrize(("seconds", "human"), [
    (0, "0.0 s"), (4.25, "4.2 s"), (59.97, "59.9 s"), (60, "1 m 0 s"), (192.3, "3 m 12 s"),
    (3599.9, "59 m 59 s"), (7500, "2 h 5 m"), (93_600 + 120, "1 d 2 h"), (-3, "0.0 s"),
])
def test_duration(seconds, human):
    assert duration(seconds) == human


def test_long_ages_read_as_durations():
    text = text_of(render(snap(peer=peer(heartbeat_age=75.0))))
    assert re.search(r"\bheartbeat\s+1 m 15 s\b", text)


# -- components --------------------------------------------------------------

ROLES = ["unassigned", "assigning", "active", "standby", "failed"]
HEALTHS = ["unregistered", "healthy", "suspect", "failed"]


def test_every_core_state_has_a_colour():
    """The vocabularies come from the core's tables: a new state must get a colour (and a test)."""
    assert set(ROLE_TABLE.states) == set(ROLES)
    assert set(HEALTH_TABLE.states) == set(HEALTHS)
    assert set(STATUS_TABLE.states) - {"promoting", "demoting"} <= set(STATUS_TOKENS)
    for table in (ELECTION_TABLE, STATUS_TABLE, ROLE_TABLE, HEALTH_TABLE):
        assert [s for s in table.states if not style_of(s)] == [], table.name


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("health", HEALTHS)
def test_every_component_role_and_health_shows(role, health):
    c = component("7", "db", role=role, health=health, heartbeat_age=0.5, heartbeats_per_s=2.0)
    line = component_line(lines_of(render(snap(components=(c,)))), "7")
    assert re.match(rf"7\s+db\s+1\s+process\s+{role}\s+{health}\s+500 ms\s+2\.0$", line)


def test_components_ordered_by_order_then_id():
    cs = (component("9", "last", order=3), component("5", "second", order=1),
          component("2", "first", order=1), component("4", "third", order=2))
    lines = lines_of(render(snap(components=cs)))
    names = [re.match(r"\d+\s+(\w+)", component_line(lines, c.id)).group(1) for c in cs]
    positions = {name: lines.index(component_line(lines, c.id)) for name, c in zip(names, cs)}
    assert sorted(positions, key=positions.get) == ["first", "second", "third", "last"]


def test_no_components_reads_well():
    text = text_of(render(snap(components=())))
    assert "no components configured" in text
    assert "hb age" not in text  # no empty table header


@pytest.mark.parametrize("width", [80, 60])
def test_sixteen_character_name_shows_whole(width):
    name = "abcdefghijklmnop"
    assert len(name) == 16
    lines = lines_of(render(snap(components=(component("1", name),))), width=width)
    assert_fits(lines, width)
    line = component_line(lines, "1")
    assert name in line and "…" not in line
    assert re.search(r"\bactive\s+healthy\b", line)


@pytest.mark.parametrize("width", [80, 60])
def test_long_name_cut_with_an_ellipsis(width):
    name = "a-component-whose-name-is-forty-chars-xy"
    assert len(name) == 40
    lines = lines_of(render(snap(components=(component("1", name),))), width=width)
    assert_fits(lines, width)
    line = component_line(lines, "1")
    assert name not in line
    cut = re.search(r"\s(\S+)…", line).group(1)
    assert name.startswith(cut) and len(cut) >= 12
    # Cut, not wrapped: the rest of the row is on the same line.
    assert re.search(r"\bactive\s+healthy\b", line)
    assert not any(name[-6:] in other for other in lines)


# -- events ------------------------------------------------------------------

@pytest.fixture
def utc():
    """The process in UTC, so wall-clock times have known local forms."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_clock_format(utc):
    assert clock(3723.456) == "01:02:03.456"
    assert clock(0.0) == "00:00:00.000"


def test_events_newest_last_and_only_the_most_recent(utc):
    events = tuple(EventView(at=3600 + i, level="info", kind="role", text=f"event {i}") for i in range(10))
    text = text_of(render(snap(events=events), max_events=3))
    shown = re.findall(r"event (\d)", text)
    assert shown == ["7", "8", "9"]
    assert re.search(r"^01:00:09\.000\s+info\s+role\s+event 9\s*$", text, re.M)


def test_events_fit_the_height():
    events = tuple(event(i) for i in range(30))
    lines = lines_of(render(snap(events=events), height=24, max_events=50), height=24)
    assert len(lines) == 24
    assert lines[-1].endswith("event 29 happened")
    assert "event 28 happened" in lines[-2]


def test_no_events_yet():
    assert "no events yet" in text_of(render(snap(events=())))
    assert "events" not in text_of(render(snap(), max_events=0))


def test_long_event_text_is_one_line():
    long = "the peer said " + "something rather long " * 20
    s = snap(events=(event(0), event(1, "error", long + "\nsecond line"), event(2)))
    lines = lines_of(render(s))
    assert_fits(lines, 80)
    (line,) = [line for line in lines if "the peer said" in line]
    assert line.endswith("…")
    assert "second line" not in "\n".join(lines)
    assert "event 2 happened" in lines[-1]


def test_untrusted_text_cannot_reach_the_terminal():
    s = snap(peer=peer(name="evil\x1b[2Jname"), events=(event(0, text="x\x1b]0;title\x07y"),))
    text = text_of(render(s))
    assert "\x1b" not in text and "\x07" not in text
    assert "evil?[2Jname" in text


# -- fitting 80x24 and any width ---------------------------------------------

def test_default_snapshot_fits_80x24():
    lines = lines_of(render(snap()))
    assert_fits(lines, 80)
    assert len(lines) <= 24
    assert all(f"event {i} happened" in "\n".join(lines) for i in range(5))


def test_busy_snapshot_fits_80x24():
    s = snap(maintenance=True, witness=True, events=tuple(event(i) for i in range(20)))
    lines = lines_of(render(s))
    assert_fits(lines, 80)
    assert len(lines) <= 24
    assert "event 19 happened" in lines[-1]


@pytest.mark.parametrize("width", [40, 59, 60, 71, 72, 80, 100, 160])
def test_fits_any_width(width):
    long = dict(name="n" * 16, peer=peer(name="p" * 16, address="a-long-host-name.example.internal:7000"),
                components=(component("1234567890123456", "c" * 40), *DEFAULT_COMPONENTS))
    for renderable in (render(snap(**long)), render_pair(snap(**long), None), render_pair(snap(), snap(**long))):
        assert_fits(lines_of(renderable, width=width), width)


printable = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=60)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(40, 200), node=printable, peer_name=printable, name=printable, text=printable,
       address=printable)
def test_never_wider_than_the_console(width, node, peer_name, name, text, address):
    s = snap(name=node, peer=peer(name=peer_name, address=address),
             components=(component("1", name),), events=(event(0, text=text),))
    assert_fits(lines_of(render(s), width=width), width)


def test_render_is_pure(monkeypatch):
    s = snap()
    assert render(s) == render(s)
    before = text_of(render(s))

    def no_clock():
        raise AssertionError("render read the clock")

    monkeypatch.setattr(time, "time", no_clock)
    monkeypatch.setattr(time, "monotonic", no_clock)
    assert text_of(render(s)) == before


def test_explicit_width_overrides_the_console():
    # Laid out for 60 columns (compact: no "kind" column) on a wider console.
    wide = text_of(render(snap()), width=100)
    narrow = text_of(render(snap(), width=60), width=100)
    assert "kind" in wide and "kind" not in narrow
    assert_fits(narrow.splitlines(), 60)


# -- a pair ------------------------------------------------------------------

def test_pair_with_a_side_down():
    lines = lines_of(render_pair(snap(), None, labels=("node-a", "node-b")))
    text = "\n".join(lines)
    assert "unreachable" in text
    (label,) = [i for i, line in enumerate(lines) if line.strip().startswith("node-b")]
    assert "unreachable" in lines[label + 1]
    assert render_pair(None, None, labels=("x", "y")) == PairView(None, None, labels=("x", "y"))
    both_down = text_of(render_pair(None, None, labels=("first", "second")))
    assert both_down.count("unreachable") == 2 and "first" in both_down and "second" in both_down


def test_pair_side_by_side_when_wide():
    a, b = snap(), snap(name="node-b", peer=peer(name="node-a"), state="standby", role="standby",
                        status="standby")
    wide = lines_of(render_pair(a, b), width=160)
    assert re.match(r"\s*node-a\s.*\snode-b\s", wide[0])
    assert_fits(wide, 160)
    narrow = lines_of(render_pair(a, b), width=80)
    assert narrow[0].strip().startswith("node-a") and "node-b" not in narrow[0]
    titles = [i for i, line in enumerate(narrow) if re.match(r"\s*node-[ab]\s+─", line)]
    assert len(titles) == 2  # stacked: one title line each
    assert_fits(narrow, 80)


def test_pair_stacked_fits_80x24():
    a, b = snap(), snap(name="node-b", peer=peer(name="node-a"), state="standby", status="standby")
    lines = lines_of(render_pair(a, b))
    assert len(lines) <= 24
    # Compact: fewer events (the 3 newest) and no "kind" column.
    assert "event 4 happened" in "\n".join(lines) and "event 1 happened" not in "\n".join(lines)
    assert "kind" not in "\n".join(lines)


def test_pair_fits_the_height_when_wide():
    events = tuple(event(i) for i in range(30))
    lines = lines_of(render_pair(snap(events=events), None, width=160, height=24, max_events=50),
                     width=160, height=24)
    assert len(lines) == 24


# -- colour ------------------------------------------------------------------

def colours(renderable, word: str) -> set[str | None]:
    """The foreground colours ``word`` is drawn in (None: default colour)."""
    console = Console(file=io.StringIO(), record=True, width=80, force_terminal=True, color_system="truecolor")
    found = set()
    for line in console.render_lines(renderable, console.options):
        for segment in line:
            if segment.text.strip() == word:
                found.add(segment.style.color.name if segment.style and segment.style.color else None)
    return found


def test_status_colours():
    assert colours(render(snap(status="active")), "active") == {"green"}
    failed = colours(render(snap(status="failed", state="standby", role="standby")), "failed")
    assert "red" in failed
    assert colours(render(snap(status="standby", state="standby", role="standby")), "standby") == {"cyan"}
    assert colours(render(snap(status="degraded")), "degraded") == {"yellow"}
    assert colours(render(snap(status="whatever")), "whatever") == {None}


def test_component_colours():
    c = component("1", "db", role="assigning", health="suspect")
    assert colours(render(snap(components=(c,))), "assigning") == {"yellow"}
    assert colours(render(snap(components=(c,))), "suspect") == {"yellow"}


def test_unreachable_is_red_and_maintenance_magenta():
    console = Console(file=io.StringIO(), record=True, width=80, force_terminal=True, color_system="truecolor")
    console.print(render_pair(None, snap(maintenance=True)))
    ansi = console.export_text(styles=True)
    # 31: red foreground; 45: magenta background (the maintenance banner).
    assert re.search(r"\x1b\[[0-9;]*\b31m[^\x1b]*unreachable", ansi)
    assert re.search(r"\x1b\[[0-9;]*\b45m[^\x1b]*MAINTENANCE", ansi)


def test_event_levels_coloured():
    s = snap(events=(event(0, "warning", "careful"), event(1, "error", "broken"), event(2, "info", "fine")))
    assert colours(render(s), "careful") == {"yellow"}
    assert colours(render(s), "broken") == {"red"}
    assert colours(render(s), "fine") == {None}


# -- the Trio driver ---------------------------------------------------------

class SlowTerminal(io.TextIOBase):
    """A terminal whose every write takes ``delay`` seconds (until released)."""

    def __init__(self, delay: float):
        self.delay = delay
        self.released = threading.Event()
        self.written: list[str] = []
        self.trio_thread_writes = 0

    def write(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            self.trio_thread_writes += 1  # the agent's thread would have blocked
        self.released.wait(self.delay)
        self.written.append(text)
        return len(text)

    def isatty(self) -> bool:
        return True


async def test_slow_terminal_drops_frames_not_the_agent():
    terminal = SlowTerminal(0.3)
    console = Console(file=terminal, force_terminal=True, width=80, height=24)
    dashboard = Dashboard(console)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(functools.partial(dashboard.run, snap, refresh=0.05))
                nursery.start_soon(ticker)
                await trio.sleep(0.5)
                nursery.cancel_scope.cancel()
    finally:
        terminal.released.set()
    assert dashboard.dropped > 0
    assert dashboard.frames >= 1
    assert ticks > 20
    assert terminal.trio_thread_writes == 0


async def test_cancel_stops_the_live_display():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24)
    dashboard = Dashboard(console)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(dashboard.run, snap, refresh=0.02))
            assert dashboard.live is not None and dashboard.live.is_started
            await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
    assert not dashboard.live.is_started
    assert not console.is_alt_screen
    written = out.getvalue()
    # The cursor, hidden while the display is live, is shown again at the end.
    assert 0 <= written.rfind("\x1b[?25l") < written.rfind("\x1b[?25h")
    assert "node-a" in written and dashboard.frames >= 2
    # The console is free again: a new live display is not nested in the old one.
    assert console.set_live(dashboard.live)
    console.clear_live()


async def test_dashboard_draws_a_pair():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24)
    dashboard = Dashboard(console, labels=("node-a", "node-b"))
    assert isinstance(dashboard.renderable(snap()), SnapshotView)
    assert isinstance(dashboard.renderable((snap(), None)), PairView)
    with trio.fail_after(5):
        with trio.move_on_after(0.2):
            await dashboard.run(lambda: (snap(), None), refresh=0.05)
    written = out.getvalue()
    assert "unreachable" in written and "node-b" in written


async def test_refresh_must_be_positive():
    with pytest.raises(ValueError):
        await Dashboard(Console(file=io.StringIO())).run(snap, refresh=0)

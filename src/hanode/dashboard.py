"""The live dashboard an operator sees in a terminal.

Two layers, in the style of the rest of hanode:

- :func:`render` and :func:`render_pair` are pure: they turn frozen
  :class:`~hanode.snapshot.Snapshot` values into rich renderables. They read
  no clock and do no I/O, so tests draw hand-made snapshots on a recording
  console. The renderables lay themselves out for the width they are given
  when drawn (an explicit ``width`` overrides it), so one renderable reads well
  at 80 columns and wider: below :data:`FULL_WIDTH` columns a node is drawn
  compact, and a pair is drawn side by side from :data:`PAIR_WIDTH` columns.
- :class:`Dashboard` drives a :class:`rich.live.Live` from Trio. Every
  terminal write happens in a worker thread, and a frame is dropped rather
  than queued while the previous one is still being drawn, so a slow or stuck
  terminal never slows the agent.

Everything that came from a configuration file or from the peer (names,
addresses, event texts) is drawn as plain text with control characters
replaced, so it can neither inject rich markup nor terminal escape sequences.
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import trio
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.padding import Padding
from rich.rule import Rule
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from hanode.snapshot import ComponentView, EventView, PeerView, Snapshot

__all__ = [
    "FULL_WIDTH",
    "MAINTENANCE_BANNER",
    "PAIR_WIDTH",
    "Dashboard",
    "PairView",
    "SnapshotView",
    "clock",
    "duration",
    "render",
    "render_pair",
    "style_of",
]

FULL_WIDTH = 72
"""Columns from which a node is drawn in full (every field, every component column)."""

PAIR_WIDTH = 120
"""Columns from which :func:`render_pair` draws the two nodes side by side."""

MAINTENANCE_BANNER = "MAINTENANCE: no role changes"

# One colour per state token, shared by election states, status tokens, role
# states and health states: the same word always reads in the same colour.
_STYLES: dict[str, str] = {
    "active": "green",
    "healthy": "green",
    "standby": "cyan",
    "degraded": "yellow",
    "suspect": "yellow",
    "assigning": "yellow",
    "promoting": "yellow",
    "demoting": "yellow",
    "stopping": "yellow",
    "failed": "bold red",
    "isolated": "bold red",
    "unassigned": "dim",
    "electing": "dim",
    "unregistered": "dim",
    "stopped": "dim",
    "maintenance": "bold magenta",
}

_LEVEL_STYLES: dict[str, str] = {"warning": "yellow", "error": "bold red"}
_LEVEL_TAGS: dict[str, str] = {"info": "info", "warning": "warn", "error": "error"}

_GOOD, _BAD, _NONE = "green", "bold red", "dim"

# C0 and C1 control characters and DEL: a peer's name or an event text must
# not move the cursor or recolour the terminal. Tabs and newlines become
# spaces so that one value stays on one line.
_CONTROLS = {c: "?" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})


def style_of(token: str) -> str:
    """The rich style of a state or status token ("" for an unknown token: plain)."""
    return _STYLES.get(token, "")


def duration(seconds: float) -> str:
    """A duration for people: ``4.2 s``, ``3 m 12 s``, ``2 h 5 m``, ``3 d 4 h``.

    Rounded down, so a display never runs ahead of the truth (and 59.97 s
    does not read as "60.0 s").
    """
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{math.floor(seconds * 10) / 10:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} m {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} m"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def clock(at: float) -> str:
    """A wall-clock time as local ``HH:MM:SS.mmm`` (the time zone is the process's)."""
    t = datetime.datetime.fromtimestamp(at)
    return f"{t:%H:%M:%S}.{t.microsecond // 1000:03d}"


def _age(seconds: float | None) -> str:
    """A heartbeat age: milliseconds while it is short, a duration once it is not."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else duration(seconds)


def _rtt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = max(0.0, seconds) * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _rate(per_s: float | None) -> str:
    return "-" if per_s is None else f"{per_s:.1f}"


def _plain(value: object, style: str = "") -> Text:
    """Untrusted text as one line, cut with an ellipsis when its column is too narrow."""
    return Text(str(value).translate(_CONTROLS), style=style, no_wrap=True, overflow="ellipsis")


def _token(token: str) -> Text:
    return _plain(token, style_of(token))


def _flag(value: bool | None, yes: str, no: str) -> Text:
    if value is None:
        return _plain("-", _NONE)
    return _plain(yes, _GOOD) if value else _plain(no, _BAD)


def _dash(text: str) -> Text:
    return _plain(text, _NONE if text == "-" else "")


def _pairs(rows: Sequence[Sequence[tuple[str, Text]]]) -> Table:
    """Label/value pairs laid out as aligned columns.

    Value columns are the ones rich may narrow (their cells cut themselves with
    an ellipsis); labels and gaps keep their width, so a squeeze never cuts a
    label or breaks a line.
    """
    per_row = max(len(row) for row in rows)
    grid = Table.grid(padding=(0, 2, 0, 0))
    for _ in range(per_row):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
    for row in rows:
        cells: list[Text | str] = []
        for label, value in row:
            cells += [label, value]
        cells += [""] * (2 * per_row - len(cells))
        grid.add_row(*cells)
    return grid


def _title(text: str, style: str) -> Rule:
    return Rule(Text.assemble(" ", _plain(text, style), " "), align="left", style="dim")


def _banner() -> Padding:
    return Padding(Text(MAINTENANCE_BANNER, style="bold white on magenta", justify="center"),
                   0, style="on magenta", expand=True)


def _chips(chips: Sequence[Text], width: int) -> Group:
    """Label/value chips packed into lines, breaking only between chips.

    The compact layout: denser than aligned columns, and a value never ends up
    on a different line from its label. A chip wider than a line is cut.
    """
    lines: list[Text] = []
    line = Text(no_wrap=True, overflow="ellipsis")
    for chip in chips:
        if line and line.cell_len + 2 + chip.cell_len > width:
            lines.append(line)
            line = Text(no_wrap=True, overflow="ellipsis")
        if line:
            line.append("  ")
        line.append_text(chip)
    lines.append(line)
    return Group(*lines)


def _chip(label: str, *values: Text) -> Text:
    return Text.assemble((label, "dim"), *(piece for v in values for piece in (" ", v)))


def _node_chips(s: Snapshot) -> list[Text]:
    p = s.peer
    return [
        _chip("state", _plain(f"{s.state}/{s.role}", style_of(s.state))),
        _chip("status", _token(s.status)),
        _chip("for", _plain(duration(s.in_state_for))),
        _chip("failovers", _plain(s.failovers)),
        _chip("peer", _plain(p.name), _flag(p.connected, "connected", "down")),
        _chip("heartbeat", _dash(_age(p.heartbeat_age))),
    ]


def _node_rows(s: Snapshot) -> list[list[tuple[str, Text]]]:
    witness = [("witness", _flag(s.witness, "ok", "lost"))] if s.witness is not None else []
    return [
        [("state", _token(s.state)), ("role", _token(s.role)), ("status", _token(s.status))],
        [("in state", _plain(duration(s.in_state_for))), ("health", _flag(s.healthy, "healthy", "unhealthy")),
         *witness],
        [("pid", _plain(s.pid)), ("clients", _plain(s.clients)), ("failovers", _plain(s.failovers))],
    ]


def _peer_rows(p: PeerView) -> list[list[tuple[str, Text]]]:
    return [
        [("address", _plain(p.address)), ("link", _flag(p.connected, "connected", "down")),
         ("alive", _flag(p.alive, "yes", "no"))],
        [("heartbeat", _dash(_age(p.heartbeat_age))), ("rtt", _dash(_rtt(p.rtt))),
         ("health", _flag(p.healthy, "healthy", "unhealthy"))],
    ]


def _components(components: Iterable[ComponentView], compact: bool) -> RenderableType:
    ordered = sorted(components, key=lambda c: (c.order, c.id))
    if not ordered:
        return Text("no components configured", style="dim italic")
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold", show_edge=False)
    # id and name may be narrowed (their cells cut themselves with "…"); the
    # fixed vocabularies and the numbers keep their width.
    table.add_column("id")
    table.add_column("name")
    if not compact:
        table.add_column("ord", justify="right", no_wrap=True)
        table.add_column("kind", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("health", no_wrap=True)
    table.add_column("hb age", justify="right", no_wrap=True)
    if not compact:
        table.add_column("hb/s", justify="right", no_wrap=True)
    for c in ordered:
        head = [_plain(c.id), _plain(c.name)]
        if not compact:
            head += [_plain(c.order), _plain(c.kind)]
        tail = [_token(c.role), _token(c.health), _dash(_age(c.heartbeat_age))]
        if not compact:
            tail.append(_dash(_rate(c.heartbeats_per_s)))
        table.add_row(*head, *tail)
    return table


def _events(events: Sequence[EventView], compact: bool) -> RenderableType:
    if not events:
        return Text("no events yet", style="dim italic")
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)                 # time
    if not compact:
        table.add_column(no_wrap=True)                          # level
        table.add_column(no_wrap=True, max_width=10)            # kind
    table.add_column()                                          # text: narrowed first, cut with "…"
    for e in events:
        style = _LEVEL_STYLES.get(e.level, "")
        cells = [_plain(clock(e.at))]
        if not compact:
            cells += [_plain(_LEVEL_TAGS.get(e.level, e.level), style), _plain(e.kind, "bold")]
        cells.append(_plain(e.text, style))
        table.add_row(*cells)
    return table


def _lines(console: Console, renderable: RenderableType, options: ConsoleOptions) -> list[list[Segment]]:
    return console.render_lines(renderable, options, pad=False)


def _emit(lines: list[list[Segment]]) -> RenderResult:
    for line in lines:
        yield from line
        yield Segment.line()


@dataclass(frozen=True)
class SnapshotView:
    """One node, drawn at whatever width it is given (see :func:`render`)."""

    snapshot: Snapshot
    width: int | None = None
    height: int | None = None
    max_events: int = 8
    compact: bool | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(self.width or options.max_width, options.max_width)
        options = options.update_width(width)
        compact = width < FULL_WIDTH if self.compact is None else self.compact
        s = self.snapshot
        parts: list[RenderableType] = []
        if s.maintenance:
            parts.append(_banner())
        style = style_of("maintenance") if s.maintenance else "bold"
        parts.append(_title(s.name, style))
        if compact:
            parts.append(_chips(_node_chips(s), width))
        else:
            parts.append(_pairs(_node_rows(s)))
            parts.append(_title(f"peer {s.peer.name}", "bold"))
            parts.append(_pairs(_peer_rows(s.peer)))
            parts.append(_title("components", "bold"))
        parts.append(_components(s.components, compact))
        head = _lines(console, Group(*parts), options)
        yield from _emit(head)

        wanted = max(0, self.max_events)
        if self.height is not None:
            # Newest last, and the newest matter most: fit the events to the
            # room left rather than let a live display crop the bottom.
            wanted = min(wanted, self.height - len(head) - 1)
        if wanted <= 0:
            return
        yield from _emit(_lines(console, _title("events", "bold"), options))
        yield from _emit(_lines(console, _events(s.events[-wanted:], compact), options))


def _unreachable(label: str) -> Group:
    return Group(_title(label, "bold red"),
                 Text("unreachable: no answer from its agent (down or frozen)", style="bold red", no_wrap=True, overflow="ellipsis"))


@dataclass(frozen=True)
class PairView:
    """Two nodes, side by side or stacked (see :func:`render_pair`)."""

    left: Snapshot | None
    right: Snapshot | None
    width: int | None = None
    height: int | None = None
    max_events: int | None = None
    labels: tuple[str, str] = ("left", "right")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(self.width or options.max_width, options.max_width)
        options = options.update_width(width)
        side_by_side = width >= PAIR_WIDTH
        if side_by_side:
            # Each node gets the full height and lays itself out for its half.
            max_events = 8 if self.max_events is None else self.max_events
            height, compact = self.height, None
        else:
            # Stacked: two nodes share the screen, so both are compact.
            max_events = 3 if self.max_events is None else self.max_events
            height, compact = (None if self.height is None else self.height // 2), True
        sides = [
            _unreachable(label) if s is None
            else SnapshotView(s, height=height, max_events=max_events, compact=compact)
            for s, label in zip((self.left, self.right), self.labels)
        ]
        if side_by_side:
            grid = Table.grid(expand=True, padding=(0, 2))
            grid.add_column(ratio=1)
            grid.add_column(ratio=1)
            grid.add_row(*sides)
            yield from _emit(_lines(console, grid, options))
        else:
            for side in sides:
                yield from _emit(_lines(console, side, options))


def render(snapshot: Snapshot, *, width: int | None = None, height: int | None = None,
           max_events: int = 8) -> SnapshotView:
    """The dashboard of one node: a pure function of ``snapshot``.

    ``width``: lay out for this many columns (default: the width it is drawn
    at). ``height``: fit in this many lines by showing fewer events (default:
    no limit). ``max_events``: the most recent events shown, newest last.
    """
    return SnapshotView(snapshot, width=width, height=height, max_events=max_events)


def render_pair(left: Snapshot | None, right: Snapshot | None, *, width: int | None = None,
                height: int | None = None, max_events: int | None = None,
                labels: tuple[str, str] = ("left", "right")) -> PairView:
    """Two nodes for ``hanode demo``: side by side from :data:`PAIR_WIDTH` columns, else stacked.

    A None side is a node whose agent is down: it reads "unreachable" in red
    under its label from ``labels``. ``max_events`` defaults to 8 side by
    side and 3 stacked (stacked, both nodes are compact, to share 80x24).
    """
    return PairView(left, right, width=width, height=height, max_events=max_events, labels=labels)


class Dashboard:
    """A live terminal view of an agent (or a pair), refreshed from Trio.

    ``get_snapshot`` (given to :meth:`run`) may return a :class:`Snapshot`,
    drawn with :func:`render`, or a ``(left, right)`` tuple of snapshots or
    None, drawn with :func:`render_pair` under ``labels`` (the names of the
    two nodes, shown for a side that is down). Events are fitted to the
    console's height; ``max_events`` caps them (default: that of
    :func:`render` or :func:`render_pair`).

    ``frames`` counts the frames handed to the terminal, ``dropped`` the ones
    skipped because the previous frame was still being drawn. ``live`` is the
    :class:`rich.live.Live` of the current or last run.

    ``redirect`` is rich's stdout/stderr redirection; it is off because a log
    line written through it would wait for the terminal in the writing
    (agent) thread. With the dashboard on, send logs elsewhere.
    """

    stop_timeout = 1.0
    """Seconds :meth:`run` waits, while being cancelled, to restore the terminal."""

    def __init__(self, console: Console | None = None, *, max_events: int | None = None,
                 labels: tuple[str, str] = ("left", "right"), redirect: bool = False):
        self.console = console if console is not None else Console()
        self.max_events = max_events
        self.labels = labels
        self.redirect = redirect
        self.frames = 0
        self.dropped = 0
        self.live: Live | None = None
        self._drawing = False

    def renderable(self, value: Snapshot | tuple[Snapshot | None, Snapshot | None]) -> RenderableType:
        """What one value of ``get_snapshot`` looks like on this console."""
        height = self.console.size.height
        if isinstance(value, Snapshot):
            return render(value, height=height, max_events=8 if self.max_events is None else self.max_events)
        left, right = value
        return render_pair(left, right, height=height, max_events=self.max_events, labels=self.labels)

    async def run(self, get_snapshot: Callable[[], Snapshot | tuple[Snapshot | None, Snapshot | None]], *,
                  refresh: float = 0.25, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Draw a frame every ``refresh`` seconds until cancelled, then restore the terminal.

        ``get_snapshot`` is called in the Trio thread and must be cheap and
        never block. Reports started once the display is up.
        """
        if refresh <= 0:
            raise ValueError(f"refresh must be positive, got {refresh!r}")
        live = Live(console=self.console, auto_refresh=False, screen=False, transient=False,
                    redirect_stdout=self.redirect, redirect_stderr=self.redirect)
        self.live = live
        self._drawing = False
        try:
            # Even hiding the cursor is a terminal write: it goes to a thread too.
            await trio.to_thread.run_sync(live.start, abandon_on_cancel=True)
            async with trio.open_nursery() as nursery:
                task_status.started()
                deadline = trio.current_time()
                while True:
                    self._frame(nursery, get_snapshot)
                    deadline += refresh
                    # After a stall, resume the beat from now instead of
                    # catching up with a burst of frames.
                    deadline = max(deadline, trio.current_time())
                    await trio.sleep_until(deadline)
        finally:
            # Restore the cursor even when cancelled, but never wait on a
            # stuck terminal for longer than stop_timeout. Live's lock makes
            # the stop wait for an abandoned frame still being drawn.
            with trio.move_on_after(self.stop_timeout, shield=True):
                await trio.to_thread.run_sync(live.stop, abandon_on_cancel=True)

    def _frame(self, nursery: trio.Nursery, get_snapshot: Callable[[], object]) -> None:
        if self._drawing:
            self.dropped += 1
            return
        renderable = self.renderable(get_snapshot())
        self._drawing = True  # before start_soon: the next tick may come first
        self.frames += 1
        nursery.start_soon(self._draw, renderable)

    async def _draw(self, renderable: RenderableType) -> None:
        assert self.live is not None
        try:
            # The layout happens here too, in the worker: the renderable only
            # holds the frozen snapshot, which is safe to share with a thread.
            draw = functools.partial(self.live.update, renderable, refresh=True)
            await trio.to_thread.run_sync(draw, abandon_on_cancel=True)
        finally:
            self._drawing = False

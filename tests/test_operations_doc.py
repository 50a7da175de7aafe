"""docs/operations.md must stay true to the code it documents.

- The configuration reference lists exactly the keys the loader accepts
  (``hanode.config._KEYS``), each documented default is the loader's default
  (a file that sets the key to it loads to the same settings as one that
  leaves it out), and each key documented as required is required.
- Every status token and every CLI subcommand and option is documented, and
  chapter 2 documents no command the CLI lacks.
- Sections the agent does not serve are marked reserved, and only those (in
  this release it serves every section); an agent with ``[http]`` and
  ``[control]`` does answer as chapters 11 and 12 say.
- What the operating chapters quote is the code's: switchover refusals, HTTP
  paths, ``/status`` keys, metric names and labels, log formats, the notify
  hook's arguments and environment, the systemd unit's settings, the demo's
  keys, and the bounds (timeouts, limits) they state.
- The doc's TOML examples load; the numbers it derives from the defaults hold.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
import trio

from hanode import cli, config
from hanode.config import ConfigError, loads
from hanode.core.settings import Timers
from hanode.core.status import TOKENS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations.md"
TEXT = DOC.read_text(encoding="utf-8")

RESERVED = "reserved: accepted and validated, served from a later release"


# -- reading the doc -------------------------------------------------------------------------

def _chapter(number: int) -> str:
    """The text of ``## N. ...`` up to the next ``## `` heading."""
    m = re.search(rf"^## {number}\. .*?(?=^## |\Z)", TEXT, flags=re.M | re.S)
    assert m, f"docs/operations.md has no chapter {number}"
    return m.group(0)


def _subsections(chapter: str) -> dict[str, str]:
    """``### `[name]` `` or ``### `[[name]]` `` -> its text, in order."""
    parts = re.split(r"^### `\[\[?([a-z_]+)\]\]?`\s*$", chapter, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


_ROW = re.compile(r"^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \| (.+) \| (.+) \|$")


def _reference() -> dict[str, dict[str, dict[str, str]]]:
    """section -> key -> {type, default, rules, meaning}, from chapter 3's tables."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for section, body in _subsections(_chapter(3)).items():
        rows: dict[str, dict[str, str]] = {}
        for line in body.splitlines():
            m = _ROW.match(line.strip())
            if m:
                key, type_, default, rules, meaning = (g.strip() for g in m.groups())
                assert key not in rows, f"[{section}] {key} documented twice"
                rows[key] = {"type": type_, "default": default, "rules": rules, "meaning": meaning}
        result[section] = rows
    return result


REFERENCE = _reference()


def _documented_keys() -> set[tuple[str, str]]:
    return {(s, k) for s, rows in REFERENCE.items() for k in rows}


# -- building files ------------------------------------------------------------------------------

_BASE = """\
[node]
name = "alpha"

[peer]
name = "beta"
address = "127.0.0.1:7410"

[election]
listen = "127.0.0.1:7400"
"""

_PROCESS = {"id": '"1"', "name": '"db"'}
_COMMAND = {"id": '"2"', "name": '"vip"', "on_active": '"true"', "on_standby": '"true"'}
def _key_file() -> str:
    """A real cluster key file: [peer] key_file is read when the config loads."""
    from hanode.peerauth import write_key

    path = os.path.join(tempfile.mkdtemp(prefix="hanode-doc-key-"), "cluster.key")
    write_key(path)
    return path


# Values for keys that have no default, to build a section in which one key is missing.
_SAMPLE = {
    ("peer", "key_file"): f'"{_key_file()}"',
    ("election", "fence"): '"true"',
    ("components", "listen"): '"/tmp/hanode-doc-test/a.sock"',
    ("status", "listen"): '"127.0.0.1:7401"',
    ("control", "path"): '"/tmp/hanode-doc-test/a.ctl"',
    ("http", "listen"): '"127.0.0.1:7402"',
    ("hooks", "notify"): '"true"',
}


def _component_keys_of(kind: str) -> dict[str, str]:
    return dict(_COMMAND if kind == "command" else _PROCESS)


def _kind_for(key: str) -> str:
    """The kind of component a key can be tried on alone (on_active and
    on_standby go together: they are tried on a full command component)."""
    command_only = set(getattr(config, "_COMMAND_ONLY", ("check", "check_interval", "command_timeout")))
    return "command" if key in command_only else "process"


_BASE_SECTIONS = ("node", "peer", "election")


def _base_values(section: str) -> dict[str, str]:
    return {k: _toml(v) for k, v in tomllib.loads(_BASE)[section].items()}


def _file(section: str, values: dict[str, str]) -> str:
    """A valid base file in which ``section`` holds exactly ``values`` (TOML literals)."""
    lines: list[str] = []
    for name in _BASE_SECTIONS:
        table = values if name == section else _base_values(name)
        lines += [f"[{name}]", *(f"{k} = {v}" for k, v in table.items()), ""]
    if section == "component":
        lines += ["[components]", f"listen = {_SAMPLE[('components', 'listen')]}", "", "[[component]]"]
        lines += [f"{k} = {v}" for k, v in values.items()]
    elif section not in _BASE_SECTIONS:
        lines += [f"[{section}]", *(f"{k} = {v}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _required(section: str) -> set[str]:
    return {k for k, row in REFERENCE.get(section, {}).items() if row["default"] == "*required*"}


def _minimal(section: str, key: str) -> dict[str, str]:
    """A valid ``section`` without ``key``: its other required keys, with sample values."""
    if section == "component":
        return {k: v for k, v in _component_keys_of(_kind_for(key)).items() if k != key}
    if section in _BASE_SECTIONS:
        return {k: v for k, v in _base_values(section).items() if k != key}
    return {k: _SAMPLE[(section, k)] for k in _required(section) if k != key}


def _sample(section: str, key: str) -> dict[str, str]:
    """A valid ``section`` that sets ``key`` (to a sample value when it has no default)."""
    default = REFERENCE[section][key]["default"]
    if default.startswith("`"):
        return {**_minimal(section, key), key: default.strip("`")}
    if section == "component":
        return {**_COMMAND} if key in ("on_active", "on_standby") else {**_minimal(section, key), key: _COMMAND.get(key, _PROCESS.get(key, '"true"'))}
    if (section, key) in _SAMPLE:
        return {**_minimal(section, key), key: _SAMPLE[(section, key)]}
    if section in _BASE_SECTIONS:
        return {**_minimal(section, key), key: '"alpha"' if key == "preferred" else _base_values(section)[key]}
    raise KeyError(f"no sample value for [{section}] {key}: add one to _SAMPLE")


# -- the configuration reference -------------------------------------------------------------------

def test_reference_has_a_table_for_every_section():
    known = getattr(config, "_KEYS", None)
    if known is None:
        pytest.skip("hanode.config exposes no key list")
    assert list(REFERENCE) == list(known), "chapter 3 must have one ### `[section]` per section, in the loader's order"


def test_reference_lists_exactly_the_keys_the_loader_accepts():
    known = getattr(config, "_KEYS", None)
    if known is None:
        pytest.skip("hanode.config exposes no key list; the default and required checks below still run")
    accepted = {(s, k) for s, keys in known.items() for k in keys}
    documented = _documented_keys()
    assert accepted - documented == set(), "keys the loader accepts but the reference does not document"
    assert documented - accepted == set(), "keys the reference documents but the loader refuses"


@pytest.mark.parametrize("section,key", sorted(_documented_keys()))
def test_every_documented_key_is_accepted_by_the_loader(section, key):
    # Independent of _KEYS: a key the loader does not know makes it fail.
    values = _sample(section, key)
    assert key in values
    loads(_file(section, values))


@pytest.mark.parametrize("section,key", sorted(_documented_keys()))
def test_default_cell_is_a_literal_required_or_none(section, key):
    default = REFERENCE[section][key]["default"]
    assert default in ("*required*", "*none*") or re.fullmatch(r"`[^`]+`", default), (
        f"[{section}] {key}: default must be a TOML literal in backticks, *required* or *none*, got {default!r}"
    )


_WITH_DEFAULTS = sorted((s, k) for s, rows in REFERENCE.items() for k, r in rows.items() if r["default"].startswith("`"))


@pytest.mark.parametrize("section,key", _WITH_DEFAULTS)
def test_documented_default_is_the_loaders_default(section, key):
    literal = REFERENCE[section][key]["default"].strip("`")
    tomllib.loads(f"x = {literal}")  # a valid TOML value
    without = _minimal(section, key)
    with_default = {**without, key: literal}
    assert loads(_file(section, with_default)) == loads(_file(section, without)), (
        f"[{section}] {key} = {literal} does not load to the same settings as leaving it out"
    )


_REQUIRED = sorted((s, k) for s, rows in REFERENCE.items() for k, r in rows.items() if r["default"] == "*required*")


@pytest.mark.parametrize("section,key", _REQUIRED)
def test_documented_required_key_is_required(section, key):
    text = _file(section, _minimal(section, key))
    with pytest.raises(ConfigError) as err:
        loads(text)
    where = "component[0]" if section == "component" else section
    assert err.value.key == f"{where}.{key}"


@pytest.mark.parametrize("section,key", sorted((s, k) for s, rows in REFERENCE.items() for k, r in rows.items() if r["default"] == "*none*"))
def test_documented_optional_key_may_be_left_out(section, key):
    loads(_file(section, _minimal(section, key)))


def test_components_section_is_required_with_a_component():
    with pytest.raises(ConfigError) as err:
        loads(_BASE + '\n[[component]]\nid = "1"\nname = "db"\n')
    assert err.value.key == "components.listen"
    assert "required when a `[[component]]` is configured" in TEXT


def test_validation_limits_are_the_loaders():
    assert f"1–{config.MAX_NAME} characters" in TEXT
    assert f"1–{config.MAX_COMPONENT_ID} ASCII digits" in TEXT
    assert f"at most {config.MAX_UNIX_PATH}" in TEXT
    with pytest.raises(ConfigError):
        loads(_BASE.replace('name = "alpha"', f'name = "{"a" * (config.MAX_NAME + 1)}"'))
    with pytest.raises(ConfigError, match="dead_after"):
        loads(_BASE + "dead_after = 1\n")
    loads(_BASE + "dead_after = 2\n")
    assert "integer >= 2" in REFERENCE["election"]["dead_after"]["rules"]


def test_command_only_and_process_only_keys_are_marked():
    for key in getattr(config, "_COMMAND_ONLY", ()):
        assert "command components only" in REFERENCE["component"][key]["rules"], key
        with pytest.raises(ConfigError):
            loads(_file("component", {**_PROCESS, key: "1.0" if key != "check" else '"true"'}))
    for key in getattr(config, "_PROCESS_ONLY", ()):
        assert "process components only" in REFERENCE["component"][key]["rules"], key
        with pytest.raises(ConfigError):
            loads(_file("component", {**_COMMAND, key: "1.0"}))


# -- reserved sections ----------------------------------------------------------------------------

# Section -> the AgentConfig field that carries it.
_SERVED_BY = {"control": "control_path", "http": "http_listen", "hooks": "notify"}


def _agent_uses(field: str) -> bool:
    sources = [*(ROOT / "src" / "hanode" / "agent").glob("*.py"), ROOT / "src" / "hanode" / "cli.py"]
    return any(re.search(rf"\.{field}\b", p.read_text(encoding="utf-8")) for p in sources)


@pytest.mark.parametrize("section", sorted(_SERVED_BY))
def test_reserved_sections_are_those_the_agent_does_not_serve(section):
    field = _SERVED_BY[section]
    assert field in config.AgentConfig.__dataclass_fields__
    body = _subsections(_chapter(3))[section].lower()
    glance = re.search(rf"^\| `\[{section}\]` \|.*$", _chapter(3), flags=re.M)
    assert glance, f"[{section}] missing from the sections-at-a-glance table"
    if _agent_uses(field):
        assert RESERVED not in body and RESERVED not in glance.group(0).lower(), (
            f"the agent now serves [{section}]: update docs/operations.md"
        )
    else:
        assert RESERVED in body and RESERVED in glance.group(0).lower(), (
            f"the agent does not serve [{section}] ({field}): the doc must say it is {RESERVED!r}"
        )


def test_no_other_section_is_marked_reserved():
    for section, body in _subsections(_chapter(3)).items():
        if section not in _SERVED_BY:
            assert "reserved" not in body.lower(), section


def test_sections_at_a_glance_say_which_are_served():
    # Every row of the table: "yes" (possibly followed by what) when served,
    # the reserved wording when not; the same verdict as the test above.
    rows = re.findall(r"^\| `\[\[?([a-z_]+)\]\]?`(?:, `\[[a-z_]+\]`)* \| [^|]+ \| ([^|]+) \|$", _chapter(3), flags=re.M)
    assert {s for s, _ in rows} >= set(_SERVED_BY) | {"node", "components", "component", "status", "limits"}
    for section, served in rows:
        field = _SERVED_BY.get(section)
        if field is None or _agent_uses(field):
            assert served.strip().startswith("yes"), (section, served)
        else:
            assert served.strip() == RESERVED, (section, served)


# -- status tokens ----------------------------------------------------------------------------------

def test_every_status_token_is_documented():
    table = re.findall(r"^\| `([a-z]+)` \|", _chapter(8), flags=re.M)
    assert table == list(TOKENS), "chapter 8's token table must list hanode.core.status.TOKENS, in order"


# -- the command line ---------------------------------------------------------------------------------

class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


def _cli_parser(monkeypatch) -> argparse.ArgumentParser:
    def capture(self, *args, **kwargs):
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Captured) as got:
        cli.main([])
    return got.value.parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_cli_subcommand_and_option_is_documented(monkeypatch):
    subcommands = _subcommands(_cli_parser(monkeypatch))
    assert subcommands, "found no subcommands in hanode.cli"
    chapter = _chapter(2)
    for name, sub in subcommands.items():
        assert f"`hanode {name}" in chapter, f"`hanode {name}` is not documented in chapter 2"
        for action in sub._actions:
            for option in action.option_strings:
                if option in ("-h", "--help"):
                    continue
                assert option in chapter, f"`hanode {name} {option}` is not documented in chapter 2"


def test_chapter_2_documents_no_command_the_cli_lacks(monkeypatch):
    subcommands = _subcommands(_cli_parser(monkeypatch))
    chapter = _chapter(2)
    table = re.findall(r"^\| `hanode ([a-z-]+)", chapter, flags=re.M)
    assert table, "chapter 2 has no command table"
    for name in table:
        if not name.startswith("-"):  # `hanode --version`
            assert name in subcommands, f"chapter 2 documents `hanode {name}`, which the CLI does not have"
    # Commands announced for a later release must not exist yet.
    m = re.search(r"^Not in this release.*?(?=\n\n)", chapter, flags=re.M | re.S)
    for name in re.findall(r"`hanode ([a-z-]+)`", m.group(0) if m else ""):
        assert name not in subcommands, f"`hanode {name}` exists now: document it"


def test_cli_exit_statuses(tmp_path):
    assert cli.main(["check-config", "--config", str(ROOT / "examples" / "alpha.toml")]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(_BASE + "dead_after = 1\n")
    assert cli.main(["check-config", "--config", str(bad)]) == 2
    assert cli.main(["status", "not-an-address"]) == 2
    assert "0 valid, 2 invalid" in _chapter(2)
    assert "2 unreachable" in _chapter(2)


# -- examples and numbers -------------------------------------------------------------------------------

def test_toml_examples_in_the_doc_load():
    blocks = re.findall(r"```toml\n(.*?)```", TEXT, flags=re.S)
    assert blocks
    for block in blocks:
        if block.lstrip().startswith("[node]"):
            loads(block)
        else:
            tomllib.loads(block)


def test_quick_start_matches_the_example_files():
    for name in ("alpha", "beta"):
        cfg = config.load(ROOT / "examples" / f"{name}.toml")
        assert f"examples/{name}.toml" in TEXT
        assert f"hanode status {cfg.status_listen}" in TEXT
        assert f"--connect {cfg.components_listen}" in TEXT


def test_numbers_derived_from_the_default_timers():
    t = Timers()
    assert f"`heartbeat_interval = {t.heartbeat_interval:g}`" in TEXT
    assert f"`dead_after = {t.dead_after}`" in TEXT
    assert f"{t.dead_time:g} s" in TEXT
    assert f"{t.freeze_time:g} s" in TEXT
    for key, value in (
        ("heartbeat_interval", t.heartbeat_interval),
        ("dead_after", t.dead_after),
        ("startup_grace", t.startup_grace),
        ("handover_after", t.handover_after),
    ):
        assert tomllib.loads(f"x = {REFERENCE['election'][key]['default'].strip('`')}")["x"] == value, key


def test_guard_lock_path_is_the_agents():
    from hanode.agent.agent import Agent

    cfg = config.load(ROOT / "examples" / "alpha.toml")
    lock = Agent(cfg, listen=False, guard=False).guard_lock
    assert Path(lock).name == "hanode-alpha.guard.lock"
    assert "/tmp/hanode-NODE.guard.lock" in TEXT


def test_unit_file_is_mentioned_only_if_it_exists():
    if not (ROOT / "contrib" / "hanode.service").exists():
        assert "contrib/hanode.service" not in TEXT


# -- the operating chapters (10-13) and what they quote from the code ---------------------------------

def _part(heading: str) -> str:
    """The text under ``### heading...`` up to the next ``##``/``###`` heading."""
    m = re.search(rf"^### {re.escape(heading)}.*?(?=^##|\Z)", TEXT, flags=re.M | re.S)
    assert m, f"docs/operations.md has no section {heading!r}"
    return m.group(0)


def _flat(text: str) -> str:
    """``text`` with every run of white space (line breaks, indents) as one space."""
    return " ".join(text.split())


def _first_cells(text: str) -> list[str]:
    """The backticked first cell of each table row in ``text``."""
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.M)


def _template_regex(node) -> str:
    """A regex for the string (or f-string) ``node``: each {...} becomes ``.+``."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    return "".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in node.values)


def test_switchover_refusals_are_the_codes():
    import ast
    import inspect
    import textwrap

    from hanode.core.election import Election

    tree = ast.parse(textwrap.dedent(inspect.getsource(Election.switchover_refusal)))
    templates = [_template_regex(n.value) for n in ast.walk(tree) if isinstance(n, ast.Return) and n.value is not None
                 and not (isinstance(n.value, ast.Constant) and n.value.value is None)]
    assert templates
    part = _part("11.1")
    assert "hanode switchover: switchover refused by alpha: " in part
    documented = _first_cells(part)
    for text in documented:
        assert any(re.fullmatch(r, text) for r in templates), f"refusal {text!r} is not one the code gives"
    for r in templates:
        assert any(re.fullmatch(r, text) for text in documented), f"the refusal /{r}/ is not documented in 11.1"
    # The prefix and the other outcomes are the control socket's words.
    from hanode import control

    source = inspect.getsource(control)
    for fixed in ("switchover refused by", "did not take the role;", "switchover interrupted:", "not finished within"):
        assert fixed in source and fixed in _flat(part), fixed
    assert f"within {control.READ_TIMEOUT:g} s and fit in {control.MAX_REQUEST} octets" in _flat(_part("11.3"))


def _full_snapshot():
    from hanode.snapshot import ComponentView, EventView, PeerView, Snapshot

    return Snapshot(
        name="alpha", state="active", role="active", status="active", in_state_for=1.0, healthy=True,
        maintenance=False, witness=True,
        peer=PeerView("beta", "127.0.0.1:7410", True, True, 0.05, 0.001, True),
        components=(
            ComponentView("1", "db", "process", 10, True, True, "active", "healthy", 0.05, 10.0),
            ComponentView("2", "vip", "command", 20, True, True, "active", "healthy", 0.4, None),
        ),
        events=(EventView(1.0, "info", "status", "status promoting -> active"),),
        clients=1, failovers=1, taken_at=2.0, pid=1,
    )


def test_http_paths_and_status_keys_are_the_codes():
    from hanode import web

    chapter = _chapter(12)
    assert [c.split()[0] for c in _first_cells(chapter) if c.startswith("/")] == list(web.PATHS)
    assert "not found; paths: " + " ".join(web.PATHS) in _flat(chapter)
    doc = _full_snapshot().to_dict()
    keys = set(doc) | set(doc["peer"]) | set(doc["components"][0]) | set(doc["events"][0])
    status_part = chapter[chapter.index("**`/status`** keys"):]
    for key in keys:
        assert f"`{key}`" in status_part, f"/status key {key!r} is not documented in chapter 12"
    from hanode.snapshot import MAX_EVENTS

    assert f"the latest {MAX_EVENTS}:" in _flat(status_part)


def test_http_bounds_are_the_codes():
    import inspect

    from hanode.web import serve_http

    params = inspect.signature(serve_http).parameters
    chapter = _flat(_chapter(12))
    assert f"more than {params['idle_timeout'].default:g} s" in chapter
    assert f"beyond {params['max_connections'].default} open connections" in chapter


def _metric_families() -> dict[str, set[str]]:
    """Sample name -> its labels, as /metrics renders a snapshot that has every value."""
    from hanode.metrics import render_metrics

    families: dict[str, set[str]] = {}
    for line in render_metrics(_full_snapshot()).decode().splitlines():
        if line and not line.startswith("#"):
            m = re.match(r"([a-z_]+)(?:\{(.*)\})? ", line)
            assert m, line
            labels = {pair.split("=")[0] for pair in (m.group(2) or "").split(",") if pair}
            families.setdefault(m.group(1), set()).update(labels)
    return families


def test_metrics_are_documented_with_their_labels():
    families = _metric_families()
    table = _part("12.2")
    documented: dict[str, set[str]] = {}
    for cell in _first_cells(table):
        m = re.fullmatch(r"(hanode_[a-z_]+)(?:\{([a-z_,]+)\})?", cell)
        assert m, f"not a metric: {cell!r}"
        documented[m.group(1)] = {"node", *filter(None, (m.group(2) or "").split(","))}
    assert documented == families, "chapter 12.2's metric table must list exactly the metrics, with their labels"
    for name in set(re.findall(r"\b(hanode_[a-z_]+)\b", TEXT)):
        assert name in families, f"the doc mentions {name}, which /metrics does not have"


def test_log_formats_are_the_codes():
    import json
    import logging
    import sys

    from hanode.logs import JsonFormatter, TextFormatter

    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("hanode.agent", logging.WARNING, __file__, 1, "election: x", None, sys.exc_info())
    keys = set(json.loads(JsonFormatter("alpha").format(record)))
    chapter = _chapter(9)
    intro = chapter[: chapter.index("| line | meaning |")]
    assert keys == {"ts", "level", "node", "logger", "msg", "exc"}, "update chapter 9's list of JSON keys"
    for key in keys:
        assert f"`{key}`" in intro, f"JSON log key {key!r} is not documented"
    text = TextFormatter("alpha").format(record).splitlines()[0]
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} alpha WARNING election: x", text), text
    assert "`HH:MM:SS.mmm NODE LEVEL   kind: text`" in intro


async def test_notify_hook_arguments_and_environment_are_the_documented(tmp_path):
    from hanode.hooks import Notifier

    out = tmp_path / "out.txt"
    command = f'sh -c \'echo "$1 $2" > {out}; env | grep ^HANODE_ | cut -d= -f1 | sort >> {out}\' hook'
    notifier = Notifier(command, "alpha", timeout=10)
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            notifier.notify("none", "electing")
            notifier.close()
    arguments, *environment = out.read_text().splitlines()
    assert arguments == "none electing"
    hook = _flat(_chapter(13))
    documented = set(re.findall(r"`(HANODE_[A-Z_]+)`", hook))
    assert set(environment) == documented, "chapter 13's variables must be those a hook call gets"
    assert f"for up to {notifier.drain_timeout:g} s more" in hook
    assert f"may run {cli.NOTIFY_TIMEOUT:g} s" in hook
    assert "OLD `none`" in hook


async def test_an_agent_serves_http_and_control_as_documented(tmp_path):
    """[http] and [control] configured: the listeners answer as chapters 11 and 12 say."""
    import json
    import os
    import socket
    import stat

    from hanode.agent.agent import Agent

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    election, peer, http = free_port(), free_port(), free_port()
    ctl = tmp_path / "a.ctl"
    cfg = loads(
        f'[node]\nname = "alpha"\n[peer]\nname = "beta"\naddress = "127.0.0.1:{peer}"\n'
        f'[election]\nlisten = "127.0.0.1:{election}"\nstartup_grace = 60\n'
        f'[control]\npath = "{ctl}"\n[http]\nlisten = "127.0.0.1:{http}"\n'
    )

    async def get(path: str) -> tuple[int, bytes]:
        stream = await trio.open_tcp_stream("127.0.0.1", http)
        async with stream:
            await stream.send_all(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            data = b""
            while chunk := await stream.receive_some(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    async def control(request: dict) -> dict:
        stream = await trio.open_unix_socket(str(ctl))
        async with stream:
            await stream.send_all(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                data += await stream.receive_some(65536)
        return json.loads(data)

    agent = Agent(cfg, guard=False)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(agent.run)
            code, body = await get("/active")
            assert code == 503 and json.loads(body) == {"node": "alpha", "status": "electing", "active": False}
            code, body = await get("/status")
            assert code == 200 and json.loads(body)["name"] == "alpha"
            code, body = await get("/nowhere")
            assert code == 404 and body.decode().strip() in _flat(_chapter(12))
            assert stat.S_IMODE(os.stat(ctl).st_mode) == 0o600
            reply = await control({"command": "switchover", "timeout": 1})
            assert reply["ok"] is False
            refusal = reply["error"].removeprefix("switchover refused by alpha: ")
            # 11.1 shows the refusal of a standby and says an unassigned node's reads likewise.
            assert f"`{refusal.replace('unassigned', 'standby')}`" in _part("11.1"), refusal
            assert "`unassigned` likewise" in _flat(_part("11.1"))
            reply = await control({"command": "maintenance", "on": True})
            assert reply == {"ok": True, "text": "alpha: maintenance on"}
            assert "alpha: maintenance on" in _part("11.3")
            assert (await control({"command": "status"}))["snapshot"]["maintenance"] is True
            nursery.cancel_scope.cancel()
    assert not ctl.exists(), "the doc says the control socket is removed at a stop"


def test_dashboard_words_are_the_codes():
    from hanode import dashboard
    from hanode.agent import observe

    chapter = _flat(_chapter(10))
    assert f"`{dashboard.MAINTENANCE_BANNER}`" in chapter
    assert f"At {dashboard.FULL_WIDTH} columns and wider" in chapter
    assert f"Below {dashboard.FULL_WIDTH} columns" in chapter
    assert f"narrower than {dashboard.PAIR_WIDTH} columns" in _flat(_part("1.4"))
    import inspect

    refresh = inspect.signature(dashboard.Dashboard.run).parameters["refresh"].default
    assert refresh == 0.25 and "four times a second" in chapter
    assert observe.RTT_PERIOD == 1.0 and "one a second" in chapter


def test_demo_keys_and_options_are_documented():
    demo = pytest.importorskip("hanode.demo")
    part = _part("1.4")
    keys = [k for k, _ in getattr(demo, "KEYS", ())]
    if not keys:
        pytest.skip("hanode.demo has no KEYS table")
    documented = _first_cells(part[part.index("| key |"):])
    assert documented == keys, "section 1.4's key table must list the demo's keys, in order"
    flat = _flat(part)
    assert f"within {demo.CHECK_DEADLINE:g} s" in flat
    assert f"unhealthy for {demo.FAIL_FOR:g} s" in flat
    slow = demo.SLOW_TIMERS
    assert f"(`heartbeat_interval` {slow['heartbeat_interval']:g} s, `dead_after` {slow['dead_after']:g})" in flat


def test_unit_file_settings_are_documented():
    unit = ROOT / "contrib" / "hanode.service"
    if not unit.exists():
        pytest.skip("no unit file")
    settings = dict(
        line.split("=", 1) for line in unit.read_text().splitlines()
        if re.match(r"^[A-Z][A-Za-z]+=", line)
    )
    part = _flat(_part("1.3"))
    for key in ("Type", "NotifyAccess", "WatchdogSec", "WatchdogSignal", "KillMode", "TimeoutStopSec",
                "Restart", "RestartSec", "RestartPreventExitStatus", "NoNewPrivileges"):
        assert f"`{key}={settings[key]}`" in part, f"{key}={settings[key]} (contrib/hanode.service) is not in 1.3"
    assert f"`ExecStart={settings['ExecStart']}`" in part
    watchdog = float(settings["WatchdogSec"].rstrip("s"))
    assert f"every {watchdog / 2:g} s (half of it)" in part

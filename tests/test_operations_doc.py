"""docs/operations.md must stay true to the code it documents.

- The configuration reference lists exactly the keys the loader accepts
  (``hanode.config._KEYS``), each documented default is the loader's default
  (a file that sets the key to it loads to the same settings as one that
  leaves it out), and each key documented as required is required.
- Every status token and every CLI subcommand and option is documented.
- Sections the agent does not serve yet are marked reserved, and only those.
- The doc's TOML examples load; the numbers it derives from the defaults hold.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

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
# Values for keys that have no default, to build a section in which one key is missing.
_SAMPLE = {
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
    if section in _BASE_SECTIONS:
        return {**_minimal(section, key), key: '"alpha"' if key == "preferred" else _base_values(section)[key]}
    return {**_minimal(section, key), key: _SAMPLE[(section, key)]}


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


def test_commands_announced_for_later_are_not_in_the_cli(monkeypatch):
    subcommands = _subcommands(_cli_parser(monkeypatch))
    m = re.search(r"^Not in this release.*?(?=\n\n)", _chapter(2), flags=re.M | re.S)
    assert m, "chapter 2 should say which planned commands are missing"
    for name in re.findall(r"`hanode ([a-z-]+)`", m.group(0)):
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

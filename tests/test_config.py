"""The configuration loader (SPEC section 7): the documented example, the
shipped loopback pair, and one case per validation rule.

Every rejected case asserts the exact dotted key (in backticks, after the file
name) and the words that tell the operator what to write instead. Cases are
built from one valid base config (``BASE``, checked to load) with one key
changed, so that each case fails for its own reason only.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from hanode.config import (
    ComponentConfig,
    ConfigError,
    Endpoint,
    Limits,
    load,
    loads,
    parse_endpoint,
)
from hanode.core.settings import ComponentSpec, NodeSpec, Timers
from hanode.errors import HanodeError

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXAMPLE = ROOT / "tests" / "data" / "spec_example.toml"
EXAMPLES = ROOT / "examples"

DELETE = object()

# A valid config as raw TOML literals: section -> key -> literal.
BASE: dict[str, dict[str, str]] = {
    "node": {"name": '"alpha"'},
    "peer": {"name": '"beta"', "address": '"127.0.0.1:7410"'},
    "election": {"listen": '"127.0.0.1:7400"', "preferred": '"alpha"', "witness": '["127.0.0.1:22"]'},
    "components": {"listen": '"/tmp/hanode/alpha.sock"'},
    "status": {"listen": '"127.0.0.1:7401"'},
    "control": {"path": '"/tmp/hanode/alpha.ctl"'},
    "http": {"listen": '"127.0.0.1:7402"'},
    "hooks": {"notify": '"/usr/local/bin/on-change"'},
    "limits": {"max_frame": "16384"},
}
BASE_COMPONENTS: list[dict[str, str]] = [
    {"id": '"1"', "name": '"db"', "order": "10"},
    {"id": '"2"', "name": '"vip"', "order": "20", "on_active": '"touch /tmp/x"', "on_standby": '"rm -f /tmp/x"', "check": '"true"'},
]


def render(
    changes: dict[str, dict[str, object]] | None = None,
    components: list[dict[str, str]] | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    """BASE with ``changes`` applied (a literal, or DELETE to remove a key);
    ``changes["component[i]"]`` edits the i-th component; ``drop`` removes sections."""
    sections = {s: dict(keys) for s, keys in BASE.items() if s not in drop}
    comps = [dict(c) for c in (BASE_COMPONENTS if components is None else components)]
    for where, edits in (changes or {}).items():
        if where.startswith("component["):
            target = comps[int(where[len("component[") : -1])]
        else:
            target = sections.setdefault(where, {})
        for key, value in edits.items():
            if value is DELETE:
                target.pop(key, None)
            else:
                target[key] = value  # type: ignore[assignment]
    out: list[str] = []
    for section, keys in sections.items():
        out.append(f"[{section}]")
        out += [f"{k} = {v}" for k, v in keys.items()]
        out.append("")
    for comp in comps:
        out.append("[[component]]")
        out += [f"{k} = {v}" for k, v in comp.items()]
        out.append("")
    return "\n".join(out)


def rejected(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        loads(text, path="node.toml")
    return info.value


def assert_names(err: ConfigError, key: str, words: tuple[str, ...]) -> None:
    msg = str(err)
    assert msg.startswith(f"node.toml: "), msg
    assert f"`{key}`" in msg or f"`[{key}]`" in msg, msg
    assert err.key == key, msg
    assert err.file == "node.toml"
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


# -- what loads ------------------------------------------------------------------------


def test_base_config_loads():
    cfg = loads(render(), path="node.toml")
    assert cfg.name == "alpha" and cfg.peer_name == "beta"
    assert [c.kind for c in cfg.components] == ["process", "command"]


def test_spec_example_loads_with_expected_values():
    cfg = load(SPEC_EXAMPLE)
    assert cfg.path == str(SPEC_EXAMPLE)
    assert cfg.name == "alpha"
    assert cfg.peer_name == "beta"
    assert cfg.peer_address == Endpoint(host="192.0.2.12", port=7400)
    assert str(cfg.peer_address) == "192.0.2.12:7400"
    assert cfg.listen == Endpoint(host="0.0.0.0", port=7400)
    assert cfg.timers == Timers(heartbeat_interval=0.1, dead_after=3, startup_grace=2.0, handover_after=1.0)
    assert cfg.preferred == "alpha"
    assert cfg.witness == (Endpoint(host="192.0.2.1", port=22),)
    assert cfg.components_listen == Endpoint(path="/run/hanode/alpha.sock")
    assert cfg.components_listen.is_unix
    assert cfg.components == (
        ComponentConfig(id="1", name="db", order=10, required=True, set_role_timeout=5.0),
        ComponentConfig(
            id="2",
            name="vip",
            order=20,
            on_active="ip addr replace 192.0.2.100/24 dev eth0",
            on_standby="ip addr del 192.0.2.100/24 dev eth0 || true",
            check="true",
            check_interval=1.0,
            command_timeout=10.0,
        ),
    )
    assert [c.kind for c in cfg.components] == ["process", "command"]
    assert cfg.status_listen == Endpoint(host="0.0.0.0", port=7401)
    assert cfg.control_path == "/run/hanode/alpha.ctl"
    assert cfg.http_listen == Endpoint(host="127.0.0.1", port=7402)
    assert cfg.notify == "/usr/local/bin/on-change"
    assert cfg.limits == Limits()


def test_spec_example_is_the_spec_block_verbatim():
    """The copy keeps the comments of SPEC section 7 (checked when SPEC is at hand)."""
    text = SPEC_EXAMPLE.read_text()
    assert '[[component]]                   # a component the agent runs as commands' in text
    assert 'notify = "/usr/local/bin/on-change"   # the old and new status as arguments' in text
    spec = Path("/work/shared/SPEC.md")
    if spec.exists():
        block = spec.read_text().split("```toml\n", 1)[1].split("```", 1)[0]
        assert text == block


def test_node_spec():
    cfg = load(SPEC_EXAMPLE)
    assert cfg.node_spec() == NodeSpec(
        name="alpha",
        peer="beta",
        timers=Timers(0.1, 3, 2.0, 1.0),
        components=(
            ComponentSpec(id="1", name="db", order=10, required=True, set_role_timeout=5.0, kind="process"),
            ComponentSpec(id="2", name="vip", order=20, required=True, kind="command", check_interval=1.0),
        ),
        preferred="alpha",
        witness=True,
    )
    no_witness = loads(render({"election": {"witness": DELETE, "preferred": DELETE}}))
    spec = no_witness.node_spec()
    assert spec.witness is False and spec.preferred is None and spec.preferred_node == "alpha"


def test_component_spec_carries_every_field():
    c = ComponentConfig(id="7", name="w", order=-3, required=False, set_role_timeout=2.5)
    assert c.spec() == ComponentSpec(id="7", name="w", order=-3, required=False, set_role_timeout=2.5, kind="process")
    c = ComponentConfig(id="8", name="v", on_active="a", on_standby="b", check_interval=0.25)
    assert c.spec() == ComponentSpec(id="8", name="v", kind="command", check_interval=0.25)


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_examples_load(name):
    cfg = load(EXAMPLES / f"{name}.toml")
    assert cfg.name == name
    assert [(c.id, c.name, c.order, c.kind) for c in cfg.components] == [("1", "db", 10, "process"), ("2", "vip", 20, "command")]
    vip = cfg.components[1]
    assert vip.check == "true"
    assert "/tmp/hanode/" in vip.on_active and "/tmp/hanode/" in vip.on_standby
    assert cfg.components_listen.is_unix and cfg.components_listen.path.startswith("/tmp/hanode/")
    assert cfg.control_path.startswith("/tmp/hanode/")


def test_examples_mirror_each_other():
    a, b = load(EXAMPLES / "alpha.toml"), load(EXAMPLES / "beta.toml")
    assert (a.name, a.peer_name) == ("alpha", "beta") == (b.peer_name, b.name)
    assert a.listen == Endpoint(host="127.0.0.1", port=7400)
    assert b.listen == Endpoint(host="127.0.0.1", port=7410)
    assert a.peer_address == b.listen and b.peer_address == a.listen
    assert a.status_listen == Endpoint(host="127.0.0.1", port=7401)
    assert b.status_listen == Endpoint(host="127.0.0.1", port=7411)
    assert a.timers == b.timers and a.preferred == b.preferred
    assert [c.spec() for c in a.components] == [c.spec() for c in b.components]
    # Both run on one machine: nothing of one may collide with the other.
    a_paths = {a.components_listen.path, a.control_path, a.components[1].on_active}
    b_paths = {b.components_listen.path, b.control_path, b.components[1].on_active}
    assert not a_paths & b_paths
    a_ports = {e.port for e in (a.listen, a.status_listen, a.http_listen)}
    b_ports = {e.port for e in (b.listen, b.status_listen, b.http_listen)}
    assert not a_ports & b_ports


def test_defaults_and_optional_sections():
    text = '[node]\nname = "a"\n[peer]\nname = "b"\naddress = "h:1"\n[election]\nlisten = "0.0.0.0:1"\n'
    cfg = loads(text)
    assert cfg.timers == Timers()
    assert cfg.preferred is None and cfg.witness == () and cfg.components == ()
    assert cfg.components_listen is None
    assert (cfg.status_listen, cfg.control_path, cfg.http_listen, cfg.notify) == (None, None, None, None)
    assert cfg.limits == Limits()
    assert cfg.path == "<string>"


def test_component_defaults():
    cfg = loads(render(components=[{"id": '"1"', "name": '"db"'}]))
    assert cfg.components == (ComponentConfig(id="1", name="db"),)
    c = cfg.components[0]
    assert (c.order, c.required, c.set_role_timeout, c.check_interval, c.command_timeout) == (0, True, 5.0, 1.0, 10.0)


def test_integers_are_fine_where_seconds_are_expected():
    cfg = loads(render({"election": {"heartbeat_interval": "1", "startup_grace": "0", "handover_after": "0"},
                        "limits": {"handshake_timeout": "2"}}))
    assert cfg.timers == Timers(heartbeat_interval=1.0, dead_after=3, startup_grace=0.0, handover_after=0.0)
    assert type(cfg.timers.heartbeat_interval) is float and type(cfg.limits.handshake_timeout) is float


def test_command_component_without_check_and_optional_component():
    comps = [{"id": '"12"', "name": '"vip"', "required": "false", "on_active": '"a"', "on_standby": '"b"', "command_timeout": "3"}]
    c = loads(render(components=comps)).components[0]
    assert c.kind == "command" and c.check is None and c.required is False and c.command_timeout == 3.0


def test_limits_are_read():
    limits = {"max_frame": "64", "max_status_clients": "1", "max_component_connections": "2",
              "client_queue": "8", "handshake_timeout": "0.5"}
    assert loads(render({"limits": limits})).limits == Limits(64, 1, 2, 8, 0.5)


def test_load_reads_a_file_and_names_it(tmp_path):
    p = tmp_path / "node.toml"
    p.write_text(render())
    assert load(p).path == str(p)
    assert load(str(p)).name == "alpha"
    p.write_text(render({"peer": {"address": '"x"'}}))
    with pytest.raises(ConfigError) as info:
        load(p)
    assert str(info.value).startswith(f"{p}: `peer.address`: expected host:port, got 'x'")


def test_load_accepts_a_byte_order_mark(tmp_path):
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + render().encode())
    assert load(p).name == "alpha"


def test_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: cannot read") and "No such file" in msg and "--config" in msg


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'[node]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load(p)
    assert "not UTF-8" in str(info.value) and "line 2" in str(info.value)


def test_config_error_is_a_hanode_and_value_error_and_pickles():
    err = rejected(render({"peer": {"address": '"x"'}}))
    assert isinstance(err, HanodeError) and isinstance(err, ValueError)
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.key == err.key == "peer.address" and back.file == "node.toml"


def test_brief_message_format():
    err = rejected(render({"peer": {"address": '"x"'}}))
    assert str(err).startswith("node.toml: `peer.address`: expected host:port, got 'x'")
    err = rejected(render({"election": {"heartbeat_intervl": "0.1"}}))
    assert str(err) == "node.toml: unknown key `election.heartbeat_intervl`; did you mean `heartbeat_interval`?"


# -- endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unix", "expected", "shown"),
    [
        ("127.0.0.1:7400", False, Endpoint(host="127.0.0.1", port=7400), "127.0.0.1:7400"),
        ("[::1]:7400", False, Endpoint(host="::1", port=7400), "[::1]:7400"),
        ("[fe80::1%eth0]:1", False, Endpoint(host="fe80::1%eth0", port=1), "[fe80::1%eth0]:1"),
        ("db-1.example.org:65535", False, Endpoint(host="db-1.example.org", port=65535), "db-1.example.org:65535"),
        ("localhost:7400", True, Endpoint(host="localhost", port=7400), "localhost:7400"),
        ("/run/hanode/a.sock", True, Endpoint(path="/run/hanode/a.sock"), "/run/hanode/a.sock"),
        ("./a.sock", True, Endpoint(path="./a.sock"), "./a.sock"),
        ("run/a.sock", True, Endpoint(path="run/a.sock"), "run/a.sock"),
    ],
)
def test_parse_endpoint_accepts(text, unix, expected, shown):
    ep = parse_endpoint(text, "k", unix=unix)
    assert ep == expected
    assert str(ep) == shown
    assert ep.is_unix == (expected.path is not None)


@pytest.mark.parametrize(
    ("text", "unix", "words"),
    [
        ("x", False, ("expected host:port, got 'x'", "no port")),
        ("a.sock", True, ("expected host:port or a unix socket path, got 'a.sock'", "./a.sock")),
        ("/run/a.sock", False, ("expected host:port, got '/run/a.sock'", "unix socket path cannot be used here")),
        ("::1:7400", False, ("in brackets", "[::1]:7400")),
        ("[nope]:7400", False, ("not an IPv6 address",)),
        ("[::1]7400", False, ("expected host:port",)),
        (":7400", False, ("no host", "0.0.0.0:7400")),
        ("192.0.2.300:1", False, ("not an IPv4 address",)),
        ("bad host:1", False, ("not a host name",)),
        ("h:0", False, ("1..65535", "'0'")),
        ("h:65536", False, ("1..65535", "'65536'")),
        ("h:http", False, ("1..65535", "'http'")),
        ("h:", False, ("1..65535",)),
        ("h:-1", False, ("1..65535",)),
        ("/run/", True, ("directory",)),
        ("/" + "x" * 107, True, ("too long", "at most 107")),
        ("/a\0b", True, ("NUL",)),
    ],
)
def test_parse_endpoint_refuses(text, unix, words):
    with pytest.raises(ConfigError) as info:
        parse_endpoint(text, "peer.address", unix=unix)
    msg = str(info.value)
    assert msg.startswith("`peer.address`: "), msg
    assert info.value.file is None and info.value.key == "peer.address"
    for w in words:
        assert w in msg, msg


def test_endpoint_needs_one_form():
    with pytest.raises(ValueError):
        Endpoint()
    with pytest.raises(ValueError):
        Endpoint(host="h", port=1, path="/p")
    with pytest.raises(ValueError):
        Endpoint(host="h")


def test_component_kind():
    assert ComponentConfig(id="1", name="a").kind == "process"
    assert ComponentConfig(id="1", name="a", on_active="x", on_standby="y").kind == "command"


# -- what is refused: one case per rule --------------------------------------------------

C0, C1 = "component[0]", "component[1]"

# (id, changes, key, words)
KEY_CASES = [
    # unknown keys, with the closest known key or the section it belongs in
    ("typo-election", {"election": {"heartbeat_intervl": "0.1"}}, "election.heartbeat_intervl", ("unknown key", "did you mean `heartbeat_interval`?")),
    ("typo-component", {C1: {"on_activ": '"x"'}}, "component[1].on_activ", ("unknown key", "did you mean `on_active`?")),
    ("typo-limits", {"limits": {"max_frames": "100"}}, "limits.max_frames", ("did you mean `max_frame`?",)),
    ("wrong-section", {"node": {"dead_after": "3"}}, "node.dead_after", ("unknown key", "belongs in [election]")),
    ("wrong-section-many", {"components": {"name": '"x"'}}, "components.name", ("belongs in [node], [peer] or [[component]]",)),
    ("no-close-key", {"hooks": {"zzz": "1"}}, "hooks.zzz", ("unknown key", "the keys of [hooks] are notify")),
    # required keys
    ("no-node-name", {"node": {"name": DELETE}}, "node.name", ("missing", 'name = "..."')),
    ("no-peer-name", {"peer": {"name": DELETE}}, "peer.name", ("missing",)),
    ("no-peer-address", {"peer": {"address": DELETE}}, "peer.address", ("missing", "host:port")),
    ("no-election-listen", {"election": {"listen": DELETE}}, "election.listen", ("missing", "0.0.0.0:7400")),
    ("no-components-listen", {"components": {"listen": DELETE}}, "components.listen", ("missing",)),
    # names
    ("node-name-empty", {"node": {"name": '""'}}, "node.name", ("1 to 16 characters", "got ''")),
    ("node-name-long", {"node": {"name": '"abcdefghijklmnopq"'}}, "node.name", ("17 characters", "at most 16")),
    ("node-name-int", {"node": {"name": "7"}}, "node.name", ("a string", "got 7")),
    ("node-name-space", {"node": {"name": '"alpha "'}}, "node.name", ("white space",)),
    ("node-name-control", {"node": {"name": '"al\\tpha"'}}, "node.name", ("control character",)),
    ("peer-name-empty", {"peer": {"name": '""'}}, "peer.name", ("1 to 16 characters",)),
    ("peer-name-long", {"peer": {"name": '"ßßßßßßßßßßßßßßßßß"'}}, "peer.name", ("17 characters", "at most 16")),
    ("peer-name-same", {"peer": {"name": '"alpha"'}}, "peer.name", ("also node.name", "different names")),
    ("preferred-other", {"election": {"preferred": '"gamma"'}}, "election.preferred", ("'gamma'", "neither node.name", "peer.name")),
    ("preferred-type", {"election": {"preferred": "1"}}, "election.preferred", ("a string", "got 1")),
    # addresses
    ("peer-address-bad", {"peer": {"address": '"x"'}}, "peer.address", ("expected host:port, got 'x'",)),
    ("peer-address-port", {"peer": {"address": '"127.0.0.1:70000"'}}, "peer.address", ("1..65535",)),
    ("peer-address-v6", {"peer": {"address": '"::1:7400"'}}, "peer.address", ("brackets",)),
    ("peer-address-type", {"peer": {"address": "7400"}}, "peer.address", ("a string", "got 7400")),
    ("peer-address-unix", {"peer": {"address": '"/run/a.sock"'}}, "peer.address", ("expected host:port", "cannot be used here")),
    ("peer-address-self", {"peer": {"address": '"127.0.0.1:7400"'}}, "peer.address", ("own election.listen",)),
    ("election-listen-bad", {"election": {"listen": '"0.0.0.0"'}}, "election.listen", ("expected host:port", "no port")),
    ("witness-string", {"election": {"witness": '"127.0.0.1:22"'}}, "election.witness", ("an array", 'witness = ["127.0.0.1:22"]')),
    ("witness-type", {"election": {"witness": "22"}}, "election.witness", ("an array",)),
    ("witness-item", {"election": {"witness": '["127.0.0.1:22", "nope"]'}}, "election.witness[1]", ("expected host:port, got 'nope'",)),
    ("witness-twice", {"election": {"witness": '["h:22", "h:22"]'}}, "election.witness[1]", ("twice",)),
    ("components-listen-bare", {"components": {"listen": '"alpha.sock"'}}, "components.listen", ("./alpha.sock",)),
    ("components-listen-dir", {"components": {"listen": '"/tmp/hanode/"'}}, "components.listen", ("directory",)),
    ("status-listen-bad", {"status": {"listen": '"127.0.0.1:0"'}}, "status.listen", ("1..65535",)),
    ("status-listen-missing", {"status": {"listen": DELETE}}, "status.listen", ("missing", "or remove the section")),
    ("http-listen-bad", {"http": {"listen": '"h"'}}, "http.listen", ("expected host:port",)),
    ("control-path-type", {"control": {"path": "1"}}, "control.path", ("unix socket path", "got 1")),
    ("control-path-empty", {"control": {"path": '""'}}, "control.path", ("unix socket path", "got ''")),
    ("control-path-missing", {"control": {"path": DELETE}}, "control.path", ("missing",)),
    ("notify-empty", {"hooks": {"notify": '"  "'}}, "hooks.notify", ("shell command",)),
    ("notify-missing", {"hooks": {"notify": DELETE}}, "hooks.notify", ("missing",)),
    # listeners that collide
    ("status-on-election-port", {"status": {"listen": '"0.0.0.0:7400"'}}, "status.listen", ("election.listen", "own port")),
    ("http-on-status-port", {"http": {"listen": '"127.0.0.1:7401"'}}, "http.listen", ("status.listen",)),
    ("control-on-components-path", {"control": {"path": '"/tmp/hanode/alpha.sock"'}}, "control.path", ("components.listen",)),
    # timers
    ("heartbeat-zero", {"election": {"heartbeat_interval": "0"}}, "election.heartbeat_interval", ("> 0", "got 0")),
    ("heartbeat-negative", {"election": {"heartbeat_interval": "-0.1"}}, "election.heartbeat_interval", ("> 0",)),
    ("heartbeat-word", {"election": {"heartbeat_interval": '"fast"'}}, "election.heartbeat_interval", ("expected a number of seconds, got 'fast'",)),
    ("heartbeat-bool", {"election": {"heartbeat_interval": "true"}}, "election.heartbeat_interval", ("expected a number of seconds, got true",)),
    ("heartbeat-inf", {"election": {"heartbeat_interval": "inf"}}, "election.heartbeat_interval", ("finite",)),
    ("heartbeat-nan", {"election": {"heartbeat_interval": "nan"}}, "election.heartbeat_interval", ("finite",)),
    ("dead-after-one", {"election": {"dead_after": "1"}}, "election.dead_after", (">= 2", "got 1")),
    ("dead-after-float", {"election": {"dead_after": "3.0"}}, "election.dead_after", ("expected an integer, got 3.0", "dead_after = 3")),
    ("dead-after-fraction", {"election": {"dead_after": "2.5"}}, "election.dead_after", ("expected an integer, got 2.5",)),
    ("dead-after-bool", {"election": {"dead_after": "true"}}, "election.dead_after", ("expected an integer, got true",)),
    ("dead-after-string", {"election": {"dead_after": '"3"'}}, "election.dead_after", ("expected an integer, got '3'",)),
    ("startup-grace-negative", {"election": {"startup_grace": "-1"}}, "election.startup_grace", (">= 0", "got -1")),
    ("startup-grace-word", {"election": {"startup_grace": '"2s"'}}, "election.startup_grace", ("number of seconds", "'2s'")),
    ("handover-negative", {"election": {"handover_after": "-0.5"}}, "election.handover_after", (">= 0",)),
    ("handover-date", {"election": {"handover_after": "1979-05-27"}}, "election.handover_after", ("number of seconds", "a date/time")),
    # component ids and names
    ("id-missing", {C0: {"id": DELETE}}, "component[0].id", ("missing", 'id = "1"')),
    ("id-int", {C0: {"id": "1"}}, "component[0].id", ("as a string", 'quote it: id = "1"')),
    ("id-letters", {C0: {"id": '"db"'}}, "component[0].id", ("1 to 16 digits", "got 'db'")),
    ("id-empty", {C0: {"id": '""'}}, "component[0].id", ("1 to 16 digits", "got ''")),
    ("id-long", {C0: {"id": '"12345678901234567"'}}, "component[0].id", ("1 to 16 digits",)),
    ("id-space", {C0: {"id": '"1 2"'}}, "component[0].id", ("1 to 16 digits",)),
    ("id-unicode-digit", {C0: {"id": '"\u0661"'}}, "component[0].id", ("1 to 16 digits",)),
    ("id-duplicate", {C1: {"id": '"1"'}}, "component[1].id", ("'1' is also the id of component[0]", "own id")),
    ("name-missing", {C1: {"name": DELETE}}, "component[1].name", ("missing",)),
    ("name-empty", {C0: {"name": '""'}}, "component[0].name", ("got ''",)),
    ("name-type", {C0: {"name": "[1]"}}, "component[0].name", ("a string", "got an array")),
    ("name-duplicate", {C1: {"name": '"db"'}}, "component[1].name", ("'db' is also the name of component[0]", "own name")),
    ("order-float", {C0: {"order": "1.5"}}, "component[0].order", ("expected an integer, got 1.5",)),
    ("order-string", {C0: {"order": '"10"'}}, "component[0].order", ("expected an integer, got '10'",)),
    ("order-bool", {C0: {"order": "false"}}, "component[0].order", ("expected an integer, got false",)),
    ("required-string", {C0: {"required": '"yes"'}}, "component[0].required", ("true or false", "'yes'")),
    ("required-int", {C0: {"required": "1"}}, "component[0].required", ("true or false", "got 1")),
    # component timeouts and intervals
    ("set-role-timeout-zero", {C0: {"set_role_timeout": "0"}}, "component[0].set_role_timeout", ("> 0",)),
    ("set-role-timeout-word", {C0: {"set_role_timeout": '"5s"'}}, "component[0].set_role_timeout", ("number of seconds",)),
    ("check-interval-zero", {C1: {"check_interval": "0"}}, "component[1].check_interval", ("> 0",)),
    ("command-timeout-negative", {C1: {"command_timeout": "-1"}}, "component[1].command_timeout", ("> 0",)),
    # command components
    ("on-active-alone", {C1: {"on_standby": DELETE}}, "component[1].on_standby", ("missing", "both on_active and on_standby", "on_active is set")),
    ("on-standby-alone", {C1: {"on_active": DELETE}}, "component[1].on_active", ("missing", "on_standby is set")),
    ("on-active-empty", {C1: {"on_active": '""'}}, "component[1].on_active", ("shell command",)),
    ("on-active-type", {C1: {"on_active": '["ip", "addr"]'}}, "component[1].on_active", ("shell command", "got an array")),
    ("check-empty", {C1: {"check": '""'}}, "component[1].check", ("shell command",)),
    ("check-on-process", {C0: {"check": '"true"'}}, "component[0].check", ("only a command component", "on_active and on_standby")),
    ("check-interval-on-process", {C0: {"check_interval": "1.0"}}, "component[0].check_interval", ("only a command component",)),
    ("command-timeout-on-process", {C0: {"command_timeout": "1.0"}}, "component[0].command_timeout", ("only a command component",)),
    ("set-role-timeout-on-command", {C1: {"set_role_timeout": "1.0"}}, "component[1].set_role_timeout", ("only a process component", "command_timeout")),
    # limits
    ("max-frame-low", {"limits": {"max_frame": "63"}}, "limits.max_frame", ("64..65535", "got 63")),
    ("max-frame-high", {"limits": {"max_frame": "65536"}}, "limits.max_frame", ("64..65535",)),
    ("max-frame-float", {"limits": {"max_frame": "1024.0"}}, "limits.max_frame", ("expected an integer",)),
    ("max-status-clients-zero", {"limits": {"max_status_clients": "0"}}, "limits.max_status_clients", ("1..65535",)),
    ("max-component-connections-zero", {"limits": {"max_component_connections": "0"}}, "limits.max_component_connections", ("1..65535",)),
    ("client-queue-zero", {"limits": {"client_queue": "0"}}, "limits.client_queue", ("1..65535", "got 0")),
    ("client-queue-bool", {"limits": {"client_queue": "true"}}, "limits.client_queue", ("expected an integer, got true",)),
    ("handshake-timeout-zero", {"limits": {"handshake_timeout": "0"}}, "limits.handshake_timeout", ("> 0",)),
]


@pytest.mark.parametrize(("changes", "key", "words"), [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES])
def test_rule(changes, key, words):
    assert_names(rejected(render(changes)), key, words)


def test_room_for_every_process_component():
    comps = [{"id": f'"{i}"', "name": f'"p{i}"'} for i in range(1, 4)]
    err = rejected(render({"limits": {"max_component_connections": "2"}}, components=comps))
    assert_names(err, "limits.max_component_connections", ("fewer than the 3 process components", "at least 3"))
    assert loads(render({"limits": {"max_component_connections": "3"}}, components=comps)).limits.max_component_connections == 3


def test_components_listen_required_only_with_components():
    err = rejected(render(drop=("components",)))
    assert_names(err, "components.listen", ("missing", "2 [[component]] configured", "add [components]"))
    cfg = loads(render(drop=("components",), components=[]))
    assert cfg.components == () and cfg.components_listen is None


@pytest.mark.parametrize(
    ("section", "key"),
    [("node", "node.name"), ("peer", "peer.name"), ("election", "election.listen")],
)
def test_required_sections(section, key):
    err = rejected(render(drop=(section,)))
    assert_names(err, section, ("missing section", f"[{section}]"))
    assert key.split(".")[1] in str(err)


# Shape: the whole text given.
SHAPE_CASES = [
    ("unknown-section", render() + "[elections]\nlisten = 1\n", "elections", ("unknown section `[elections]`", "did you mean `[election]`?")),
    ("unknown-section-far", render() + "[zzz]\n", "zzz", ("unknown section `[zzz]`", "[node]")),
    ("components-array", render(drop=("components",), components=[]) + "[[components]]\nx = 1\n", "components", ("got an array of tables", "[[component]]")),
    ("component-table", render(components=[]) + "[component]\nid = \"1\"\n", "component", ("an array of tables", "write [[component]]")),
    ("component-scalar", 'component = 3\n' + render(components=[]), "component", ("an array of tables", "got 3")),
    ("component-item", 'component = [1]\n' + render(components=[]), "component[0]", ("expected a table, got 1",)),
    ("section-scalar", 'status = "0.0.0.0:7401"\n' + render(drop=("status",)), "status", ("expected a table [status]", "got '0.0.0.0:7401'")),
    ("top-level-key", 'heartbeat_interval = 0.1\n' + render(), "heartbeat_interval", ("unknown key `heartbeat_interval` at the top level", "belongs in [election]")),
    ("top-level-unknown", 'zzz = 1\n' + render(), "zzz", ("unknown key `zzz` at the top level",)),
]


@pytest.mark.parametrize(("text", "key", "words"), [c[1:] for c in SHAPE_CASES], ids=[c[0] for c in SHAPE_CASES])
def test_shape(text, key, words):
    assert_names(rejected(text), key, words)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[node]\nname = "alpha\n', "line 2, column"),
        ('[node]\nname = "a"\n[peer]\nname = \n', "line 4, column 8"),
        ('[node]\nname = "a"\nname = "b"\n', "line 3"),  # a duplicate key is a TOML error
        ("[node\n", "line 1"),
    ],
)
def test_toml_syntax_error(text, where):
    err = rejected(text)
    msg = str(err)
    assert msg.startswith("node.toml: invalid TOML: "), msg
    assert f"(at {where}" in msg, msg
    assert err.key is None


def test_first_error_is_reported():
    """Unknown keys come before values; then sections in their documented order."""
    err = rejected(render({"peer": {"address": '"x"'}, "limits": {"max_frme": "1"}}))
    assert err.key == "limits.max_frme"
    err = rejected(render({"peer": {"address": '"x"'}, "limits": {"max_frame": "1"}}))
    assert err.key == "peer.address"


# -- [peer] key_file -------------------------------------------------------------------------------------


def test_peer_key_file_is_read_relative_to_the_config(tmp_path):
    from hanode.peerauth import load_key, write_key

    write_key(str(tmp_path / "cluster.key"))
    p = tmp_path / "node.toml"
    p.write_text(render({"peer": {"key_file": '"cluster.key"'}}))
    assert load(p).peer_key == load_key(str(tmp_path / "cluster.key"))
    assert loads(render()).peer_key is None


@pytest.mark.parametrize("value, setup, words", [
    ('"missing.key"', None, ("cannot read", "hanode keygen --out")),
    ('"open.key"', "open", ("readable by others (mode 0644)", "chmod 600")),
    ('"bad.key"', "bad", ("does not hold a key (64 hex digits)",)),
    ('"  "', None, ("is empty",)),
    ("5", None, ("expected a file path (a string), got 5",)),
])
def test_peer_key_file_errors(tmp_path, value, setup, words):
    if setup == "open":
        (tmp_path / "open.key").write_text("ab" * 32)
        (tmp_path / "open.key").chmod(0o644)
    elif setup == "bad":
        (tmp_path / "bad.key").write_text("not a key")
        (tmp_path / "bad.key").chmod(0o600)
    with pytest.raises(ConfigError) as info:
        loads(render({"peer": {"key_file": value}}), path=str(tmp_path / "node.toml"))
    err = info.value
    assert err.key == "peer.key_file" and "`peer.key_file`" in str(err), str(err)
    for w in words:
        assert w in str(err), str(err)

"""The agent's TOML configuration: read, validated, turned into settings.

One file per node (SPEC section 7); ``hanode run --config FILE``. The whole
file is checked before anything starts, and the first problem found is raised
as a :class:`ConfigError` whose message names the file, the dotted key in
backticks and what to write instead::

    node.toml: `peer.address`: expected host:port, got 'x' (for example 192.0.2.12:7400)
    node.toml: unknown key `election.heartbeat_intervl`; did you mean `heartbeat_interval`?

Array elements are numbered from 0, as in jq and TOML tooling:
``component[1].id`` is the second ``[[component]]``.

Sections and keys (defaults as in :class:`~hanode.core.settings.Timers`,
:class:`ComponentConfig` and :class:`Limits`)::

    [node]        name                                   required
    [peer]        name, address                          required
    [election]    listen (required), heartbeat_interval, dead_after,
                  startup_grace, preferred, handover_after, witness
    [components]  listen           required when a [[component]] is configured
    [[component]] id, name (required), order, required,
                  set_role_timeout                       process components
                  on_active, on_standby, check,
                  check_interval, command_timeout        command components
    [status]      listen           optional sections, each with its one key
    [control]     path
    [http]        listen
    [hooks]       notify
    [limits]      max_frame, max_status_clients, max_component_connections,
                  client_queue, handshake_timeout

Decisions where SPEC section 7 is silent:

- ``components.listen`` is a unix socket path when it contains a ``/``
  (``/run/hanode/a.sock``, ``./a.sock``), otherwise ``host:port``; a bare
  ``a.sock`` is refused, so a forgotten port is never taken for a file name.
- A key that only applies to the other kind of component (``check``,
  ``check_interval`` or ``command_timeout`` on a process component,
  ``set_role_timeout`` on a command component) is an error, not ignored.
- Names may not start or end with white space nor hold control characters
  (they are compared between the two files and printed in logs).
- Two listeners of this node on the same port (same host, or one of them a
  wildcard address) or the same unix path are refused, and so is a
  ``peer.address`` equal to this node's own ``election.listen``.
- ``limits.max_component_connections`` must leave room for every process
  component.
- ``components_listen`` is ``None`` when no component is configured and the
  key is absent.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NoReturn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from hanode.core.settings import ComponentSpec, NodeSpec, Timers
from hanode.errors import HanodeError

__all__ = [
    "ConfigError",
    "Endpoint",
    "ComponentConfig",
    "Limits",
    "AgentConfig",
    "parse_endpoint",
    "load",
    "loads",
    "MAX_NAME",
    "MAX_COMPONENT_ID",
    "MAX_UNIX_PATH",
]

MAX_NAME = 16
"""Characters in a node name (the ASN.1 ``Candidate``, ``UTF8String (SIZE(0..16))``)."""
MAX_COMPONENT_ID = 16
"""Digits in a component id (the ASN.1 ``ComponentId``, a NumericString)."""
MAX_UNIX_PATH = 107
"""Octets in a unix socket path (``sun_path`` is 108 on Linux, with its NUL)."""
_MAX_CONNECTIONS = 65535


class ConfigError(HanodeError, ValueError):
    """A configuration file (or a command-line address) that cannot be used.

    ``file`` is the file it came from (None for a command-line value), ``key``
    the dotted key at fault (None for a syntax or read error), ``detail`` the
    message without the file name."""

    def __init__(self, detail: str, *, file: str | None = None, key: str | None = None) -> None:
        self.detail = detail
        self.file = file
        self.key = key
        super().__init__(f"{file}: {detail}" if file is not None else detail)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_config_error, (self.detail, self.file, self.key))


def _rebuild_config_error(detail: str, file: str | None, key: str | None) -> ConfigError:
    return ConfigError(detail, file=file, key=key)


def _fail(key: str, problem: str) -> NoReturn:
    raise ConfigError(f"`{key}`: {problem}", key=key)


# -- the settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """host:port, or a unix socket path."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            if self.host is not None or self.port is not None:
                raise ValueError("Endpoint: give either path, or host and port, not both")
        elif self.host is None or self.port is None:
            raise ValueError("Endpoint: give either path, or host and port")

    @property
    def is_unix(self) -> bool:
        return self.path is not None

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        if ":" in self.host:  # type: ignore[operator]
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ComponentConfig:
    id: str
    name: str
    order: int = 0
    required: bool = True
    set_role_timeout: float = 5.0
    on_active: str | None = None  # a command component has on_active and on_standby
    on_standby: str | None = None
    check: str | None = None  # optional for a command component; None: always healthy
    check_interval: float = 1.0
    command_timeout: float = 10.0

    @property
    def kind(self) -> str:
        """``"command"`` if the agent runs it (on_active/on_standby), else ``"process"``."""
        return "command" if self.on_active is not None or self.on_standby is not None else "process"

    def spec(self) -> ComponentSpec:
        return ComponentSpec(
            id=self.id,
            name=self.name,
            order=self.order,
            required=self.required,
            set_role_timeout=self.set_role_timeout,
            kind="command" if self.kind == "command" else "process",
            check_interval=self.check_interval,
        )


@dataclass(frozen=True)
class Limits:
    max_frame: int = 16384
    """Largest frame payload accepted (octets), 64..65535."""
    max_status_clients: int = 256
    """Status clients connected at once, 1..65535."""
    max_component_connections: int = 1024
    """Component connections at once (bound or not yet), 1..65535."""
    client_queue: int = 64
    """Status messages queued for a slow client before it is disconnected, 1..65535."""
    handshake_timeout: float = 5.0
    """Seconds a new connection may take to send its first PDU (> 0)."""


@dataclass(frozen=True)
class AgentConfig:
    path: str
    """The file it came from, for messages."""
    name: str
    peer_name: str
    peer_address: Endpoint
    listen: Endpoint
    """``[election] listen``."""
    timers: Timers
    preferred: str | None
    witness: tuple[Endpoint, ...]
    components_listen: Endpoint | None
    """None only when no component is configured and the key is absent."""
    components: tuple[ComponentConfig, ...]
    status_listen: Endpoint | None
    control_path: str | None
    http_listen: Endpoint | None
    notify: str | None
    limits: Limits
    peer_key: bytes | None = None
    """The cluster key from ``[peer] key_file`` (None: the peer link is not authenticated)."""
    fence: str | None = None
    """``[election] fence``: the command run before taking the role without the peer's word."""
    fence_timeout: float = 10.0
    http_max_connections: int = 64
    http_idle_timeout: float = 10.0

    def node_spec(self) -> NodeSpec:
        return NodeSpec(
            name=self.name,
            peer=self.peer_name,
            timers=self.timers,
            components=tuple(c.spec() for c in self.components),
            preferred=self.preferred,
            witness=bool(self.witness),
            fence=self.fence is not None,
        )


# -- endpoints -----------------------------------------------------------------------------------

_PORT = re.compile(r"[0-9]{1,5}")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_WILDCARDS = frozenset({"0.0.0.0", "::"})


def parse_endpoint(text: str, key: str, *, unix: bool = False) -> Endpoint:
    """``host:port`` (IPv6 in brackets: ``[::1]:7400``), or with ``unix=True``
    also a unix socket path: any text with a ``/`` in it, absolute or relative.

    Raises :class:`ConfigError` naming ``key``."""
    if not isinstance(text, str):
        _fail(key, f"expected {_endpoint_kind(unix)} (a string), got {_show(text)}")
    if unix and "/" in text:
        return Endpoint(path=_unix_path(text, key))
    example = "for example 127.0.0.1:7400, [::1]:7400 or /run/hanode/node.sock" if unix else "for example 192.0.2.12:7400 or [2001:db8::12]:7400"
    wanted = f"expected {_endpoint_kind(unix)}, got {text!r}"
    if text.startswith("["):
        m = re.fullmatch(r"\[([^\]]*)\]:([^:]*)", text)
        if m is None:
            _fail(key, f"{wanted} ({example})")
        host, port_text = m.groups()
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            _fail(key, f"{wanted}: {host!r} in brackets is not an IPv6 address ({example})")
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            if unix and text:
                _fail(key, f"{wanted}: no port, and no / for a path (write ./{text} for a relative unix socket path)")
            if "/" in text:
                _fail(key, f"{wanted}: a unix socket path cannot be used here ({example})")
            _fail(key, f"{wanted}: no port ({example})")
        if ":" in host:
            _fail(key, f"{wanted}: write an IPv6 address in brackets, as in [{host}]:{port_text}")
        if not host:
            _fail(key, f"{wanted}: no host (0.0.0.0:{port_text} listens on every IPv4 address)")
        if re.fullmatch(r"[0-9.]+", host):
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                _fail(key, f"{wanted}: {host!r} is not an IPv4 address ({example})")
        elif len(host) > 253 or not _HOSTNAME.fullmatch(host):
            _fail(key, f"{wanted}: {host!r} is not a host name or an IP address ({example})")
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        _fail(key, f"{wanted}: the port must be a number in 1..65535, got {port_text!r}")
    return Endpoint(host=host, port=int(port_text))


def _endpoint_kind(unix: bool) -> str:
    return "host:port or a unix socket path" if unix else "host:port"


def _unix_path(text: str, key: str) -> str:
    if not text:
        _fail(key, "expected a unix socket path, got '' (for example /run/hanode/node.sock)")
    if "\0" in text:
        _fail(key, f"expected a unix socket path, got {text!r}: a path cannot hold a NUL character")
    if text.endswith("/"):
        _fail(key, f"expected a unix socket path, got {text!r}: that is a directory; name the socket file in it")
    n = len(os.fsencode(text))
    if n > MAX_UNIX_PATH:
        _fail(key, f"unix socket path too long: {n} octets, at most {MAX_UNIX_PATH}; use a shorter path, got {text!r}")
    return text


def _overlap(a: Endpoint, b: Endpoint) -> bool:
    if a.is_unix or b.is_unix:
        return a.path == b.path
    return a.port == b.port and (a.host == b.host or a.host in _WILDCARDS or b.host in _WILDCARDS)


# -- reading values --------------------------------------------------------------------------------


def _show(value: object) -> str:
    """A value as the operator wrote it, for messages."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (datetime, date, time)):
        return f"a date/time ({value.isoformat()})"
    return repr(value)


class _Section:
    """One TOML table, read key by key; ``prefix`` is its dotted name in messages."""

    def __init__(self, data: dict[str, Any], prefix: str) -> None:
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def has(self, name: str) -> bool:
        return name in self.data

    def missing(self, name: str, fix: str) -> NoReturn:
        _fail(self.key(name), f"missing; {fix}")

    def string(self, name: str, what: str, *, required_fix: str | None = None) -> str | None:
        if name not in self.data:
            if required_fix is not None:
                self.missing(name, required_fix)
            return None
        value = self.data[name]
        if not isinstance(value, str):
            _fail(self.key(name), f"expected {what} (a string), got {_show(value)}")
        return value

    def command(self, name: str) -> str | None:
        value = self.string(name, "a shell command")
        if value is not None and not value.strip():
            _fail(self.key(name), f"expected a shell command, got {value!r}; write the command, or remove the key")
        return value

    def seconds(self, name: str, default: float, *, zero_ok: bool, meaning: str) -> float:
        if name not in self.data:
            return default
        value = self.data[name]
        bound = ">= 0" if zero_ok else "> 0"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(self.key(name), f"expected a number of seconds, got {_show(value)} ({meaning}; for example {name} = {default})")
        if not math.isfinite(value):
            _fail(self.key(name), f"expected a finite number of seconds {bound}, got {_show(value)} ({meaning})")
        if value < 0 or (value == 0 and not zero_ok):
            _fail(self.key(name), f"must be {bound} seconds, got {_show(value)} ({meaning})")
        return float(value)

    def integer(self, name: str, default: int, *, low: int | None = None, high: int | None = None, meaning: str) -> int:
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f"; write {name} = {int(value)}" if isinstance(value, float) and value.is_integer() else ""
            _fail(self.key(name), f"expected an integer, got {_show(value)} ({meaning}){hint}")
        if low is not None and high is not None and not low <= value <= high:
            _fail(self.key(name), f"must be an integer in {low}..{high}, got {value} ({meaning})")
        if low is not None and value < low:
            _fail(self.key(name), f"must be an integer >= {low}, got {value} ({meaning})")
        return value

    def boolean(self, name: str, default: bool, *, meaning: str) -> bool:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            _fail(self.key(name), f"expected true or false, got {_show(value)} ({meaning})")
        return value

    def endpoint(self, name: str, *, unix: bool = False, required_fix: str | None = None) -> Endpoint | None:
        if name not in self.data:
            if required_fix is not None:
                self.missing(name, required_fix)
            return None
        return parse_endpoint(self.data[name], self.key(name), unix=unix)


# -- the schema ------------------------------------------------------------------------------------

_PROCESS_ONLY = ("set_role_timeout",)
_COMMAND_ONLY = ("check", "check_interval", "command_timeout")

_KEYS: dict[str, tuple[str, ...]] = {
    "node": ("name",),
    "peer": ("name", "address", "key_file"),
    "election": ("listen", "heartbeat_interval", "dead_after", "startup_grace", "preferred", "handover_after", "witness",
                 "fence", "fence_timeout"),
    "components": ("listen",),
    "component": (
        "id", "name", "order", "required", "set_role_timeout",
        "on_active", "on_standby", "check", "check_interval", "command_timeout",
    ),
    "status": ("listen",),
    "control": ("path",),
    "http": ("listen", "max_connections", "idle_timeout"),
    "hooks": ("notify",),
    "limits": ("max_frame", "max_status_clients", "max_component_connections", "client_queue", "handshake_timeout"),
}


def _header(section: str) -> str:
    return f"[[{section}]]" if section == "component" else f"[{section}]"


def _where_else(name: str, besides: str | None) -> str | None:
    """``"belongs in [election]"`` when ``name`` is a key of other sections."""
    homes = [_header(s) for s, keys in _KEYS.items() if s != besides and name in keys]
    if not homes:
        return None
    listed = homes[0] if len(homes) == 1 else ", ".join(homes[:-1]) + " or " + homes[-1]
    return f"`{name}` belongs in {listed}"


def _check_keys(data: dict[str, Any], section: str, prefix: str) -> None:
    known = _KEYS[section]
    for name in data:
        if name in known:
            continue
        key = f"{prefix}.{name}"
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean `{close[0]}`?"
        else:
            hint = _where_else(name, section) or f"the keys of {_header(section)} are {', '.join(known)}"
        raise ConfigError(f"unknown key `{key}`; {hint}", key=key)


def _check_shape(doc: dict[str, Any]) -> None:
    """Unknown sections and keys, and sections of the wrong TOML type, before any value."""
    for name, value in doc.items():
        if name not in _KEYS:
            if isinstance(value, (dict, list)):
                close = difflib.get_close_matches(name, list(_KEYS), n=1, cutoff=0.6)
                hint = f"did you mean `{_header(close[0])}`?" if close else f"the sections are {', '.join(_header(s) for s in _KEYS)}"
                raise ConfigError(f"unknown section `[{name}]`; {hint}", key=name)
            hint = _where_else(name, None) or f"the sections are {', '.join(_header(s) for s in _KEYS)}"
            raise ConfigError(f"unknown key `{name}` at the top level; {hint}", key=name)
        if name == "component":
            if isinstance(value, dict):
                _fail(name, "expected [[component]] (an array of tables), got a table [component]; write [[component]] before each component")
            if not isinstance(value, list):
                _fail(name, f"expected [[component]] (an array of tables), got {_show(value)}")
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    _fail(f"component[{i}]", f"expected a table, got {_show(item)}; write each component as a [[component]] table")
                _check_keys(item, name, f"component[{i}]")
        else:
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                extra = "; each component is its own [[component]]" if name == "components" else ""
                _fail(name, f"expected a table [{name}], got an array of tables [[{name}]]{extra}")
            if not isinstance(value, dict):
                _fail(name, f"expected a table [{name}], got {_show(value)}; write the section as [{name}] with its keys below it")
            _check_keys(value, name, name)


# -- names and ids ------------------------------------------------------------------------------

_COMPONENT_ID = re.compile(rf"[0-9]{{1,{MAX_COMPONENT_ID}}}")


def _visible(value: str, key: str, what: str) -> None:
    if value != value.strip():
        _fail(key, f"{value!r} starts or ends with white space; write the {what} without it")
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            _fail(key, f"{value!r} holds a control character; write a printable {what}")


def _node_name(section: _Section, what: str) -> str:
    fix = f'add name = "..." to [{section.prefix}] ({what}, at most {MAX_NAME} characters)'
    if not section.has("name"):
        section.missing("name", fix)
    name = section.string("name", f"a node name of 1 to {MAX_NAME} characters")
    assert name is not None
    key = section.key("name")
    if not name:
        _fail(key, f"expected a node name of 1 to {MAX_NAME} characters, got '' ({what})")
    if len(name) > MAX_NAME:
        _fail(key, f"{name!r} is {len(name)} characters long; a node name has at most {MAX_NAME} (an ASN.1 Candidate)")
    _visible(name, key, "node name")
    return name


# -- the file ---------------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> AgentConfig:
    """Read and validate the configuration file at ``path``; raises :class:`ConfigError`."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot read the configuration file: {reason}; check the path given to --config", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (line {line}, byte {exc.start}): save the file as UTF-8", file=file) from None
    return loads(text.removeprefix("\ufeff"), path=file)


def loads(text: str, path: str = "<string>") -> AgentConfig:
    """Validate configuration ``text``; ``path`` names it in messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}; fix the syntax there", file=path) from None
    try:
        return _build(doc, path)
    except ConfigError as exc:
        raise ConfigError(exc.detail, file=path, key=exc.key) from None


def _section(doc: dict[str, Any], name: str, *, required_fix: str | None = None) -> _Section | None:
    if name not in doc:
        if required_fix is not None:
            _fail(name, f"missing section [{name}]; {required_fix}")
        return None
    return _Section(doc[name], name)


def _build(doc: dict[str, Any], path: str) -> AgentConfig:
    _check_shape(doc)

    node = _section(doc, "node", required_fix='add [node] with name = "..." (this node\'s name)')
    assert node is not None
    name = _node_name(node, "this node's name, unique in the pair")

    peer = _section(doc, "peer", required_fix='add [peer] with name = "..." and address = "host:port" (the other node)')
    assert peer is not None
    peer_name = _node_name(peer, "the other node's name, as its own [node] name")
    if peer_name == name:
        _fail("peer.name", f"{peer_name!r} is also node.name; the two nodes of a pair need different names")
    peer_address = peer.endpoint("address", required_fix='add address = "host:port" to [peer] (the peer agent\'s election.listen)')
    assert peer_address is not None
    peer_key = _peer_key(peer, path)

    election = _section(doc, "election", required_fix='add [election] with listen = "host:port" (where the peer connects)')
    assert election is not None
    listen = election.endpoint("listen", required_fix='add listen = "host:port" to [election] (for example 0.0.0.0:7400)')
    assert listen is not None
    defaults = Timers()
    timers = Timers(
        heartbeat_interval=election.seconds(
            "heartbeat_interval", defaults.heartbeat_interval, zero_ok=False, meaning="seconds between heartbeats"
        ),
        dead_after=election.integer(
            "dead_after", defaults.dead_after, low=2, meaning="missed heartbeat intervals before a peer or component is lost, at least 2"
        ),
        startup_grace=election.seconds(
            "startup_grace", defaults.startup_grace, zero_ok=True, meaning="seconds an unassigned node waits for its peer"
        ),
        handover_after=election.seconds(
            "handover_after", defaults.handover_after, zero_ok=True, meaning="seconds unhealthy before an active node hands over"
        ),
    )
    preferred = election.string("preferred", "a node name")
    if preferred is not None and preferred not in (name, peer_name):
        _fail(
            "election.preferred",
            f"{preferred!r} is neither node.name ({name!r}) nor peer.name ({peer_name!r}); "
            "name one of the two (the same in both files), or remove the key",
        )
    witness = _witnesses(election)
    fence = election.command("fence")
    fence_timeout = election.seconds("fence_timeout", 10.0, zero_ok=False, meaning="seconds the fence command may take")
    if peer_address == listen:
        _fail("peer.address", f"{peer_address} is this node's own election.listen; give the peer agent's address")

    components = _components(doc.get("component", []))
    comp_section = _section(doc, "components")
    components_listen: Endpoint | None = None
    if comp_section is not None:
        components_listen = comp_section.endpoint(
            "listen", unix=True, required_fix='add listen = "/run/hanode/NODE.sock" (or "host:port") to [components]'
        )
    elif components:
        _fail(
            "components.listen",
            f"missing; {len(components)} [[component]] configured, so add [components] with "
            'listen = "/run/hanode/NODE.sock" (or "host:port") for them to connect to',
        )

    status_listen = _optional_endpoint(doc, "status", "listen", 'listen = "host:port" (for example 0.0.0.0:7401)')
    control_path = _control_path(doc)
    http_listen = _optional_endpoint(doc, "http", "listen", 'listen = "host:port" (for example 127.0.0.1:7402)')
    http_section = _section(doc, "http")
    http_max = 64 if http_section is None else http_section.integer(
        "max_connections", 64, low=1, meaning="HTTP connections open at once; more are closed at once")
    http_idle = 10.0 if http_section is None else http_section.seconds(
        "idle_timeout", 10.0, zero_ok=False, meaning="seconds an HTTP connection may take to send a request")
    notify: str | None = None
    hooks = _section(doc, "hooks")
    if hooks is not None:
        if not hooks.has("notify"):
            hooks.missing("notify", 'add notify = "/path/to/command" to [hooks], or remove the section')
        notify = hooks.command("notify")

    limits = _limits(doc)
    processes = sum(1 for c in components if c.kind == "process")
    if limits.max_component_connections < processes:
        _fail(
            "limits.max_component_connections",
            f"{limits.max_component_connections} is fewer than the {processes} process components configured; "
            f"allow at least {processes}",
        )

    listeners: list[tuple[str, Endpoint]] = [("election.listen", listen)]
    for key, ep in (
        ("components.listen", components_listen),
        ("status.listen", status_listen),
        ("http.listen", http_listen),
        ("control.path", Endpoint(path=control_path) if control_path is not None else None),
    ):
        if ep is None:
            continue
        for other_key, other in listeners:
            if _overlap(ep, other):
                _fail(key, f"{ep} is also used by `{other_key}` ({other}); give each listener its own port or path")
        listeners.append((key, ep))

    return AgentConfig(
        path=path,
        name=name,
        peer_name=peer_name,
        peer_address=peer_address,
        listen=listen,
        timers=timers,
        preferred=preferred,
        witness=witness,
        components_listen=components_listen,
        components=components,
        status_listen=status_listen,
        control_path=control_path,
        http_listen=http_listen,
        notify=notify,
        limits=limits,
        peer_key=peer_key,
        fence=fence,
        fence_timeout=fence_timeout,
        http_max_connections=http_max,
        http_idle_timeout=http_idle,
    )


def _peer_key(peer: _Section, path: str) -> bytes | None:
    """The cluster key ``[peer] key_file`` names (relative to the config file's folder)."""
    from hanode.peerauth import load_key

    name = peer.string("key_file", "a file path")
    if name is None:
        return None
    if not name.strip():
        _fail("peer.key_file", "is empty; give the path of a key made by `hanode keygen`, or remove the key")
    full = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(name))
    try:
        return load_key(full)
    except ValueError as e:
        _fail("peer.key_file", str(e))


def _witnesses(election: _Section) -> tuple[Endpoint, ...]:
    if not election.has("witness"):
        return ()
    value = election.data["witness"]
    if isinstance(value, str):
        _fail("election.witness", f'expected an array of host:port, got {value!r}; write witness = ["{value}"]')
    if not isinstance(value, list):
        _fail("election.witness", f'expected an array of host:port, got {_show(value)} (for example witness = ["192.0.2.1:22"])')
    result: list[Endpoint] = []
    for i, item in enumerate(value):
        key = f"election.witness[{i}]"
        ep = parse_endpoint(item, key)
        if ep in result:
            _fail(key, f"{ep} is listed twice; list each witness once")
        result.append(ep)
    return tuple(result)


def _optional_endpoint(doc: dict[str, Any], section: str, name: str, fix: str) -> Endpoint | None:
    s = _section(doc, section)
    if s is None:
        return None
    return s.endpoint(name, required_fix=f"add {fix} to [{section}], or remove the section")


def _control_path(doc: dict[str, Any]) -> str | None:
    s = _section(doc, "control")
    if s is None:
        return None
    value = s.string("path", "a unix socket path", required_fix='add path = "/run/hanode/NODE.ctl" to [control], or remove the section')
    assert value is not None
    return _unix_path(value, "control.path")


def _components(items: list[dict[str, Any]]) -> tuple[ComponentConfig, ...]:
    result: list[ComponentConfig] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, item in enumerate(items):
        c = _component(_Section(item, f"component[{i}]"))
        if c.id in ids:
            j = ids[c.id]
            _fail(f"component[{i}].id", f"{c.id!r} is also the id of component[{j}] ({result[j].name!r}); give each component its own id")
        if c.name in names:
            j = names[c.name]
            _fail(f"component[{i}].name", f"{c.name!r} is also the name of component[{j}] (id {result[j].id!r}); give each component its own name")
        ids[c.id] = names[c.name] = i
        result.append(c)
    return tuple(result)


def _component(s: _Section) -> ComponentConfig:
    if not s.has("id"):
        s.missing("id", f'add id = "1" (1 to {MAX_COMPONENT_ID} digits, what the component sends as its componentId)')
    cid = s.data["id"]
    wanted = f"expected 1 to {MAX_COMPONENT_ID} digits (an ASN.1 NumericString)"
    if isinstance(cid, int) and not isinstance(cid, bool):
        _fail(s.key("id"), f'{wanted} as a string, got {cid}; quote it: id = "{cid}"')
    if not isinstance(cid, str):
        _fail(s.key("id"), f"{wanted} as a string, got {_show(cid)}")
    if not _COMPONENT_ID.fullmatch(cid):
        _fail(s.key("id"), f'{wanted}, got {cid!r} (for example id = "1")')

    if not s.has("name"):
        s.missing("name", 'add name = "..." (shown in logs and status)')
    name = s.string("name", "a component name")
    assert name is not None
    if not name:
        _fail(s.key("name"), "expected a component name, got ''; name it (shown in logs and status)")
    _visible(name, s.key("name"), "component name")

    order = s.integer("order", 0, meaning="promotion goes in ascending order, demotion in descending order")
    required = s.boolean("required", True, meaning="false: its failure only degrades the node")

    on_active = s.command("on_active")
    on_standby = s.command("on_standby")
    if (on_active is None) != (on_standby is None):
        have, lack = ("on_active", "on_standby") if on_standby is None else ("on_standby", "on_active")
        s.missing(lack, f"a command component needs both on_active and on_standby ({have} is set); add {lack}")
    if on_active is None:
        for key in _COMMAND_ONLY:
            if s.has(key):
                _fail(
                    s.key(key),
                    f"only a command component has {key}; add on_active and on_standby, or remove {key} "
                    "(a process component reports its own health over the component socket)",
                )
    else:
        for key in _PROCESS_ONLY:
            if s.has(key):
                _fail(
                    s.key(key),
                    f"only a process component has {key}; a command component's commands are bounded by "
                    "command_timeout: remove it",
                )
    check = s.command("check")

    return ComponentConfig(
        id=cid,
        name=name,
        order=order,
        required=required,
        set_role_timeout=s.seconds("set_role_timeout", 5.0, zero_ok=False, meaning="seconds to answer a SetRole"),
        on_active=on_active,
        on_standby=on_standby,
        check=check,
        check_interval=s.seconds("check_interval", 1.0, zero_ok=False, meaning="seconds between check runs"),
        command_timeout=s.seconds("command_timeout", 10.0, zero_ok=False, meaning="seconds a command may run"),
    )


def _limits(doc: dict[str, Any]) -> Limits:
    s = _section(doc, "limits")
    if s is None:
        return Limits()
    d = Limits()
    return Limits(
        max_frame=s.integer("max_frame", d.max_frame, low=64, high=65535, meaning="largest frame payload accepted, in octets"),
        max_status_clients=s.integer(
            "max_status_clients", d.max_status_clients, low=1, high=_MAX_CONNECTIONS, meaning="status clients connected at once"
        ),
        max_component_connections=s.integer(
            "max_component_connections",
            d.max_component_connections,
            low=1,
            high=_MAX_CONNECTIONS,
            meaning="component connections at once",
        ),
        client_queue=s.integer(
            "client_queue", d.client_queue, low=1, high=_MAX_CONNECTIONS, meaning="status messages queued for a slow client"
        ),
        handshake_timeout=s.seconds(
            "handshake_timeout", d.handshake_timeout, zero_ok=False, meaning="seconds a new component connection may take to send its first PDU"
        ),
    )

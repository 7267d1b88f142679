"""Configuration: one TOML file plus environment overrides, validated on load.

``EDGE_AGENT_CONFIG`` names the file (default ``config/edge-agent.toml`` in a source tree,
else the package's ``/etc/edge-agent/edge-agent.toml``). Any key can be
overridden as ``EDGE_AGENT__<SECTION>__<KEY>=value`` (value read as a TOML value when it is
one, else as a string), e.g. ``EDGE_AGENT__MQTT__PORT=1884``. A bad file or override raises
:class:`ConfigError` naming the key and the reason; the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from drivers.registry import DRIVERS, ReaderConfig
from edge_agent.age.registry import Age
from edge_agent.config_sections import (
    CheckoutSettings,
    Clock,
    FiscalSettings,
    GateSettings,
    KioskSettings,
    LaneSettings,
    Security,
    StaffConfig,
    Tags,
    VatType,
    Verify,
    ZoneConfig,
)
from edge_agent.config_types import Name, Port, Section
from edge_agent.egais.sales import EgaisSettings
from edge_agent.errors import EdgeError
from edge_agent.fiscal.registry import RegisterConfig
from edge_agent.security.secrets import SECRETS, is_loopback, refusals

DEFAULT_PATH: Final = Path("config/edge-agent.toml")  # a source tree's (make demo)
INSTALLED_PATH: Final = Path("/etc/edge-agent/edge-agent.toml")  # the Debian package's
ENV_FILE: Final = "EDGE_AGENT_CONFIG"
ENV_PREFIX: Final = "EDGE_AGENT__"


class ConfigError(EdgeError):
    """A configuration that cannot be used: ``where`` (file or variable), ``key``, ``reason``."""

    def __init__(self, where: str, key: str, reason: str) -> None:
        super().__init__("bad_config", f"{where}: {key}: {reason}" if key else f"{where}: {reason}")
        self.args = (self.message,)
        self.where = where
        self.key = key
        self.reason = reason


class StoreSettings(Section):
    id: Name = "store-001"
    name: str = "Demo store"
    timezone: str = "Europe/Moscow"
    #: Russian region code: local alcohol hours differ by region
    region: Annotated[str, Field(pattern=r"^\d{2,3}$")] = "77"
    #: no alcohol sale in this local window (171-FZ: 23:00-08:00; e.g. St Petersburg 22:00-11:00)
    alcohol_forbidden: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")] = (
        "23:00-08:00"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)") from None
        return value


class Agent(Section):
    id: Name = "agent-1"
    data_dir: Path = Path("var")
    #: products to load into the catalogue at start (JSON list); central sync replaces it later
    catalog_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Http(Section):
    #: false: no HTTP server (kiosk, staff and product pages, /healthz, /metrics)
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080  # 0: any free port (tests)
    #: the public product page: requests per second per client address, and the burst allowed
    public_rate_per_s: Annotated[float, Field(gt=0)] = 5.0
    public_burst: Annotated[int, Field(ge=1)] = 20
    #: base of the GS1 Digital Link URIs written to NFC tags and served to phones
    public_base_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+")] = "http://127.0.0.1:8080"
    #: HTTPS: the store's server certificate (chain) and key (`edge-agent tls cert`); HSTS is sent
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: the bearer token of the operations routes (/healthz details, /metrics, /docs, /openapi.json,
    #: /api/lanes); unset: they answer no one (a bare /healthz status stays public)
    ops_token: str | None = None
    #: Host headers answered (besides public_base_url's host, 127.0.0.1 and localhost); "*" any
    allowed_hosts: list[str] = []
    #: Origins allowed to change state and open WebSockets (besides this server's own)
    allowed_origins: list[str] = []
    #: proxies whose X-Forwarded-For is believed (comma-separated addresses); unset: none
    forwarded_allow_ips: str | None = None
    #: largest request body read (bytes); a larger one is refused before it is read (a staff
    #: return of many codes may take up to 128 KB)
    max_body_bytes: Annotated[int, Field(ge=1024, le=10_000_000)] = 8192
    #: open connections (HTTP and WebSocket) per client address; more are closed at once
    max_connections_per_client: Annotated[int, Field(ge=1, le=10_000)] = 64
    #: open connections in all (kept below the process's file limit less a headroom; a quarter
    #: of them only for addresses where an enrolled kiosk or handheld was seen)
    max_connections: Annotated[int, Field(ge=16, le=1_000_000)] = 16_384
    #: a request's headers must arrive within this; a connection idle this long is closed
    header_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    #: live checks the public page may ask of Chestny Znak per second, all phones together
    public_checks_per_s: Annotated[float, Field(gt=0)] = 20.0


class Mqtt(Section):
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    #: false: no sync at all (the outbox keeps everything until it is turned on)
    enabled: bool = True
    #: "external": connect to the store broker; "embedded": run an in-process broker (amqtt,
    #: MQTT 3.1.1, no persistence, no ACL) on host:port, for the demo and trials only
    broker: Literal["external", "embedded"] = "external"
    #: "5" or "3.1.1" (the embedded demo broker speaks 3.1.1; metadata travels in the payload)
    protocol: Literal["5", "3.1.1"] = "5"
    #: TLS: the CA that signed the broker's certificate; client certificate and key if the broker asks
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: unacknowledged outbox rows in flight at once
    window: Annotated[int, Field(ge=1, le=20_000)] = 2000
    #: a lane's events waiting together go in one message (a CloudEvents batch), up to this
    #: many; 1: one event per message
    batch_events: Annotated[int, Field(ge=1, le=500)] = 100
    #: an event waits this long for others to join its batch (0: only what already waits goes
    #: together); on a cluster, 100 ms doubled the confirmed events/s (docs/benchmarks.md)
    linger_ms: Annotated[float, Field(ge=0, le=1000)] = 0.0
    #: keep each event until central's sink confirms it stored it (false: a PUBACK is enough,
    #: for a central that does not confirm)
    confirmations: bool = True
    #: an event acknowledged by the broker but not confirmed this long after is sent again
    confirm_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    #: an event unconfirmed this long turns health degraded (central confirms within a second
    #: when all is well: an operator sees a growing backlog early)
    unconfirmed_warn_s: Annotated[float, Field(gt=0, le=86400)] = 10.0
    #: confirmed events are kept this long, for central's replays of a gap, then pruned
    retention_s: Annotated[float, Field(ge=0, le=90 * 86400)] = 7 * 86400.0
    #: a catalog or codes message more than this many versions past what the store has is refused
    max_version_jump: Annotated[int, Field(ge=1)] = 100_000

    @model_validator(mode="after")
    def _embedded_onis_loopback(self) -> Mqtt:
        if self.broker == "embedded" and not is_loopback(self.host):
            raise ValueError(
                f"the embedded broker has no credentials and no ACL: it binds loopback only, not "
                f"{self.host!r} (use a store Mosquitto for other devices)"
            )
        return self


class Config(Section):
    store: StoreSettings = StoreSettings()
    agent: Agent = Agent()
    http: Http = Http()
    mqtt: Mqtt = Mqtt()
    verify: Verify = Verify()
    age: Age = Age()
    checkout: CheckoutSettings = CheckoutSettings()
    kiosk: KioskSettings = KioskSettings()
    fiscal: FiscalSettings = FiscalSettings()
    egais: EgaisSettings = EgaisSettings()
    security: Security = Security()
    staff: list[StaffConfig] = []
    readers: list[ReaderConfig] = []
    lanes: list[LaneSettings] = []
    gates: list[GateSettings] = []
    tags: Tags = Tags()


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _overrides(env: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, ...], str]]:
    tree: dict[str, dict[str, Any]] = {}
    source: dict[tuple[str, ...], str] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(name, "", "overrides are named EDGE_AGENT__<SECTION>__<KEY>")
        tree.setdefault(parts[0], {})[parts[1]] = _env_value(raw)
        source[tuple(parts)] = name
    return tree, source


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, merge and validate the configuration."""
    env = os.environ if env is None else env
    if path is None:
        default = DEFAULT_PATH if DEFAULT_PATH.exists() or not INSTALLED_PATH.exists() else INSTALLED_PATH
        path = Path(env.get(ENV_FILE, str(default)))
    where = str(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(where, "", f"cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(where, "", f"not valid TOML: {e}") from None
    tree, source = _overrides(env)
    for section, values in tree.items():
        current = data.setdefault(section, {})
        if isinstance(current, dict):
            current.update(values)
    _secret_files(data, where, env)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise _config_error(e, source, where) from None
    lanes = {lane.id for lane in config.lanes}
    readers = {r.id for r in config.readers}
    for lane in config.lanes:
        for zone in lane.zones:
            if zone.reader not in readers:
                raise ConfigError(where, f"lanes.{lane.id}.zones", f"reader {zone.reader!r} is not in [[readers]]")
        for scanner in lane.scanners:
            if scanner not in readers:
                raise ConfigError(where, f"lanes.{lane.id}.scanners", f"reader {scanner!r} is not in [[readers]]")
    zoned = {zone.reader for lane in config.lanes for zone in lane.zones} | {
        s for lane in config.lanes for s in lane.scanners
    }
    for gate in config.gates:
        if gate.reader not in readers:
            raise ConfigError(where, f"gates.{gate.id}.reader", f"reader {gate.reader!r} is not in [[readers]]")
        if gate.reader in zoned:
            raise ConfigError(
                where, f"gates.{gate.id}.reader", f"reader {gate.reader!r} is a lane's: a gate needs its own reader"
            )
    if len({g.id for g in config.gates} | lanes) != len(config.gates) + len(lanes):
        raise ConfigError(where, "gates", "gate ids must differ from each other and from lane ids")
    for register in config.fiscal.registers:
        if register.lane not in lanes:
            raise ConfigError(where, "fiscal.registers.lane", f"lane {register.lane!r} is not in [[lanes]]")
    if len({r.lane for r in config.fiscal.registers}) != len(config.fiscal.registers):
        raise ConfigError(where, "fiscal.registers", "one register per lane")
    if len(lanes) != len(config.lanes) or len(readers) != len(config.readers):
        raise ConfigError(where, "lanes/readers", "ids must be unique")
    if config.security.production:
        for key, reason in refusals(config):
            raise ConfigError(source.get(tuple(key.split(".")), where), key, reason)
    return config


def load_or_explain(path: str | None) -> Config | None:
    """For a command: the validated configuration, or None after saying on stderr why it is unusable."""
    import sys

    try:
        return load(Path(path) if path else None)
    except ConfigError as e:
        print(f"edge-agent: configuration error: {e}", file=sys.stderr)
        return None


def _secret_files(data: dict[str, Any], where: str, env: Mapping[str, str]) -> None:
    for section, key in SECRETS:
        values = data.get(section)
        if not isinstance(values, dict) or f"{key}_file" not in values:
            continue
        path = Path(str(values.pop(f"{key}_file")))
        if not path.is_absolute() and env.get("CREDENTIALS_DIRECTORY"):
            path = Path(env["CREDENTIALS_DIRECTORY"]) / path
        try:
            values[key] = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(where, f"{section}.{key}_file", f"cannot read the secret: {e.strerror}") from None


def _config_error(e: ValidationError, source: dict[tuple[str, ...], str], where: str) -> ConfigError:
    """The first problem, named by its dotted key and its source (file or variable)."""
    first = e.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    if len(loc) > 2 and loc[0] == "readers" and loc[2] in DRIVERS:
        loc = loc[:2] + loc[3:]  # the driver's settings model: not a key the user wrote
    reason = first["msg"]
    if first["type"] == "extra_forbidden":
        reason = "unknown key"
    elif first["type"] == "union_tag_invalid":
        loc = (*loc, "driver")
        reason = f"unknown driver {first['ctx']['tag']!r} (known: {', '.join(DRIVERS)})"
    elif "input" in first and first["type"] != "missing":
        reason += f" (got {first['input']!r})"
    more = len(e.errors()) - 1
    if more:
        reason += f"; and {more} more problem{'s' if more > 1 else ''}"
    return ConfigError(source.get(loc, where), ".".join(loc), reason)


__all__ = [
    "Agent",
    "CheckoutSettings",
    "Clock",
    "Config",
    "ConfigError",
    "FiscalSettings",
    "GateSettings",
    "Http",
    "KioskSettings",
    "LaneSettings",
    "Mqtt",
    "RegisterConfig",
    "Security",
    "StaffConfig",
    "StoreSettings",
    "Tags",
    "VatType",
    "Verify",
    "ZoneConfig",
    "load",
    "load_or_explain",
]

"""Configuration: one TOML file plus environment overrides, validated on load.

``EDGE_AGENT_CONFIG`` names the file (default ``config/edge-agent.toml``). Any key can be
overridden as ``EDGE_AGENT__<SECTION>__<KEY>=value`` (value read as a TOML value when it is
one, else as a string), e.g. ``EDGE_AGENT__MQTT__PORT=1884``. A bad file or override raises
:class:`ConfigError` naming the key and the reason; the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from drivers.registry import DRIVERS, ReaderConfig
from edge_agent.config_types import Name, Port, Section, Url
from edge_agent.errors import EdgeError
from edge_agent.security.secrets import SECRETS, is_loopback, refusals
from edge_agent.verify.registry import ONLINE, VerifySettings

DEFAULT_PATH: Final = Path("config/edge-agent.toml")
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


class Store(Section):
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
    #: unconfirmed events older than this turn health degraded
    unconfirmed_warn_s: Annotated[float, Field(gt=0, le=86400)] = 120.0
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


class Checkout(Section):
    #: how long the kiosk waits for the customer to pay (card tap, SBP QR) before giving up
    customer_timeout_s: Annotated[float, Field(gt=0, le=600)] = 90.0
    #: deadline of one request to central, and how many times it is sent before the outcome is unknown
    request_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    request_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    #: how often a pending payment is asked for its state
    poll_s: Annotated[float, Field(gt=0, le=10)] = 0.1


class Kiosk(Section):
    """How the kiosk's screens behave when the shopper walks away."""

    #: no touch and no basket change this long: the kiosk asks "are you still there?"
    idle_s: Annotated[float, Field(gt=0, le=3600)] = 90.0
    #: then this long without an answer: back to the welcome screen
    idle_prompt_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    #: what happens to the abandoned basket: cancelled (items must be taken out again), or kept
    #: for the next touch (a box lane whose items are still inside)
    idle_action: Literal["cancel", "keep"] = "cancel"
    #: the receipt stays this long (or until "Done"), then a thank-you for ``thanks_s``
    receipt_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    thanks_s: Annotated[float, Field(gt=0, le=60)] = 5.0


if TYPE_CHECKING:
    Verify = VerifySettings
else:  # [verify]: the chain's keys and each registered check service's (verify/registry.py)
    Verify = create_model("Verify", __base__=(VerifySettings, *(s.keys for s in ONLINE.values())))


Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
VatType = Literal["none", "vat0", "vat5", "vat7", "vat10", "vat22", "vat105", "vat107", "vat110", "vat122"]


class RegisterConfig(Section):
    """A lane's fiscal register (ККТ) behind ATOL's Web-server."""

    lane: Name
    url: Url = "http://127.0.0.1:16732"
    #: which register of that server (its deviceID); None: the server's only one
    device_id: str | None = None
    #: the operator printed on this lane's receipts (default: the lane id)
    operator: str | None = None


class Fiscal(Section):
    #: the tax system of the store's receipts
    taxation: Literal["osn", "usnIncome", "usnIncomeOutcome", "esn", "patent"] = "osn"
    #: VAT of a product category (2026: 22 % by default, 10 % for the reduced list); others: vat_default
    vat_default: VatType = "vat22"
    vat: dict[str, VatType] = {}
    #: the cashier's tax number (ИНН) printed as the operator's, if the store's rules want it
    operator_vatin: Annotated[str, Field(pattern=r"^(\d{10}|\d{12})$")] | None = None
    #: send receipts electronically (to the phone the customer typed) instead of printing them
    electronically: bool = False
    #: check each mark code on the register while the customer scans (false: all at pay time)
    check_while_scanning: bool = True
    #: a paid basket waits this long for its receipt; then the money is given back and staff alerted
    receipt_deadline_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    #: deadline of one HTTP call to the register, and of one request (a print) to finish
    request_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    task_deadline_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    #: close the shift (Z-report) after this local time each day; unset: only when it expires (24 h)
    close_shift_at: Clock | None = None
    #: the ОФД queue's oldest unsent document older than this turns health degraded (the ФН blocks at 30 days)
    ofd_warn_days: Annotated[float, Field(gt=0, le=30)] = 3.0
    registers: list[RegisterConfig] = []


class ZoneConfig(Section):
    reader: Name
    antennas: list[Annotated[int, Field(ge=0)]] | None = None
    min_rssi: Annotated[int, Field(ge=-128, le=0)] | None = None


class LaneSettings(Section):
    id: Name
    mode: Literal["box", "tap"] = "box"
    depart_after_s: Annotated[float, Field(gt=0, le=60)] = 1.5
    settle_s: Annotated[float, Field(gt=0, le=10)] = 0.5
    zones: list[ZoneConfig] = []


class GateSettings(Section):
    """An exit gate: an LLRP reader at the door (docs/readers.md)."""

    id: Name
    reader: Name
    #: the reader's antennas in order from inside the store to outside (at least two)
    antennas: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2)] = [1, 2]
    #: a tag quiet this long has passed: its next reads are a new passage
    window_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    #: the reader's GPO port wired to the light or sounder (0: none), held on this long per alarm
    gpo_port: Annotated[int, Field(ge=0, le=64)] = 1
    alarm_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    #: items of these GS1 company prefixes are this store's besides the catalogue's GTINs
    company_prefixes: list[Annotated[str, Field(pattern=r"^\d{4,12}$")]] = []


class Tags(Section):
    """EPC ↔ TID bindings: a copied EPC on a blank chip has another TID (cloned-tag detection)."""

    #: bind an item's EPC to the TID read at its first sale when central sent none
    learn_tid_at_sale: bool = False


class StaffConfig(Section):
    id: Name
    name: str
    #: the PIN under scrypt, salted: `edge-agent staff hash-pin` prints it
    pin_hash: str
    #: the staff badge as a reader reports it: the tag's UID in hex, or its NDEF text
    badge: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_pin(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pin_sha256" in data:
            raise ValueError(
                "pin_sha256 (unsalted SHA-256) is no longer accepted: run `edge-agent staff hash-pin` "
                "and write what it prints as pin_hash"
            )
        return data

    @field_validator("pin_hash")
    @classmethod
    def _pin_hash(cls, value: str) -> str:
        from edge_agent.security.pins import parse

        parse(value)  # a PinHashError is a ValueError: the key and the reason
        return value


class Security(Section):
    #: production: refuse to start with placeholder or default secrets, or without TLS off loopback
    production: bool = False
    #: a staff badge's UID alone signs in (a UID can be copied); false: badge and PIN together
    allow_uid_badges: bool = False
    #: failed PINs in a row that lock a staff id, and for how long
    pin_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    pin_lockout_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    #: sign-in attempts per minute from one handheld or one address
    sign_in_per_min: Annotated[int, Field(ge=1, le=10_000)] = 20
    #: loyalty look-ups (identify) per minute on one lane
    identify_per_min: Annotated[int, Field(ge=1, le=1000)] = 6


class Config(Section):
    store: Store = Store()
    agent: Agent = Agent()
    http: Http = Http()
    mqtt: Mqtt = Mqtt()
    verify: Verify = Verify()
    checkout: Checkout = Checkout()
    kiosk: Kiosk = Kiosk()
    fiscal: Fiscal = Fiscal()
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
        path = Path(env.get(ENV_FILE, str(DEFAULT_PATH)))
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
    zoned = {zone.reader for lane in config.lanes for zone in lane.zones}
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

"""Placeholder secrets and masking. Pure.

``refusals(config)``: what a production daemon will not start with, by key: the example's
``change-me``, ``admin:admin`` for the Local Module, the simulators' API key, the example PIN
hash, no operations token, HTTP without TLS on a non-loopback address. ``masked(config)``:
the configuration as ``config check`` prints it, every secret replaced.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Final

from edge_agent.verify.registry import secret_keys

if TYPE_CHECKING:
    from edge_agent.config import Config

#: secrets: each may instead be read from a file, ``<key>_file`` (a relative path is looked up in
#: systemd's $CREDENTIALS_DIRECTORY when set), or come from the environment like any key
SECRETS: Final = (
    ("mqtt", "password"),
    ("verify", "local_module_password"),
    ("http", "ops_token"),
    *(("verify", key) for key in secret_keys()),  # each check service's own (verify/registry.py)
)


PLACEHOLDERS: Final = frozenset(
    {"", "change-me", "changeme", "change_me", "admin", "password", "secret", "sim-api-key", "test", "1234"}
)
#: PIN hashes published in this repository's examples and docs: known to everyone
KNOWN_PIN_HASHES: Final = frozenset(
    {
        "scrypt$16384$8$1$ZXhhbXBsZS1zYWx0LTAx$tkZDqRVMde1dAreBT5UtPjM7ZnfSQXX2uDUaU2y1JRo",
    }
)
MASK: Final = "***"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusals(config: Config) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for section, key in SECRETS:
        value = getattr(getattr(config, section), key)
        if section == "mqtt" and config.mqtt.broker == "embedded":
            continue  # the embedded broker takes no credentials (loopback only)
        if section == "verify" and key == "local_module_password" and config.verify.local_module_url is None:
            continue
        if section == "verify" and secret_keys().get(key, config.verify.backend) != config.verify.backend:
            continue  # a secret of a check service this store does not use
        if value is None or value.strip().lower() in PLACEHOLDERS:
            out.append((f"{section}.{key}", "a placeholder or default secret: set a real one (or <key>_file)"))
    lm = config.verify
    if lm.local_module_url is not None and (lm.local_module_user, lm.local_module_password) == ("admin", "admin"):
        out = [(k, r) for k, r in out if k != "verify.local_module_password"]  # say more than "a placeholder"
        out.append(("verify.local_module_password", "admin:admin is the Local Module's factory login"))
    for i, member in enumerate(config.staff):
        if member.pin_hash in KNOWN_PIN_HASHES:
            out.append((f"staff.{i}.pin_hash", "the example PIN hash: hash this person's own PIN"))
    if not is_loopback(config.http.host) and config.http.enabled and config.http.tls_cert is None:
        out.append(("http.tls_cert", "HTTP on a store network needs TLS (PINs and tokens would travel in clear)"))
    return out


def masked(config: Config) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    for section, key in SECRETS:
        if data[section].get(key) is not None:
            data[section][key] = MASK
    for member in data["staff"]:
        member["pin_hash"] = MASK
    return data

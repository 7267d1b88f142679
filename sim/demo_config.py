"""The demo store's configuration, built by a plain function from where its simulators listen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.config import Config


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoParts:
    """Where the demo's simulators listen, and the daemon's own places."""

    data_dir: Path
    catalog: Path
    http_port: int
    public_base_url: str
    broker_port: int
    ops_token: str
    ts_piot_url: str
    local_module_url: str
    kkt_url: str
    box_readers: dict[str, int]  # lane -> its box reader's LLRP port
    staff_desk_port: int
    gate_port: int
    nfc_port: int | None
    pcsc: bool
    depart_s: float
    #: the digital ID issuer (age documents) and its pinned keys; each box lane's kiosk scanner
    max_id_url: str = ""
    max_id_keys: dict[str, str] | None = None
    scanners: dict[str, Path] | None = None  # lane -> its scanner's device link
    images: Path | None = None  # the catalogue's product pictures
    utm_url: str = ""  # the store's ЕГАИС УТМ


def demo_config(base: Config, *, parts: DemoParts, strict: bool) -> Config:
    """The demo store's configuration: ``base`` with the simulators' addresses, the demo's lanes,
    readers, register, staff member and exit gate. ``strict``: the base's own limits (else the
    demo's devices, all on one address and driven by programs, may sign in and look customers
    up far more often than a store allows)."""
    from drivers.llrp import LLRPSettings
    from drivers.nfc import NfcSettings
    from drivers.pcsc import PCSCSettings
    from drivers.scanner import ScannerSettings
    from edge_agent.config import (
        CheckoutSettings,
        FiscalSettings,
        GateSettings,
        LaneSettings,
        Mqtt,
        StaffConfig,
        Verify,
        ZoneConfig,
    )
    from edge_agent.fiscal.atol import AtolSettings
    from edge_agent.security.pins import hash_pin
    from sim.scenarios import STAFF_BADGE, STAFF_PIN

    tls = parts.data_dir / "tls"
    http = {
        "port": parts.http_port,
        "tls_cert": tls / "server.crt",
        "tls_key": tls / "server.key",
        "ops_token": parts.ops_token,
    }
    if base.http.public_base_url.startswith("http://127.0.0.1"):  # receipts link back to this demo server
        http["public_base_url"] = parts.public_base_url
    security = base.security
    if not strict:
        http["public_rate_per_s"] = max(base.http.public_rate_per_s, 1000.0)
        http["public_burst"] = max(base.http.public_burst, 1000)
        security = security.model_copy(update={"identify_per_min": 1000, "sign_in_per_min": 10_000})
    lanes = [
        LaneSettings(
            id=lane,
            mode="box",
            settle_s=0.3,
            depart_after_s=parts.depart_s,
            zones=[ZoneConfig(reader=f"box-{lane}", min_rssi=-70)],
            scanners=[f"scan-{lane}"] if lane in (parts.scanners or {}) else [],
        )
        for lane in parts.box_readers
    ]
    readers: list[LLRPSettings | NfcSettings | PCSCSettings | ScannerSettings] = [
        LLRPSettings(id=f"box-{lane}", driver="llrp", port=port, read_tid_words=6)
        for lane, port in parts.box_readers.items()
    ]
    for lane, link in (parts.scanners or {}).items():
        readers.append(ScannerSettings(id=f"scan-{lane}", driver="scanner", path=str(link), gap_s=0.05))
    readers.append(LLRPSettings(id="staff-desk", driver="llrp", port=parts.staff_desk_port, role="staff"))
    readers.append(LLRPSettings(id="gate-exit", driver="llrp", port=parts.gate_port, read_tid_words=6))
    if parts.nfc_port:
        readers.append(NfcSettings(id="nfc-pad", driver="nfc", path=f"udp:127.0.0.1:{parts.nfc_port}"))
        lanes.append(LaneSettings(id="lane-3", mode="tap", depart_after_s=1.0, zones=[ZoneConfig(reader="nfc-pad")]))
    if parts.pcsc:
        readers.append(PCSCSettings(id="pcsc-pad", driver="pcsc", path="Virtual PCD"))
        lanes.append(LaneSettings(id="lane-4", mode="tap", depart_after_s=1.0, zones=[ZoneConfig(reader="pcsc-pad")]))
    staff = StaffConfig(id="s-1", name="Анна (демо)", pin_hash=hash_pin(STAFF_PIN), badge=STAFF_BADGE)
    return base.model_copy(
        update={
            "agent": base.agent.model_copy(update={"data_dir": parts.data_dir, "catalog_file": parts.catalog}),
            "http": base.http.model_copy(update=http),
            "security": security,
            "mqtt": Mqtt(protocol="3.1.1", port=parts.broker_port),  # the demo's own broker, started first
            "verify": Verify.model_validate(
                {"ts_piot_url": parts.ts_piot_url, "local_module_url": parts.local_module_url}
            ),
            "egais": base.egais.model_copy(update={"enabled": True, "utm_url": parts.utm_url, "timeout_s": 2.0})
            if parts.utm_url
            else base.egais,
            "age": base.age.model_validate(
                {"backend": "max", "max_url": parts.max_id_url, "max_issuer_keys": parts.max_id_keys or {}}
            )
            if parts.max_id_url
            else base.age,
            "kiosk": base.kiosk.model_copy(update={"images_dir": parts.images or base.kiosk.images_dir}),
            # the demo's timings, unless the caller (a test) set its own
            "checkout": CheckoutSettings(
                **({"customer_timeout_s": 20, "request_timeout_s": 2.0, "poll_s": 0.05} | _set(base.checkout))
            ),
            "fiscal": FiscalSettings(
                vat={"dairy": "vat10", "bakery": "vat10"},
                receipt_deadline_s=base.fiscal.receipt_deadline_s
                if "receipt_deadline_s" in base.fiscal.model_fields_set
                else 20,
                registers=[AtolSettings(lane=lane.id, url=parts.kkt_url, device_id=lane.id) for lane in lanes],
            ),
            "staff": [staff],
            "readers": readers,
            "lanes": lanes,
            "gates": [
                GateSettings(id="exit", reader="gate-exit", antennas=[1, 2], gpo_port=1, alarm_s=3.0, window_s=1.5)
            ],
        }
    )


def _set(section: Any) -> dict[str, Any]:
    """The fields of a settings section its maker set explicitly."""
    return {name: getattr(section, name) for name in section.model_fields_set}

"""The sections of the configuration about the lanes and what stands around them: the checkout
and the kiosk's timers, the fiscal registers, lanes, exit gates, tags, staff and security
(``config.py`` puts them together; docs/configuration.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from edge_agent.config_types import Name, Section
from edge_agent.fiscal.registry import RegisterConfig
from edge_agent.fiscal.requisites import DEFAULT_FOUNDATION
from edge_agent.verify.registry import ONLINE, VerifySettings


class CheckoutSettings(Section):
    #: how long the kiosk waits for the customer to pay (card tap, SBP QR) before giving up
    customer_timeout_s: Annotated[float, Field(gt=0, le=600)] = 90.0
    #: deadline of one request to central, and how many times it is sent before the outcome is unknown
    request_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    request_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    #: how often a pending payment is asked for its state
    poll_s: Annotated[float, Field(gt=0, le=10)] = 0.1
    #: how long a shopper waits on central's payment service not answering before the kiosk
    #: says so, staff are alerted and the attempt is resolved in the background
    answer_s: Annotated[float, Field(gt=0, le=300)] = 15.0


class KioskSettings(Section):
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
    #: CSS pixels per millimetre on this kiosk's screen (96 dpi CSS: 3.78; measure a 100 mm line)
    pixels_per_mm: Annotated[float, Field(gt=1, le=40)] = 3.78
    #: the receipt QR's side on screen, its quiet zone aside; at least 20 mm since 1 Sep 2025
    receipt_qr_mm: Annotated[float, Field(ge=20, le=80)] = 22.0
    #: the products' pictures the catalogue names (PNG, JPEG, WebP files); none: pictograms only
    images_dir: Path | None = None


if TYPE_CHECKING:
    Verify = VerifySettings
else:  # [verify]: the chain's keys and each registered check service's (verify/registry.py)
    Verify = create_model("Verify", __base__=(VerifySettings, *(s.keys for s in ONLINE.values())))


Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
VatType = Literal["none", "vat0", "vat5", "vat7", "vat10", "vat22", "vat105", "vat107", "vat110", "vat122"]


class FoundationSettings(Section):
    """One row of tag 1260's decree table (``[[fiscal.foundation]]``; docs/compliance.md)."""

    #: 1262: the federal executive body's id
    foiv: Annotated[str, Field(pattern=r"^\d{3}$")]
    #: 1263: the decree's date
    issued: date
    #: 1264: the decree's number
    number: Annotated[str, Field(min_length=1, max_length=32)]
    #: checks made from this day (the store's time zone) carry this decree
    effective: date


def _default_foundation() -> list[FoundationSettings]:
    return [
        FoundationSettings(foiv=d.foiv, issued=d.issued, number=d.number, effective=d.effective)
        for d in DEFAULT_FOUNDATION
    ]


class FiscalSettings(Section):
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
    #: tag 1260's decree (1262/1263/1264) by the day of the check; default: ПП №477 of 26.03.2022,
    #: then ПП №1944 of 21.11.2023 from 1 Apr 2024. A new decree is a new row with its day.
    foundation: Annotated[list[FoundationSettings], Field(min_length=1)] = Field(default_factory=_default_foundation)

    @field_validator("foundation")
    @classmethod
    def _one_decree_a_day(cls, rows: list[FoundationSettings]) -> list[FoundationSettings]:
        days = [r.effective for r in rows]
        if len(set(days)) != len(days):
            raise ValueError("two decrees take effect on the same day: which one is in force?")
        return sorted(rows, key=lambda r: r.effective)


class ZoneConfig(Section):
    reader: Name
    antennas: list[Annotated[int, Field(ge=0)]] | None = None
    min_rssi: Annotated[int, Field(ge=-128, le=0)] | None = None


class LaneSettings(Section):
    id: Name
    mode: Literal["box", "tap"] = "box"
    depart_after_s: Annotated[float, Field(gt=0, le=60)] = 1.5
    #: how a box is judged settled (docs/readers.md): ``adaptive``, when the reader's rounds
    #: say it has seen every tag, at the latest ``settle_s`` after the last change; ``fixed``,
    #: always ``settle_s`` after it
    settle: Literal["adaptive", "fixed"] = "adaptive"
    settle_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    #: the least chance of missing a tag in a round the rule assumes (it uses the measured one
    #: when worse), and the chance a settled box lacks an item it holds, at most
    miss_per_round: Annotated[float, Field(gt=0, lt=0.9)] = 0.05
    settle_error: Annotated[float, Field(gt=0, lt=0.5)] = 0.001
    zones: list[ZoneConfig] = []
    #: the kiosk's 2D scanners that read the shopper's documents (a digital ID's QR), not items
    #: (a scanner in ``zones`` reads both)
    scanners: list[Name] = []


class GateSettings(Section):
    """An exit gate: an LLRP reader at the door (docs/readers.md)."""

    id: Name
    reader: Name
    #: the reader's antennas in order from inside the store to outside (at least two)
    antennas: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2)] = [1, 2]
    #: a tag quiet this long has passed: its next reads are a new passage
    window_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    #: reads weaker than this (dBm) are strays (a shelf by the door, the street) and never alarm;
    #: an item carried through the gate reads well above it
    min_rssi: Annotated[int, Field(ge=-128, le=0)] | None = -70
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
    #: look-ups that text a one-time code to a phone (by phone or card), per number, store-wide,
    #: per hour and per day, whatever the lane or basket (SMS bombing)
    codes_per_phone_hour: Annotated[int, Field(ge=1, le=100)] = 5
    codes_per_phone_day: Annotated[int, Field(ge=1, le=1000)] = 10

"""``TagRead``: the one event every reader driver yields (docs/architecture.md). Plain data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

ReadKind = Literal["epc", "ndef_uri", "ndef_text", "uid", "barcode"]


@dataclass(frozen=True, slots=True)
class TagRead:
    """One observation of one tag (or one scan) by one reader."""

    reader_id: str
    antenna: int
    kind: ReadKind
    #: the identity as the carrier gave it: EPC hex, NDEF URI/text, UID hex, scanned code
    raw: str
    rssi: int | None = None
    #: when the reader saw it, in seconds on the reader's own clock (its RTC, for a reader that
    #: reports one; else the daemon's wall clock): compared only with that reader's other reads
    timestamp: float = field(default_factory=time.time)
    tid: bytes | None = None
    user_memory: bytes | None = None
    seen_count: int = 1
    #: the peak RSSI in hundredths of a dBm when the reader reports it that finely (Impinj)
    rssi_centi: int | None = None
    #: when the daemon received it, on this machine's monotonic clock: what presence is judged on
    #: (no reader's clock, and no jump of the wall clock, moves it)
    received: float = field(default_factory=time.monotonic)

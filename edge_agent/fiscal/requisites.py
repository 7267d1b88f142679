"""Tag 1260's decree (1262 the ФОИВ, 1263 the document's date, 1264 its number), by date: the
requisite of a marked sale checked in the permissive mode follows the decree in force on the
day of the check, and decrees change. Pure; the table comes from ``[[fiscal.foundation]]``
(docs/compliance.md gives each row's source).

The 1265 value (``UUID=<reqId>&Time=<reqTimestamp>``) carries the check's time in ms since the
epoch: the day of the check, in the store's time zone, picks the row, so the verdict's record
and the receipt name the same decree however long after the check the receipt prints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from edge_agent.errors import EdgeError


class RequisiteError(EdgeError):
    """No decree is in force on that day (the table starts later): a configuration error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundationDocument:
    """One decree: 1262 ``foiv``, 1263 ``issued``, 1264 ``number``, in force from ``effective``."""

    foiv: str
    issued: date
    number: str
    effective: date

    def tags(self, tag_1265: str) -> dict[str, str]:
        """Tag 1260's parts as FFD 1.2 names them (1263 as dd.mm.yyyy)."""
        return {"1262": self.foiv, "1263": self.issued.strftime("%d.%m.%Y"), "1264": self.number, "1265": tag_1265}


#: ПП РФ of 26.03.2022 №477, the marking experiment's decree: what public code sent before 2024
EXPERIMENT_477: Final = FoundationDocument(
    foiv="030", issued=date(2022, 3, 26), number="477", effective=date(2022, 3, 26)
)
#: ПП РФ of 21.11.2023 №1944, the permissive-mode rules, in force at the till from 1 Apr 2024
#: (tobacco and keg beer first; milk and water 1 May 2024): what POS code of 2025–2026 sends
PERMISSIVE_1944: Final = FoundationDocument(
    foiv="030", issued=date(2023, 11, 21), number="1944", effective=date(2024, 4, 1)
)
DEFAULT_FOUNDATION: Final = (EXPERIMENT_477, PERMISSIVE_1944)

MOSCOW: Final = ZoneInfo("Europe/Moscow")
_TIME = re.compile(r"(?:^|&)Time=(\d{10,16})(?:&|$)")


def in_force(documents: Sequence[FoundationDocument], day: date) -> FoundationDocument:
    """The decree in force on ``day``: the latest whose ``effective`` is not after it."""
    due = [d for d in documents if d.effective <= day]
    if not due:
        first = min((d.effective for d in documents), default=None)
        raise RequisiteError("no_foundation", f"no tag 1260 decree is in force on {day} (the table starts {first})")
    return max(due, key=lambda d: d.effective)


def check_day(tag_1265: str, tz: ZoneInfo) -> date | None:
    """The local day of the check a 1265 value records (its ``Time=`` in ms), or None without one."""
    found = _TIME.search(tag_1265)
    if found is None:
        return None
    return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC).astimezone(tz).date()


@dataclass(frozen=True, slots=True)
class Foundation:
    """The store's table and time zone: tag 1260 for a check's 1265."""

    documents: tuple[FoundationDocument, ...] = DEFAULT_FOUNDATION
    tz: ZoneInfo = MOSCOW

    def document(self, tag_1265: str) -> FoundationDocument:
        """The decree of the check behind ``tag_1265`` (today's when it has no time)."""
        day = check_day(tag_1265, self.tz) or datetime.now(self.tz).date()
        return in_force(self.documents, day)

    def tag_1260(self, tag_1265: str) -> dict[str, str]:
        return self.document(tag_1265).tags(tag_1265)

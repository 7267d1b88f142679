"""Times and amounts as a person reads them: in the store's time zone and the reader's language
(docs/api.md). Pure. ``money(8990, "ru")`` → ``89,90 ₽``, ``money(123450, "en")`` →
``1,234.50 ₽``; ``local_time("2026-12-01T09:16:16+00:00", Europe/Moscow, "ru")`` →
``1 декабря 2026, 12:16``. Machines keep getting ISO 8601 with its offset (the JSON views)."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

Lang = Literal["ru", "en"]
MONTHS: Final = {
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
NARROW_NBSP: Final = "\u202f"  # the Russian thousands separator (ГОСТ 8.417: a thin space)


def money(kop: int, lang: Lang) -> str:
    sign, kop = ("−" if kop < 0 else ""), abs(kop)
    roubles, rest = divmod(kop, 100)
    grouped = f"{roubles:,}"
    if lang == "ru":
        return f"{sign}{grouped.replace(',', NARROW_NBSP)},{rest:02d}\u00a0₽"
    return f"{sign}{grouped}.{rest:02d}\u00a0₽"


def local_time(iso: str, tz: ZoneInfo, lang: Lang) -> str:
    """An ISO 8601 time (one without an offset is UTC) in the store's zone; the text unchanged
    when it is not a time."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(tz)
    return f"{local.day} {MONTHS[lang][local.month - 1]} {local.year}, {local:%H:%M}"

"""Times and amounts as people read them (api/locale.py)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from edge_agent.api.locale import local_time, money

MSK, VLAT = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Vladivostok")


def test_amounts_in_roubles_with_each_languages_separators() -> None:
    assert money(8990, "ru") == "89,90\u00a0₽" and money(8990, "en") == "89.90\u00a0₽"
    assert money(123_456_78, "ru") == "123\u202f456,78\u00a0₽" and money(123_456_78, "en") == "123,456.78\u00a0₽"
    assert money(-500, "ru") == "−5,00\u00a0₽" and money(0, "en") == "0.00\u00a0₽"


@given(st.integers(-(10**12), 10**12))
def test_an_amount_reads_back_as_the_same_kopecks(kop: int) -> None:
    for lang, decimal in (("ru", ","), ("en", ".")):
        text = money(kop, lang)  # type: ignore[arg-type]
        digits = re.sub(r"[^\d" + re.escape(decimal) + "]", "", text).replace(decimal, "")
        assert int(digits) * (-1 if text.startswith("−") else 1) == kop


def test_times_are_the_stores_local_time_in_words() -> None:
    assert local_time("2026-12-01T09:16:16+00:00", MSK, "ru") == "1 декабря 2026, 12:16"
    assert local_time("2026-12-01T09:16:16+00:00", VLAT, "en") == "1 December 2026, 19:16"
    assert local_time("2026-12-31T22:30:00", MSK, "ru") == "1 января 2027, 01:30"  # no offset: UTC
    assert local_time("2026-12-01T09:16:16Z", MSK, "en") == "1 December 2026, 12:16"
    assert local_time("not a time", MSK, "ru") == "not a time"

"""Tag 1260's decree by the day of the check: golden receipts for each period of the default
table and for a decree a store adds, the verdict's record and the receipt agreeing, and the
table as configuration."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from edge_agent.basket import Line
from edge_agent.config import ConfigError, load
from edge_agent.fiscal.atol_tasks import sell_task
from edge_agent.fiscal.desk import foundation_of
from edge_agent.fiscal.marks import BITS_2106, MarkCheck
from edge_agent.fiscal.receipt import ReceiptRules, Tender
from edge_agent.fiscal.requisites import (
    DEFAULT_FOUNDATION,
    MOSCOW,
    Foundation,
    FoundationDocument,
    RequisiteError,
    in_force,
)
from edge_agent.verify.policy import CheckContext, CodeAnswer, Source, decide

MILK = "0104610053149777215d/wuU\x1d93dGVz"
CHECK = dict.fromkeys(BITS_2106, True) | {"ecrStandAloneFlag": False}
GOOD_KKT = {
    "itemInfoCheckResult": CHECK,
    "markOperatorItemStatus": "itemEstimatedStatusCorrect",
    "markOperatorResponseResult": "correct",
}
DECREE_2027 = FoundationDocument(foiv="030", issued=date(2027, 1, 15), number="77", effective=date(2027, 3, 1))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def milk_checked_at(moment: datetime) -> Line:
    return Line(
        1,
        "0104610053149777215d/wuU",
        "04610053149777",
        "Молоко 3,2 % 1 л",
        8_990,
        True,
        True,
        MILK,
        "ALLOWED",
        f"UUID=5d2a3c1e-0000-4000-8000-000000000001&Time={ms(moment)}",
        "dairy",
        0,
        MarkCheck.from_dict(GOOD_KKT),
    )


def industry_info(moment: datetime, rules: ReceiptRules) -> list[dict[str, str]]:
    line = milk_checked_at(moment)
    task = sell_task([line], [Tender(line.amount)], rules)
    info: list[dict[str, str]] = task["items"][0]["industryInfo"]
    return info


RULES = ReceiptRules("SCO-1", None, "osn", "vat22", {"dairy": "vat10"})


@pytest.mark.parametrize(
    ("checked", "golden"),
    [
        # the experiment's decree until the permissive mode began at the till
        (datetime(2024, 3, 31, 20, 59, tzinfo=UTC), {"fois": "030", "date": "2022.03.26", "number": "477"}),
        # 1 Apr 2024 00:30 in Moscow is still 31 March in UTC: the store's day decides
        (datetime(2024, 3, 31, 21, 30, tzinfo=UTC), {"fois": "030", "date": "2023.11.21", "number": "1944"}),
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), {"fois": "030", "date": "2023.11.21", "number": "1944"}),
    ],
)
def test_golden_receipts_carry_the_decree_in_force_on_the_day_of_the_check(
    checked: datetime, golden: dict[str, str]
) -> None:
    line = milk_checked_at(checked)
    assert industry_info(checked, RULES) == [golden | {"industryAttribute": line.fiscal_1265}]


def test_a_decree_the_store_adds_takes_over_on_its_day_and_not_before() -> None:
    rules = replace(RULES, foundation=Foundation((*DEFAULT_FOUNDATION, DECREE_2027), MOSCOW))
    before = industry_info(datetime(2027, 2, 28, 20, 0, tzinfo=UTC), rules)[0]  # 23:00 in Moscow
    after = industry_info(datetime(2027, 2, 28, 21, 0, tzinfo=UTC), rules)[0]  # 1 March, 00:00 in Moscow
    assert (before["number"], after["number"], after["date"]) == ("1944", "77", "2027.01.15")


def test_the_verdicts_record_and_the_receipt_name_the_same_decree() -> None:
    foundation = Foundation((*DEFAULT_FOUNDATION, DECREE_2027), MOSCOW)
    for checked in (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
        datetime(2027, 6, 1, tzinfo=UTC),
    ):
        context = CheckContext(Source("ts_piot"), "5d2a3c1e-0000-4000-8000-000000000001", ms(checked))
        answer = CodeAnswer(cis=MILK, valid=True, found=True, utilised=True, verified=True, realizable=True, sold=False)
        recorded = decide(MILK, answer, context, checked, tz=MOSCOW).fiscal(foundation)["1260"]
        assert isinstance(recorded, dict)
        printed = industry_info(checked, replace(RULES, foundation=foundation))[0]
        assert (recorded["1262"], recorded["1264"], recorded["1265"]) == (
            printed["fois"],
            printed["number"],
            printed["industryAttribute"],
        )
        assert recorded["1263"] == ".".join(reversed(printed["date"].split(".")))  # dd.mm.yyyy vs ATOL's yyyy.mm.dd


def test_a_day_before_the_table_is_a_clear_error() -> None:
    with pytest.raises(RequisiteError, match="no tag 1260 decree is in force on 2021-12-31"):
        in_force(DEFAULT_FOUNDATION, date(2021, 12, 31))


def test_the_table_is_configuration_with_its_default_and_one_decree_a_day(tmp_path: Path) -> None:
    config = tmp_path / "edge-agent.toml"
    config.write_text('[store]\ntimezone = "Asia/Vladivostok"\n')
    table = foundation_of(load(config, env={}))
    assert table.documents == DEFAULT_FOUNDATION and str(table.tz) == "Asia/Vladivostok"
    config.write_text(
        '[[fiscal.foundation]]\nfoiv = "030"\nissued = 2023-11-21\nnumber = "1944"\neffective = 2024-04-01\n'
        '[[fiscal.foundation]]\nfoiv = "030"\nissued = 2027-01-15\nnumber = "77"\neffective = 2027-03-01\n'
    )
    assert [d.number for d in foundation_of(load(config, env={})).documents] == ["1944", "77"]
    config.write_text(
        '[[fiscal.foundation]]\nfoiv = "030"\nissued = 2023-11-21\nnumber = "1944"\neffective = 2024-04-01\n'
        '[[fiscal.foundation]]\nfoiv = "030"\nissued = 2027-01-15\nnumber = "77"\neffective = 2024-04-01\n'
    )
    with pytest.raises(ConfigError, match="two decrees take effect on the same day"):
        load(config, env={})
    config.write_text(
        '[[fiscal.foundation]]\nfoiv = "30"\nissued = 2023-11-21\nnumber = "1944"\neffective = 2024-04-01\n'
    )
    with pytest.raises(ConfigError, match=r"fiscal\.foundation"):
        load(config, env={})

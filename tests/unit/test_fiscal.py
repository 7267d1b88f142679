"""The fiscal core as plain data: receipts built from baskets (property-tested), the
register's mark-check answers, the receipt step of a payment, and what a return may take back."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.basket import Basket, Line, Product, Rules, State
from edge_agent.fiscal.atol_tasks import return_task, sell_task
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.fiscal.marks import BITS_2106, CheckAnswerError, MarkCheck, read_status
from edge_agent.fiscal.receipt import ReceiptError, ReceiptRules, Tender, kopecks
from edge_agent.payment.provider import ProviderPayment, Refund
from edge_agent.payment.records import ReceiptRequest, ReturnDetail, ReturnRecord
from edge_agent.payment.return_plan import ReturnError, plan_return, returned_lines
from edge_agent.payment.steps import (
    Attempt,
    BasketFacts,
    Fiscalize,
    Ok,
    Refused,
    Step,
    next_action,
    on_answer,
    receipt_uuid,
)

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
RULES = ReceiptRules("SCO-1", "7700000000", "osn", "vat22", {"dairy": "vat10"})
GOOD = {
    "itemInfoCheckResult": dict.fromkeys(BITS_2106, True) | {"ecrStandAloneFlag": False},
    "markOperatorItemStatus": "itemEstimatedStatusCorrect",
    "markOperatorResponseResult": "correct",
}

lines_st = st.lists(
    st.tuples(
        st.sampled_from(["milk", "bread", "cigs", "shoes"]), st.integers(1, 500_000), st.integers(0, 100), st.booleans()
    ),
    min_size=1,
    max_size=30,
)


def make_lines(spec: list[tuple[str, int, int, bool]]) -> list[Line]:
    out = []
    for n, (name, price, discount_pct, marked) in enumerate(spec, start=1):
        code = f"0104600000000{n:03d}21S{n:05d}\x1d93ab{n % 10}c" if marked else None
        out.append(
            Line(
                n,
                code or f"0460000000{n:04d}",
                f"0460000000{n:04d}"[:14],
                name,
                price,
                marked,
                marked,
                code,
                "ALLOWED" if marked else None,
                "UUID=x&Time=1" if marked else None,
                "dairy" if name == "milk" else "other",
                price * discount_pct // 100,
                MarkCheck.from_dict(GOOD) if marked else None,
            )
        )
    return out


@given(lines_st)
def test_a_receipt_sums_to_what_was_paid_and_every_marked_item_carries_its_code_and_both_checks(
    spec: list[tuple[str, int, int, bool]],
) -> None:
    lines = make_lines(spec)
    total = sum(line.amount for line in lines)
    if total == 0:
        with pytest.raises(ReceiptError):
            sell_task(lines, [Tender(total)], RULES)
        return
    task = sell_task(lines, [Tender(total)], RULES, "+79990000002")
    assert sum(kopecks(i["amount"]) for i in task["items"]) == total == kopecks(task["payments"][0]["sum"])
    assert sum(i["quantity"] for i in task["items"]) == len(lines)
    marked = [i for i in task["items"] if "imcParams" in i]
    assert sorted(base64.b64decode(i["imcParams"]["imc"]).decode() for i in marked) == sorted(
        line.mark_code for line in lines if line.marked
    )
    for item in marked:
        assert item["quantity"] == 1 and item["imcParams"]["itemInfoCheckResult"] == GOOD["itemInfoCheckResult"]
        assert (
            item["industryInfo"][0]["industryAttribute"] == "UUID=x&Time=1" and item["industryInfo"][0]["fois"] == "030"
        )
    assert {i["tax"]["type"] for i in task["items"] if i["name"] == "milk"} <= {"vat10"}
    assert task["operator"] == {"name": "SCO-1", "vatin": "7700000000"} and task["clientInfo"]["emailOrPhone"]


def test_unmarked_lines_of_one_product_at_one_price_are_one_position_with_a_quantity() -> None:
    bread = Line(1, "04607001234562", "04607001234562", "Хлеб", 5_500, False, False, category="bakery")
    task = sell_task([bread, replace(bread, id=2), replace(bread, id=3, discount=500)], [Tender(16_000)], RULES)
    assert [(i["quantity"], i["price"], i["amount"]) for i in task["items"]] == [(2, 55.0, 110.0), (1, 50.0, 50.0)]


def test_a_receipt_is_refused_for_an_unchecked_mark_code_or_payments_that_do_not_add_up() -> None:
    [cigs] = make_lines([("cigs", 25_000, 0, True)])
    with pytest.raises(ReceiptError) as unchecked:
        sell_task([replace(cigs, kkt=None)], [Tender(25_000)], RULES)
    with pytest.raises(ReceiptError) as short:
        sell_task([cigs], [Tender(24_999)], RULES)
    assert unchecked.value.code == "unchecked_code" and short.value.code == "sum_mismatch"
    back = return_task([cigs], [Tender(25_000)], RULES)
    assert back["type"] == "sellReturn" and back["items"][0]["imcParams"]["itemEstimatedStatus"] == "itemPieceReturn"


def test_the_registers_check_answer_is_read_strictly_and_says_when_an_item_may_not_be_sold() -> None:
    assert read_status({"ready": False, "sentImcRequest": True}) is None
    ok = read_status({"ready": True, "onlineValidation": GOOD})
    assert ok is not None and ok.refusal() is None and ok.tag_2106 == 0b01111
    stopped = MarkCheck.from_dict(GOOD | {"markOperatorItemStatus": "itemSaleStopped"})
    assert "stopped" in (stopped.refusal() or "")
    offline = MarkCheck(
        dict.fromkeys(BITS_2106, False) | {"imcCheckFlag": True, "imcCheckResult": True, "ecrStandAloneFlag": True},
        None,
    )
    assert offline.refusal() is None and offline.tag_2106 == 0b10011  # the ФН alone checked: sellable
    for bad in (
        {},
        {"ready": "yes"},
        {"ready": True},
        {"ready": True, "onlineValidation": {"itemInfoCheckResult": {}}},
    ):
        with pytest.raises(CheckAnswerError):
            read_status(bad)


def test_the_receipt_qr_carries_time_sum_fn_fd_and_fp() -> None:
    fiscal = {
        "fiscalDocumentDateTime": "2026-12-01T10:15:00",
        "fnNumber": "9999078900012345",
        "fiscalDocumentNumber": 7,
        "fiscalDocumentSign": "123456",
    }
    assert (
        FiscalDocument.from_json(fiscal).qr(38_990) == "t=20261201T1015&s=389.90&fn=9999078900012345&i=7&fp=123456&n=1"
    )


def document(number: int) -> FiscalDocument:
    return FiscalDocument(number=number, sign="123456", fn="9999078900012345", at="2026-12-01T10:15:00+03:00")


FISCAL = BasketFacts(
    live=True, paid=False, customer=None, hold_id=None, lines=((9_000, "dairy"),), stale_holds=(), fiscal=True
)


def at(step: Step, status: str = "AUTHORIZED", receipt: ReceiptRequest | None = None) -> Attempt:
    return Attempt(
        id="b1:pay:1",
        basket_id="b1",
        method="card",
        amount=9_000,
        step=step,
        started=1_000.0,
        payment=ProviderPayment(id="P-1", status=status, amount=9_000),
        receipt=receipt,
    )


def test_on_a_lane_with_a_register_the_receipt_comes_between_authorisation_and_capture() -> None:
    authorized = ProviderPayment(id="P-1", status="AUTHORIZED", amount=9_000)
    t = on_answer(at(Step.PENDING, "PENDING_CUSTOMER"), FISCAL, Ok(authorized), NOW)
    assert t.step is Step.RECEIPT and t.journal is None  # not PAID yet: nothing is sold before the receipt
    assert t.receipt is not None and t.receipt.uuid == receipt_uuid("b1:pay:1", 1) and t.receipt.attempt == 1
    receipt = t.receipt
    assert next_action(at(Step.RECEIPT, receipt=receipt), FISCAL, 90) == Fiscalize(receipt.uuid)
    printed = on_answer(at(Step.RECEIPT, receipt=receipt), FISCAL, Ok(document(5)), NOW)
    assert printed.step is Step.CAPTURING and printed.journal is not None and printed.journal.approved
    assert printed.journal.tender is not None and printed.journal.tender["receipt"]["fiscalDocumentNumber"] == 5
    sbp = on_answer(at(Step.RECEIPT, "CAPTURED", receipt), FISCAL, Ok(document(6)), NOW)
    assert sbp.step is Step.LOYALTY  # the money was taken in one stage: straight on


def test_a_failed_receipt_is_retried_with_the_same_uuid_when_it_may_have_printed_and_a_new_one_when_not() -> None:
    receipt = ReceiptRequest(uuid=receipt_uuid("b1:pay:1", 1), since=NOW.timestamp())
    unknown = on_answer(at(Step.RECEIPT, receipt=receipt), FISCAL, Refused("unavailable", "timeout"), NOW)
    assert unknown.step is Step.RECEIPT and unknown.receipt is not None and unknown.receipt.uuid == receipt.uuid
    paper = on_answer(at(Step.RECEIPT, receipt=receipt), FISCAL, Refused("paper_out", "no paper"), NOW)
    assert paper.receipt is not None and paper.receipt.uuid == receipt_uuid("b1:pay:1", 2)
    assert next_action(at(Step.RECEIPT, receipt=paper.receipt), FISCAL, 90) == Fiscalize(paper.receipt.uuid, 0.5)


@pytest.mark.parametrize(("status", "step"), [("AUTHORIZED", Step.CANCELLING), ("CAPTURED", Step.REFUNDING)])
def test_past_the_deadline_the_money_goes_back_and_staff_are_alerted(status: str, step: Step) -> None:
    receipt = ReceiptRequest(uuid=receipt_uuid("b1:pay:1", 3), attempt=3, failures=9, since=NOW.timestamp() - 61)
    t = on_answer(
        at(Step.RECEIPT, status, receipt), FISCAL, Refused("paper_out", "no paper"), NOW, receipt_deadline_s=60.0
    )
    assert t.step is step and t.journal is not None and not t.journal.approved
    assert t.alert is not None and t.alert[0] == "alert.receipt_failed"
    back_then = ProviderPayment(id="P-1", status="CANCELED", amount=9_000)
    answer = Ok(back_then if step is Step.CANCELLING else Refund(id="R-1", amount=9_000, payment=back_then))
    back = on_answer(replace(at(step, status), message=t.message), FISCAL, answer, NOW)
    assert back.step in (Step.FAILED, Step.REFUNDED) and "receipt could not be printed" in back.message
    assert back.alert is None  # alerted once, when the receipt failed


def sale() -> Basket:
    b = Basket("b1", "lane-1", Rules(NOW.tzinfo))  # type: ignore[arg-type]
    for n in range(3):
        b.add(Product(f"0460000000{n:04d}", f"p{n}", 1_000 * (n + 1)), f"0460000000{n:04d}", NOW)
    b.state = State.CLOSED
    return b


def test_a_return_takes_lines_of_a_closed_sale_once_each_for_what_was_paid() -> None:
    assert plan_return(sale(), [1, 3], set()).amount == 1_000 + 3_000
    for wanted, returned, code in (
        ([1], {1}, "already_returned"),
        ([9], set(), "no_line"),
        ([], set(), "bad_lines"),
        ([2, 2], set(), "bad_lines"),
    ):
        with pytest.raises(ReturnError) as e:
            plan_return(sale(), wanted, returned)
        assert e.value.code == code
    with pytest.raises(ReturnError):
        plan_return(replace(sale(), state=State.PAID), [1], set())
    returns = [a_return(step, line) for step, line in (("done", 1), ("failed", 2), ("receipt", 3))]
    assert returned_lines(returns) == {1, 3}


def a_return(step: str, line: int) -> ReturnRecord:
    return ReturnRecord(
        id=f"b1:return:{line}",
        basket_id="b1",
        lane="lane-1",
        lines=(line,),
        amount=1_000,
        step=step,
        staff="S-01",
        detail=ReturnDetail(payment="P-1"),
    )


def test_the_receipt_deadline_is_the_age_measured_by_the_caller_not_the_wall_clock() -> None:
    """The wall clock jumped 2 h past the receipt's start, but the caller's monotonic clock says
    1 s: the receipt is tried again, the money is not given back."""
    receipt = ReceiptRequest(uuid=receipt_uuid("b1:pay:1", 1), since=NOW.timestamp() - 7200)
    jumped = on_answer(
        at(Step.RECEIPT, receipt=receipt), FISCAL, Refused("paper_out", "no paper"), NOW, receipt_age_s=1.0
    )
    assert jumped.step is Step.RECEIPT and jumped.journal is None
    late = on_answer(at(Step.RECEIPT, receipt=receipt), FISCAL, Refused("paper_out", "no paper"), NOW, receipt_age_s=61)
    assert late.step is Step.CANCELLING


# The tasks as the public ATOL clients write them (../shared/reference/fiscal.md: atol-client,
# node-atol-rpc's typed tasks, fadinflame/atol-webapi): the names a real Web-server reads.
REFERENCE_SELL = {
    "type": "sell",
    "taxationType": "osn",
    "electronically": False,
    "operator": {"name": "SCO-07"},
    "items": [
        {
            "type": "position",
            "name": "Вода 0,5",
            "price": 59.0,
            "quantity": 1,
            "amount": 59.0,
            "measurementUnit": "piece",
            "paymentMethod": "fullPayment",
            "paymentObject": "commodity",
            "tax": {"type": "vat22"},
            "imcParams": {
                "imcType": "auto",
                "imc": "",
                "itemEstimatedStatus": "itemPieceSold",
                "imcModeProcessing": 0,
                "itemInfoCheckResult": dict.fromkeys(BITS_2106, True) | {"ecrStandAloneFlag": False},
            },
            "industryInfo": [{"fois": "030", "date": "2022.03.26", "number": "477", "industryAttribute": ""}],
        }
    ],
    "payments": [{"type": "electronically", "sum": 59.0}],
}
REFERENCE_BEGIN = {
    "type": "beginMarkingCodeValidation",
    "params": {
        "imcType": "auto",
        "imc": "",
        "itemEstimatedStatus": "itemPieceSold",
        "imcModeProcessing": 0,
        "itemQuantity": 1,
        "itemUnits": "piece",
    },
}


def _shape(value: object) -> object:
    """A JSON value's field names and types, nested (lists by their first element)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _missing(reference: object, mine: object, where: str = "") -> list[str]:
    """Where ``mine`` lacks a field of ``reference`` or has it with another JSON type."""
    if isinstance(reference, dict):
        if not isinstance(mine, dict):
            return [where or "/"]
        return [m for k, v in reference.items() for m in _missing(v, mine.get(k), f"{where}/{k}")]
    if isinstance(reference, list):
        return [where] if not isinstance(mine, list) else _missing(reference[0], mine[0], f"{where}/0")
    return [] if reference == mine else [f"{where}: {mine} instead of {reference}"]


def test_our_tasks_have_the_field_names_and_types_the_public_clients_send() -> None:
    """Field by field: a marked sale's task and a mark check's begin task carry every field the
    public clients send, with the same JSON types (a float price, a list of industryInfo, …)."""
    from edge_agent.fiscal.atol_tasks import begin_task

    [line] = make_lines([("water", 5_900, 0, True)])
    assert _missing(_shape(REFERENCE_SELL), _shape(sell_task([line], [Tender(5_900)], RULES))) == []
    assert _missing(_shape(REFERENCE_BEGIN), _shape(begin_task(line.mark_code or ""))) == []

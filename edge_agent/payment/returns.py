"""Returns of past sales at the staff handheld: a sell-return receipt, the refund, the items
out of the sold set (docs/fiscal.md).

``plan_return`` is pure: which lines of a closed sale may go back and for how much. A return
is then a row that moves through its steps, each written before the next is tried, and
resumed after a crash like a payment:

    checking ─codes checked as itemPieceReturn─► receipt ─sellReturn printed─► refunding ─refund─► done
        └─ the register refuses a code ─► failed          (a refund refused: failed + an alert)

The receipt's uuid is persisted before it is first sent and the refund carries the key
``{return}:refund``, so neither happens twice. ``done`` takes the items out of the sold set
and queues ``transaction.returned`` and an EPCIS return document in one transaction. A lane
without a register goes straight to the refund.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from edge_agent.basket import Basket, Line
from edge_agent.codes import ParseError, parse
from edge_agent.config import CheckoutSettings
from edge_agent.egais.cheque import UtmAnswerError, UtmRefused
from edge_agent.egais.utm import UtmDown
from edge_agent.fiscal.desk import Fiscal
from edge_agent.fiscal.receipt import ReceiptError, Tender, return_receipt
from edge_agent.fiscal.register import RegisterError
from edge_agent.payment.provider import AnswerError, Refund
from edge_agent.payment.records import ReceiptRequest, ReturnDetail, ReturnRecord
from edge_agent.payment.return_plan import FINAL, ReturnError, ReturnStep, plan_return, returned_lines
from edge_agent.payment.steps import receipt_uuid
from edge_agent.repositories import Repositories
from edge_agent.sync.rpc import OutcomeUnknown, Requester, ServiceError
from edge_agent.wire.events import EPCIS, RETURNED, epcis_returned

log = logging.getLogger("edge_agent.returns")


class Returns:
    def __init__(self, records: Repositories, requester: Requester, settings: CheckoutSettings, fiscal: Fiscal) -> None:
        self.records, self.requester, self.settings, self.fiscal = records, requester, settings, fiscal
        self._lock = asyncio.Lock()
        self.alerts = 0

    def find(self, code: str) -> tuple[str, int]:
        """The sale and line of an item by its code (КИ, mark code or Digital Link)."""
        try:
            ki = parse(code).ki
        except ParseError as e:
            raise ReturnError("bad_code", f"not an item code: {e}") from None
        basket_id = self.records.sold.sold_in(ki) if ki else None
        sale = self.records.journal.sale(basket_id) if basket_id else None
        line = sale.line_by_key(ki) if sale is not None and ki else None
        if sale is None or line is None:
            raise ReturnError("not_sold_here", f"{ki or code} was not sold in this store (or was returned)")
        return sale.id, line.id

    async def start(self, basket_id: str, lines: Sequence[int], staff: str, lane: str | None = None) -> ReturnRecord:
        """Take ``lines`` of sale ``basket_id`` back; print on ``lane``'s register (default: the sale's)."""
        async with self._lock:
            sale = self.records.journal.sale(basket_id)
            previous = self.records.returns.of_basket(basket_id)
            plan = plan_return(sale, lines, returned_lines(previous))
            assert sale is not None
            paid = [p for p in self.records.payments.of_basket(basket_id) if p.step == "done"]
            if not paid or not paid[-1].provider_id:
                raise ReturnError("no_payment", f"sale {basket_id} has no captured payment to refund")
            where = lane or sale.lane
            has_register = where in self.fiscal.desks
            rid = f"{basket_id}:return:{len(previous) + 1}"
            row = ReturnRecord(
                id=rid,
                basket_id=basket_id,
                lane=where,
                lines=plan.lines,
                amount=plan.amount,
                staff=staff,
                step=ReturnStep.CHECKING if has_register else ReturnStep.REFUNDING,
                detail=ReturnDetail(payment=paid[-1].provider_id),
            )
            self._save(row)
        return await self._drive(rid)

    async def resume(self) -> int:
        ids = self.records.returns.unfinished()
        for rid in ids:
            await self._drive(rid)
        return len(ids)

    async def _drive(self, rid: str) -> ReturnRecord:
        async with self._lock:
            row = self.records.returns.get(rid)
            assert row is not None
            try:
                while ReturnStep(row.step) not in FINAL:
                    row = await self._step(row)
                    if row.step != ReturnStep.DONE:  # done was written with its effects
                        self._save(row)
            except (RegisterError, OutcomeUnknown, AnswerError, UtmDown, UtmAnswerError) as e:  # tried again later
                row = self.records.returns.get(rid) or row  # with what the step saved before it failed
                row = _moved(row, row.step, waiting=str(e))
                self._save(row)
            return row

    def _egais(self, return_id: str) -> tuple[str, str] | None:
        """The УТМ's url and sign of a return's bottles, for its receipt."""
        if self.fiscal.egais is None:
            return None
        record = self.fiscal.egais.cheques.get(f"{return_id}:egais")
        return (record.url, record.sign) if record is not None and record.url and record.sign else None

    def _lines(self, row: ReturnRecord) -> tuple[Basket, list[Line]]:
        sale = self.records.journal.sale(row.basket_id)
        assert sale is not None, f"return {row.id}: its sale is gone"
        checks = row.detail.checks
        return sale, [replace(sale.lines[i], kkt=checks.get(i, sale.lines[i].kkt)) for i in row.lines]

    async def _step(self, row: ReturnRecord) -> ReturnRecord:
        detail = row.detail
        desk = self.fiscal.desks.get(row.lane)
        match ReturnStep(row.step):
            case ReturnStep.CHECKING:
                assert desk is not None
                sale, lines = self._lines(row)
                for line in lines:
                    if line.marked and line.mark_code and line.id not in row.detail.checks:
                        async with desk.lock:
                            check = await desk.register.check_mark(
                                line.mark_code, line.measure.status(sale=False), line.measure
                            )
                        if check.refusal():
                            return _moved(row, ReturnStep.FAILED, message=check.refusal())
                        row = _moved(row, row.step, checks={**row.detail.checks, line.id: check})
                        self._save(row)
                if self.fiscal.egais is not None:  # stamped bottles go back through the УТМ first
                    try:
                        await self.fiscal.egais.return_bottles(row.id, sale, lines)
                    except UtmRefused as e:
                        return _moved(row, ReturnStep.FAILED, message=f"ЕГАИС refused the return: {e.message}")
                return _moved(row, ReturnStep.RECEIPT, receipt=ReceiptRequest(uuid=receipt_uuid(row.id, 1)))
            case ReturnStep.RECEIPT:
                assert desk is not None and detail.receipt is not None
                sale, lines = self._lines(row)
                receipt = detail.receipt
                try:
                    printed = return_receipt(
                        lines, [Tender(row.amount)], self.fiscal.rules, sale.contact, egais=self._egais(row.id)
                    )
                    fiscal = await desk.fiscalize(receipt.uuid, printed)
                except ReceiptError as e:
                    return _moved(row, ReturnStep.FAILED, message=e.message)
                except RegisterError as e:
                    if not e.unknown and e.kind != "unavailable":  # nothing printed: the next request
                        n = receipt.attempt + 1
                        self._save(
                            _moved(row, row.step, receipt=replace(receipt, attempt=n, uuid=receipt_uuid(row.id, n)))
                        )
                    raise
                return _moved(row, ReturnStep.REFUNDING, receipt=replace(receipt, fiscal=fiscal))
            case ReturnStep.REFUNDING:
                data = {"payment_id": detail.payment, "amount": row.amount}
                try:
                    answer = await self.requester.call(
                        "payment",
                        "refund",
                        data,
                        f"{row.id}:refund",
                        basket_id=row.basket_id,
                        timeout_s=self.settings.request_timeout_s,
                        attempts=self.settings.request_attempts,
                    )
                except ServiceError as e:
                    return self._refund_refused(row, e)
                done = _moved(row, ReturnStep.DONE, refund=Refund.from_json(answer))
                self._finish(done)
                return done
        raise AssertionError(f"return {row.id}: step {row.step}")

    def _refund_refused(self, row: ReturnRecord, e: ServiceError) -> ReturnRecord:
        failed = _moved(row, ReturnStep.FAILED, message=f"refund refused: {e.message}")
        receipt = row.detail.receipt
        fact = {
            "return": row.id,
            "basket": row.basket_id,
            "amount": row.amount,
            "error": e.code,
            "message": e.message,
            "receipt_printed": receipt is not None and receipt.fiscal is not None,
        }
        with self.records.db.transaction() as conn:
            self._save(failed, conn)
            self.records.outbox.announce(row.lane, "alert.refund_failed", fact, basket_id=row.basket_id, conn=conn)
        self.alerts += 1
        log.error("return %s: the refund was refused (%s); staff pay it out by hand", row.id, e.message)
        return failed

    def _save(self, row: ReturnRecord, conn: sqlite3.Connection | None = None) -> None:
        self.records.returns.save(row, conn)

    def _finish(self, row: ReturnRecord) -> None:
        """The items are back: out of the sold set, central told (the return, EPCIS): one transaction."""
        sale, lines = self._lines(row)
        detail = row.detail
        fiscal = detail.receipt.fiscal if detail.receipt else None
        fact = {
            "return": row.id,
            "basket": row.basket_id,
            "lines": list(row.lines),
            "amount": row.amount,
            "items": [line.key for line in lines],
            "staff": row.staff,
            "refund": detail.refund.id if detail.refund else None,
            "receipt": fiscal.to_json() if fiscal else None,
        }

        tz, read_point = self.records.sale_events.tz, self.records.sale_events.read_point
        doc = epcis_returned(lines, sale, tz=tz, read_point=read_point, return_id=row.id, now=datetime.now(tz))
        outbox = self.records.outbox
        with self.records.db.transaction() as conn:
            self._save(row, conn)
            self.records.sold.unsell([line.key for line in lines if line.serialized], conn)
            outbox.announce(row.lane, RETURNED, fact, basket_id=row.basket_id, conn=conn)
            # the trace goes where a sale's goes (docs/mqtt.md): not in the lane's event batches
            outbox.append(
                conn, lane=row.lane, type_=EPCIS, data=doc, basket_id=row.basket_id, topic=outbox.topics.epcis
            )


def _moved(row: ReturnRecord, step: str, **detail: Any) -> ReturnRecord:
    """``row`` at ``step``, its detail with the fields given replaced."""
    return replace(row, step=step, detail=replace(row.detail, **detail))

"""The lane's stamped bottles through the store's УТМ, before the fiscal receipt (law-2026.md
§4): the shell around ``cheque.py``.

``sell(basket)`` runs when the shopper pays: the cheque of the basket's stamped bottles is
written (``egais_cheques``) before it is sent, then sent; the УТМ's url and sign are journaled
with the basket (``EgaisAnswered``) in the same transaction as the cheque's state, and go on
the receipt. A refusal, or a УТМ that cannot be reached, makes each stamped line a CRITICAL
problem: the bottle is set aside and the rest of the basket is paid. A crash between the УТМ's
answer and the journal sends the same cheque again (the УТМ answers it as before): one cheque.

``settle()`` (housekeeping, and before every sale) finishes what a crash or a timeout left: a
cheque sent without an answer is sent again to learn its fate, and an accepted sale the basket
no longer stands on (cancelled, or its lines changed before payment) is undone by a return
cheque, the same bottles at negative prices. ``return_bottles`` does that for a customer's return.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from edge_agent.basket import Basket, BasketError, Line, State
from edge_agent.basket.customer import EgaisAnswered
from edge_agent.basket.journal import Journal
from edge_agent.basket.machine import BEFORE_PAYMENT
from edge_agent.config_types import Section, Url
from edge_agent.egais.cheque import (
    Cheque,
    UtmAnswer,
    UtmAnswerError,
    UtmRefused,
    bottles_of,
    cheque_xml,
    negated,
    read_cheque,
)
from edge_agent.egais.records import ChequeRecord, EgaisCheques
from edge_agent.egais.records import State as ChequeState
from edge_agent.egais.utm import UtmClient, UtmDown
from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger("edge_agent.egais")
PAID = frozenset({State.PAID, State.CLOSED})


class EgaisSettings(Section):
    """``[egais]``: the store's УТМ and what its cheques say of the store."""

    #: sell stamped strong alcohol (catalogue ``egais``) through the УТМ; off: such bottles are refused
    enabled: bool = False
    utm_url: Url = "http://127.0.0.1:8080"
    #: ``ChequeV3`` (current) or the legacy ``Cheque``
    form: Literal["ChequeV3", "Cheque"] = "ChequeV3"
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 5.0
    inn: Annotated[str, Field(pattern=r"^(\d{10}|\d{12})$")] = "7700000000"
    kpp: Annotated[str, Field(pattern=r"^\d{9}$")] = "770001001"
    name: Annotated[str, Field(min_length=1, max_length=256)] = "edge-agent store"
    address: Annotated[str, Field(max_length=512)] = ""
    #: a lane's till in the cheques is this prefix and the lane's id (a chain may use its
    #: registers' factory numbers' prefix): unique per till, with the cheque numbers
    kassa_prefix: Annotated[str, Field(max_length=64)] = ""


def stamped(basket: Basket) -> list[Line]:
    return [line for line in basket.lines.values() if line.egais]


class EgaisDesk:
    def __init__(
        self,
        settings: EgaisSettings,
        *,
        journal: Journal,
        cheques: EgaisCheques,
        tz: ZoneInfo,
        live: Callable[[str], Basket | None],
        volume_of: Callable[[str], int] = lambda gtin: 0,
        shift_of: Callable[[str], int] = lambda lane: 1,
    ) -> None:
        self.settings, self.journal, self.cheques, self.tz = settings, journal, cheques, tz
        self.live, self.volume_of, self.shift_of = live, volume_of, shift_of
        self.client = UtmClient(settings.utm_url, settings.form, settings.timeout_s)
        self._lock = asyncio.Lock()  # one cheque at a time: a sale and the housekeeping never race
        self._noise = ThrottledLog(log)

    # -- a sale ---------------------------------------------------------------------------------
    async def sell(self, basket: Basket) -> None:
        """The УТМ accepts the basket's stamped bottles, or each is a problem and this raises
        ``BasketError`` (``egais_refused``, ``egais_unavailable``) saying why."""
        bottles = stamped(basket)
        if not bottles or (basket.egais is not None and set(basket.egais.lines) == {b.id for b in bottles}):
            return  # accepted for these bottles at these prices (a price change voids it: basket/machine.py)
        if any(b.stamp is None for b in bottles):
            raise BasketError("stamp_needed", "a bottle's excise stamp is not scanned yet")
        async with self._lock:
            record = self._resend(basket, bottles)  # these bottles' cheque, sent before a crash
            if record is None:
                await self._settle(basket.id)  # a stale acceptance of these stamps is returned first
                record = self._write(basket, bottles)
            await self._sell(basket, bottles, record)

    async def _sell(self, basket: Basket, bottles: Sequence[Line], record: ChequeRecord) -> None:
        try:
            answer = await self.client.send(record.xml)
        except UtmRefused as e:
            self._refused(basket, record, e.message, "refused")
            raise BasketError("egais_refused", f"ЕГАИС did not accept the bottles: {e.message}") from None
        except (UtmDown, UtmAnswerError) as e:
            self._refused(basket, record, e.message, "not_sent" if e.code == "not_sent" else "sending")
            raise BasketError("egais_unavailable", f"the store's УТМ cannot take the sale now: {e.message}") from None
        lines, amounts = tuple(b.id for b in bottles), tuple(b.amount for b in bottles)

        def accepted(conn: sqlite3.Connection) -> None:
            self.cheques.answered(conn, record.id, "accepted", url=answer.url, sign=answer.sign)

        sale = EgaisAnswered(cheque=record.id, url=answer.url, sign=answer.sign, lines=lines, amounts=amounts)
        self.journal.apply(basket, sale, also=accepted)

    def _write(self, basket: Basket, bottles: Sequence[Line]) -> ChequeRecord:
        n = sum(1 for r in self.cheques.of_basket(basket.id) if r.kind == "sale") + 1
        with self.journal.db.transaction() as conn:
            number = self.cheques.next_number(conn)
            xml = self._xml("sale", basket.lane, number, self._rows(bottles))
            record = ChequeRecord(f"{basket.id}:egais:{n}", basket.id, "sale", number, xml, "sending")
            self.cheques.create(conn, record)
        return record

    def _resend(self, basket: Basket, bottles: Sequence[Line]) -> ChequeRecord | None:
        """The cheque of these very bottles, written and maybe sent before a crash: sent again."""
        want = {(b.stamp, b.amount) for b in bottles}
        for record in self.cheques.of_basket(basket.id):
            if record.kind == "sale" and record.state == "sending":
                sent = {(bottle.stamp, bottle.price) for bottle in read_cheque(record.xml)[0].bottles}
                if sent == want:
                    return record
        return None

    def _refused(self, basket: Basket, record: ChequeRecord, why: str, state: ChequeState) -> None:
        code = "EGAIS_REFUSED" if state == "refused" else "EGAIS_UNAVAILABLE"
        self._noise.warning(code, "lane %s: ЕГАИС: %s", basket.lane, why)

        def write(conn: sqlite3.Connection) -> None:
            if state != "sending":  # unknown: stays to be sent again (settle)
                self.cheques.answered(conn, record.id, state, error=why)

        self.journal.apply(basket, EgaisAnswered(cheque=record.id, refusal=why, code=code), also=write)

    def _xml(
        self, kind: Literal["sale", "return"], lane: str, number: int, rows: list[tuple[str, str, int, int]]
    ) -> bytes:
        s = self.settings
        cheque = Cheque(
            kind=kind,
            inn=s.inn,
            kpp=s.kpp,
            name=s.name,
            address=s.address,
            kassa=f"{s.kassa_prefix}{lane}",
            shift=self.shift_of(lane),
            number=number,
            at=datetime.now(self.tz),
            bottles=bottles_of(rows, -1 if kind == "return" else 1),
        )
        return cheque_xml(cheque, s.form)

    # -- what a crash or a change left -----------------------------------------------------------
    async def settle(self, basket_id: str | None = None) -> int:
        """Learn the fate of cheques sent without an answer, and return accepted sales no basket
        stands on; ``basket_id``: only that basket's. How many cheques it sent."""
        async with self._lock:
            return await self._settle(basket_id)

    async def _settle(self, basket_id: str | None) -> int:
        sent = 0
        for found in self.cheques.unsettled():
            if basket_id is not None and found.basket_id != basket_id:
                continue
            if basket_id is None and found.state == "sending" and self._will_resend(found):
                continue
            try:
                record = found
                if found.state == "sending":
                    sent += 1
                    await self._learn(found)
                    record = self.cheques.get(found.id) or found
                if record.kind == "sale" and record.state == "accepted" and not self._stands(record):
                    sent += 1
                    await self._undo(record)
            except (UtmDown, UtmAnswerError) as e:
                self._noise.warning("settle", "ЕГАИС: cheque %s not settled yet: %s", found.id, e.message)
        return sent

    async def _learn(self, record: ChequeRecord) -> None:
        try:
            answer = await self.client.send(record.xml)
        except UtmRefused as e:
            with self.journal.db.transaction() as conn:
                self.cheques.answered(conn, record.id, "refused", error=e.message)
            return
        with self.journal.db.transaction() as conn:
            self.cheques.answered(conn, record.id, "accepted", url=answer.url, sign=answer.sign)

    def _will_resend(self, record: ChequeRecord) -> bool:
        """A sale's cheque whose basket has not paid yet: its next payment sends it again."""
        basket = self.live(record.basket_id)
        return record.kind == "sale" and basket is not None and basket.state in BEFORE_PAYMENT

    def _stands(self, record: ChequeRecord) -> bool:
        """The sale is the basket's: paid with it, or still waiting to be paid with it."""
        basket = self.live(record.basket_id) or self.journal.sale(record.basket_id)
        if basket is None or basket.egais is None or basket.egais.cheque != record.id:
            return False
        return basket.state in PAID or basket.state is State.READY_TO_PAY or basket.state is State.PAYMENT_PENDING

    async def _undo(self, record: ChequeRecord) -> None:
        """A return cheque of an accepted sale: the same bottles at negative prices."""
        undo = self.cheques.get(f"{record.id}:return")
        if undo is None:
            with self.journal.db.transaction() as conn:
                number = self.cheques.next_number(conn)
                xml = negated(record.xml, number, datetime.now(self.tz))
                undo = ChequeRecord(f"{record.id}:return", record.basket_id, "return", number, xml, "sending")
                self.cheques.create(conn, undo)
        await self._learn(undo)
        log.info("ЕГАИС: sale %s returned (the basket did not pay for it)", record.id)

    # -- a customer's return ------------------------------------------------------------------------
    async def return_bottles(self, return_id: str, sale: Basket, lines: Sequence[Line]) -> UtmAnswer | None:
        """The bottles of a paid sale coming back: a return cheque (``UtmRefused`` if ЕГАИС says
        no; ``UtmDown`` to try again later, the same cheque)."""
        bottles = [line for line in lines if line.egais and line.stamp]
        if not bottles:
            return None
        cheque_id = f"{return_id}:egais"
        record = self.cheques.get(cheque_id)
        if record is None:
            with self.journal.db.transaction() as conn:
                number = self.cheques.next_number(conn)
                xml = self._xml("return", sale.lane, number, self._rows(bottles))
                record = ChequeRecord(cheque_id, sale.id, "return", number, xml, "sending")
                self.cheques.create(conn, record)
        elif record.state == "accepted" and record.url and record.sign:
            return UtmAnswer(record.url, record.sign)
        answer = await self.client.send(record.xml)
        with self.journal.db.transaction() as conn:
            self.cheques.answered(conn, record.id, "accepted", url=answer.url, sign=answer.sign)
        return answer

    def _rows(self, lines: Sequence[Line]) -> list[tuple[str, str, int, int]]:
        return [(line.stamp or "", line.gtin, line.amount, self.volume_of(line.gtin)) for line in lines]

    async def aclose(self) -> None:
        await self.client.aclose()

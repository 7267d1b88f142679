"""A lane's fiscal register as the daemon uses it: mark codes checked while the customer is
still scanning, shifts opened and closed, the register's state for health and for the
kiosk (docs/fiscal.md).

One worker per lane talks to the register, one request at a time (the register checks one
code at a time anyway). A basket change on the lane wakes it; it checks every marked line
that the register has not checked yet, oldest first, and journals each answer on the basket
(``RegisterChecked``: a refusal is a CRITICAL problem). At pay time ``check_rest`` checks
what is left. A line is never checked twice: the answer is on the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, BasketError, Line
from edge_agent.basket.commands import RegisterChecked
from edge_agent.basket.journal import Journal
from edge_agent.basket.machine import BEFORE_PAYMENT
from edge_agent.config import Config
from edge_agent.db import StoreError
from edge_agent.egais.records import EgaisCheques
from edge_agent.egais.sales import EgaisDesk
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.fiscal.marks import MarkCheck
from edge_agent.fiscal.receipt import Receipt, ReceiptRules
from edge_agent.fiscal.register import NEEDS_STAFF, FiscalRegister, RegisterError, RegisterStatus, Shift
from edge_agent.fiscal.requisites import Foundation, FoundationDocument
from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger("edge_agent.fiscal")
SHIFT_LENGTH = timedelta(hours=24)  # a shift lasts at most 24 h (54-ФЗ)
NO_CODE = "the item's mark code is not known here: scan its DataMatrix code"


def needs_check(line: Line) -> bool:
    return line.marked and line.kkt is None and line.verdict != "BLOCKED"


@dataclass(frozen=True, slots=True)
class DeskSettings:
    #: close the shift (Z-report) after this local time, once a day; None: only on expiry
    close_shift_at: dtime | None = None
    #: how often the register's state is read for health
    status_every_s: float = 10.0
    #: the ОФД queue's oldest unsent document older than this turns health degraded
    ofd_warn_s: float = 3 * 24 * 3600.0
    #: false: mark codes are checked on the register only at pay time (the slow, naive order)
    check_while_scanning: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskHealth:
    """A lane's register as health shows it: can it print, why not, its ОФД queue, its counts."""

    ok: bool
    error: str | None
    error_kind: str | None
    since: float | None
    register: RegisterStatus | None
    ofd_oldest_age_s: float | None
    checks: int
    refusals: int
    receipts: int
    refuses_payments: str | None
    rechecks: int = 0  # codes checked again because the register had forgotten them

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "error": self.error,
            "error_kind": self.error_kind,
            "since": self.since,
            "register": self.register.to_dict() if self.register else None,
            "ofd_oldest_age_s": self.ofd_oldest_age_s,
            "checks": self.checks,
            "refusals": self.refusals,
            "receipts": self.receipts,
            "refuses_payments": self.refuses_payments,
            "rechecks": self.rechecks,
        }


class FiscalDesk:
    def __init__(
        self,
        lane: str,
        register: FiscalRegister,
        journal: Journal,
        *,
        tz: ZoneInfo,
        settings: DeskSettings | None = None,
        basket: Callable[[], Basket | None] = lambda: None,
    ) -> None:
        self.lane, self.register, self.journal, self.tz = lane, register, journal, tz
        self.settings = settings or DeskSettings()
        self.basket = basket  # the lane's live basket
        self.lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self.state: RegisterStatus | None = None
        self.error: RegisterError | None = None
        self.error_since: float | None = None
        self.checks = self.refusals = self.receipts = 0
        self._noise = ThrottledLog(log)
        self._last_status = 0.0
        #: codes checked again because the register had forgotten them (a restart, a power loss,
        #: a replacement): their fresh answers go on the next receipt instead of the lines' own
        self._rechecked: dict[str, MarkCheck] = {}
        self.rechecks = 0
        journal.listeners.append(self._changed)

    def _changed(self, basket: Basket) -> None:
        if not self.settings.check_while_scanning or basket.lane != self.lane or basket.state not in BEFORE_PAYMENT:
            return
        if any(map(needs_check, basket.lines.values())):
            self._wanted.set()

    # -- health -------------------------------------------------------------------------------
    def _failed(self, e: RegisterError) -> None:
        if self.error is None:
            self.error_since = time.time()
            log.error("lane %s: fiscal register: %s", self.lane, e.message)
        self.error = e

    def _ok(self) -> None:
        if self.error is not None:
            log.warning("lane %s: fiscal register works again", self.lane)
        self.error, self.error_since = None, None

    def refusal(self) -> str | None:
        """Why this lane takes no payment now (the register cannot print), or None."""
        if self.error is not None and (self.error.kind in NEEDS_STAFF or self.error.kind == "unavailable"):
            return f"the receipt printer needs staff: {self.error.message}"
        s = self.state
        if s is not None and (s.fn_blocked or not s.paper or s.cover_open):
            what = "fiscal drive blocked" if s.fn_blocked else "out of paper" if not s.paper else "cover open"
            return f"the receipt printer needs staff: {what}"
        return None

    def fault(self) -> str | None:
        """The kind of what stops this register printing (``lane_faults.py``'s codes), or None."""
        if self.error is not None and (self.error.kind in NEEDS_STAFF or self.error.kind == "unavailable"):
            return self.error.kind
        s = self.state
        if s is not None and (s.fn_blocked or not s.paper or s.cover_open):
            return "fn_blocked" if s.fn_blocked else "paper_out" if not s.paper else "cover_open"
        return None

    def status(self) -> DeskHealth:
        s = self.state
        ofd_age = None
        if s is not None and s.oldest_unsent_at:
            ofd_age = max(0.0, time.time() - datetime.fromisoformat(s.oldest_unsent_at).timestamp())
        ok = self.refusal() is None and (ofd_age is None or ofd_age < self.settings.ofd_warn_s)
        e = self.error
        return DeskHealth(
            ok=ok,
            error=e.message if e else None,
            error_kind=e.kind if e else None,
            since=self.error_since,
            register=s,
            ofd_oldest_age_s=ofd_age,
            checks=self.checks,
            refusals=self.refusals,
            receipts=self.receipts,
            refuses_payments=self.refusal(),
            rechecks=self.rechecks,
        )

    def health(self) -> dict[str, object]:
        """``status()`` as /healthz and the retained status show it."""
        return self.status().to_dict()

    # -- the worker ---------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            basket = self.basket()
            try:
                if time.monotonic() - self._last_status >= self.settings.status_every_s:
                    await self.housekeeping()
                if basket is not None and basket.state in BEFORE_PAYMENT:
                    await self.check_rest(basket)
            except RegisterError as e:
                self._failed(e)
            except StoreError:
                pass  # the store's own health says so; the lines are checked once it writes
            except Exception as e:  # one failed round never stops the next
                self._noise.warning(type(e).__name__, "lane %s: fiscal worker: %s", self.lane, e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self.settings.status_every_s)
            self._wanted.clear()

    async def check_rest(self, basket: Basket) -> None:
        """Check on the register every marked line of ``basket`` not checked yet, one at a time
        (the line is chosen under the lock: the worker and a payment never check one twice)."""
        while True:
            async with self.lock:
                line = next((ln for ln in basket.lines.values() if needs_check(ln)), None)
                if line is None or basket.state not in BEFORE_PAYMENT:
                    return
                if line.mark_code is None:
                    check = MarkCheck(bits={}, operator_status=None)
                    refusal: str | None = NO_CODE
                else:
                    measure = line.measure
                    answer = await self.register.check_mark(line.mark_code, measure.status(), measure)
                    self._ok()
                    current = basket.lines.get(line.id)
                    if current is None or current.measure != measure:
                        continue  # the shopper took part of the pack meanwhile: checked again, for that
                    check, refusal = answer, answer.refusal()
                self.checks += 1
                self.refusals += refusal is not None
                try:
                    self.journal.apply(basket, RegisterChecked(line_id=line.id, check=check, refusal=refusal))
                except BasketError:
                    return  # the basket moved on meanwhile

    async def housekeeping(self) -> None:
        """Read the register's state; close an expired shift, or a shift still open after the
        configured closing time; open the shift before the day's first sale (not again after
        the day's closing time)."""
        self._last_status = time.monotonic()
        async with self.lock:
            self.state = await self.register.status()
            self._ok()
            shift = self.state.shift
            if shift.state == "expired" or (shift.state == "opened" and self._closing_time(shift)):
                await self.register.close_shift()
                log.info("lane %s: shift %d closed (Z-report)", self.lane, shift.number)
                self.state = await self.register.status()
            if self.state.shift.state == "closed" and not self._after_closing() and self.refusal() is None:
                await self.register.open_shift()
                log.info("lane %s: shift %d opened", self.lane, self.state.shift.number + 1)
                self.state = await self.register.status()

    def _after_closing(self) -> bool:
        at = self.settings.close_shift_at
        return at is not None and datetime.now(self.tz).time() >= at

    def _closing_time(self, shift: Shift) -> bool:
        """Past today's closing time, with a shift opened before it."""
        at = self.settings.close_shift_at
        if at is None:
            return False
        now = datetime.now(self.tz)
        closing = datetime.combine(now.date(), at, self.tz)
        if now < closing or shift.expires_at is None:
            return now >= closing
        opened = datetime.fromisoformat(shift.expires_at) - SHIFT_LENGTH
        return opened < closing

    def _fresh(self, receipt: Receipt) -> Receipt:
        if not self._rechecked:
            return receipt
        positions = tuple(
            replace(p, mark=replace(p.mark, check=self._rechecked[p.mark.code]))
            if p.mark is not None and p.mark.code in self._rechecked
            else p
            for p in receipt.positions
        )
        return replace(receipt, positions=positions)

    async def _check_again(self, receipt: Receipt) -> None:
        """Check the receipt's codes on the register again (the caller holds the lock)."""
        log.warning("lane %s: the register forgot the codes it had checked: checking them again", self.lane)
        for p in receipt.positions:
            if p.mark is None:
                continue
            check = await self.register.check_mark(p.mark.code, p.mark.status, p.mark.measure)
            self.checks += 1
            self.rechecks += 1
            self._rechecked[p.mark.code] = check
            if check.refusal():
                log.error("lane %s: on the second check the register refuses a code: %s", self.lane, check.refusal())

    async def ensure_shift(self) -> None:
        """An open shift for the next receipt: an expired one is closed first (caller holds the lock)."""
        shift = await self.register.shift()
        if shift.state == "expired":
            await self.register.close_shift()
        if shift.state != "opened":
            await self.register.open_shift()

    async def fiscalize(self, uuid: str, receipt: Receipt) -> FiscalDocument:
        """Print ``receipt`` as request ``uuid`` (at most once) and return its fiscal document.

        The register's memory of checked codes is the register's: when it says a code is not
        checked (it restarted, lost power or was replaced since), every marked position is
        checked on it again and the error raised, so the next request (the caller's next uuid)
        prints with the fresh answers: one re-check, never a lost sale."""
        async with self.lock:
            try:
                await self.ensure_shift()
                document = await self.register.print_receipt(uuid, self._fresh(receipt))
            except RegisterError as e:
                self._failed(e)
                if e.kind == "not_checked":
                    await self._check_again(receipt)
                raise
            for p in receipt.positions:
                if p.mark is not None:
                    self._rechecked.pop(p.mark.code, None)
            self._ok()
            self.receipts += 1
            return document


@dataclass(frozen=True, slots=True)
class Fiscal:
    """The lanes' fiscal registers and what every receipt says (docs/fiscal.md)."""

    desks: dict[str, FiscalDesk]
    rules: ReceiptRules = field(default_factory=ReceiptRules)
    #: how long a paid basket waits for its receipt before the money is given back
    receipt_deadline_s: float = 60.0
    #: the store's УТМ for stamped alcohol (ЕГАИС), when ``[egais] enabled``
    egais: EgaisDesk | None = None


def fiscal_from_config(
    config: Config,
    journal: Journal,
    basket_of: Callable[[str], Basket | None],
    *,
    live: Callable[[str], Basket | None] = lambda basket_id: None,
    volume_of: Callable[[str], int] = lambda gtin: 0,
) -> Fiscal:
    """A desk per configured register (its model's driver, ``fiscal/registry.py``), the receipt rules
    of the store, and the УТМ's desk (``live``: a live basket by id; ``volume_of``: a bottle's
    volume by GTIN)."""
    f = config.fiscal
    close_at = datetime.strptime(f.close_shift_at, "%H:%M").time() if f.close_shift_at else None
    settings = DeskSettings(close_at, ofd_warn_s=f.ofd_warn_days * 86400, check_while_scanning=f.check_while_scanning)
    tz = ZoneInfo(config.store.timezone)
    desks = {}
    for r in f.registers:
        operator = {"name": r.operator or r.lane} | ({"vatin": f.operator_vatin} if f.operator_vatin else {})
        register = r.build(operator=operator, timeout_s=f.request_timeout_s, task_deadline_s=f.task_deadline_s)
        desks[r.lane] = FiscalDesk(
            r.lane, register, journal, tz=tz, settings=settings, basket=functools.partial(basket_of, r.lane)
        )
    rules = ReceiptRules(
        "SCO", f.operator_vatin, f.taxation, f.vat_default, dict(f.vat), f.electronically, foundation_of(config)
    )
    egais = None
    if config.egais.enabled:

        def shift(lane: str) -> int:
            state = desks[lane].state if lane in desks else None
            return state.shift.number if state is not None else 1

        egais = EgaisDesk(
            config.egais,
            journal=journal,
            cheques=EgaisCheques(journal.db),
            tz=tz,
            live=live,
            volume_of=volume_of,
            shift_of=shift,
        )
    return Fiscal(desks, rules, f.receipt_deadline_s, egais)


def foundation_of(config: Config) -> Foundation:
    """Tag 1260's decree table of the store, in its time zone: the receipts' and the verdicts'."""
    rows = config.fiscal.foundation
    documents = tuple(
        FoundationDocument(foiv=r.foiv, issued=r.issued, number=r.number, effective=r.effective) for r in rows
    )
    return Foundation(documents, ZoneInfo(config.store.timezone))

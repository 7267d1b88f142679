"""The basket as a pure state machine (docs/architecture.md, docs/sources.md §3.3).

States: OPEN → SCANNING → (NEEDS_ASSISTANCE) → CHECKOUT → READY_TO_PAY → PAYMENT_PENDING →
PAID → CLOSED, and CANCELLED from any state before payment. Problems (AGE_RESTRICTED,
ALCOHOL_HOURS, MARKING_BLOCKED, MARKING_CHECK_UNAVAILABLE, ALREADY_SOLD, CLONED_TAG, UNKNOWN_ITEM,
QTY_LIMIT, PAYMENT_DECLINED) have a level, MEDIUM (staff approve) or CRITICAL (the line must
go), and a resolution (staff id, device, time). Payment is impossible while a problem is
open, and a marked line must have an ALLOWED verdict before checkout.

Every method takes the time it happens at; nothing here reads a clock, a file or the network,
so a journal of the calls replays the basket exactly. Money is integer kopecks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from edge_agent.basket.shopper import ShopperRules
from edge_agent.basket.values import (
    BEFORE_PAYMENT,
    NON_BLOCKING,
    AgeProof,
    BasketError,
    EgaisSale,
    Level,
    Line,
    Problem,
    Product,
    Resolution,
    Rules,
    State,
    weighed_price,
)
from edge_agent.fiscal.marks import MarkCheck

__all__ = ["BEFORE_PAYMENT", "Basket", "BasketError", "State"]


@dataclass
class Basket(ShopperRules):
    id: str
    lane: str
    rules: Rules
    state: State = State.OPEN
    lines: dict[int, Line] = field(default_factory=dict)
    problems: dict[int, Problem] = field(default_factory=dict)
    payment_id: str | None = None
    customer: str | None = None  # the loyalty customer id, once identified
    hold_id: str | None = None  # the loyalty hold behind the line discounts
    contact: str | None = None  # the customer's phone for the electronic receipt, if typed
    #: the customer proved possession (a one-time code, the app's signed QR): points may be shown and spent
    verified: bool = False
    #: the age a document proved the shopper over (0: none yet), and the last document's fate
    age_over: int = 0
    age_proof: AgeProof | None = None
    #: the УТМ's acceptance of the stamped bottles (ЕГАИС), until the lines change
    egais: EgaisSale | None = None
    points_earned: int | None = None  # the points the closed sale earned (central's accrual)
    _next: int = 1
    #: serialized lines by КИ (``line_by_key`` in a box of thousands is a look-up, not a scan)
    _serials: dict[str, int] = field(default_factory=dict, repr=False)

    # -- drafts: a command runs on a copy, the store adopts it once the journal row commits ---
    def draft(self) -> Basket:
        """A copy to run a command on (lines and problems are immutable values: shallow is enough)."""
        return replace(self, lines=dict(self.lines), problems=dict(self.problems), _serials=dict(self._serials))

    def adopt(self, draft: Basket) -> None:
        """Become ``draft`` (same object, so every holder of this basket sees the change)."""
        if draft.id != self.id:
            raise ValueError(f"draft of {draft.id} adopted by {self.id}")
        for f in fields(self):
            setattr(self, f.name, getattr(draft, f.name))

    # -- queries ----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """What the customer pays: line prices less card prices and points (kopecks)."""
        return sum(line.amount for line in self.lines.values())

    @property
    def discount(self) -> int:
        """Kopecks paid with points."""
        return sum(line.discount for line in self.lines.values())

    @property
    def card_discount(self) -> int:
        """Kopecks off with the customer's card prices."""
        return sum(line.card_discount for line in self.lines.values())

    def open_problems(self) -> list[Problem]:
        """The open problems that stop the purchase (a help request is open, and stops nothing)."""
        return [p for p in self.problems.values() if p.open and p.code not in NON_BLOCKING]

    def line_by_key(self, key: str) -> Line | None:
        line_id = self._serials.get(key)
        return None if line_id is None else self.lines.get(line_id)

    # -- helpers ----------------------------------------------------------------------------
    def _id(self) -> int:
        self._next += 1
        return self._next - 1

    def _require(self, *states: State) -> None:
        if self.state not in states:
            allowed = ", ".join(s.value for s in states)
            raise BasketError("wrong_state", f"basket is {self.state.value}; this needs {allowed}")

    def _problem(self, code: str, level: Level, line_id: int | None, message: str, *, min_age: int = 0) -> Problem:
        problem = Problem(self._id(), code, level, line_id, message, min_age=min_age)
        self.problems[problem.id] = problem
        if code not in NON_BLOCKING and self.state in (State.SCANNING, State.CHECKOUT, State.READY_TO_PAY, State.OPEN):
            self.state = State.NEEDS_ASSISTANCE
        return problem

    def _put(self, line: Line) -> None:
        self.lines[line.id] = line
        if line.serialized:
            self._serials[line.key] = line.id

    def _lines_changed(self) -> None:
        """Discounts and ЕГАИС's acceptance were for the old lines (the shell returns the cheque)."""
        self._drop_discounts()
        self.egais = None

    def _drop_discounts(self) -> None:
        """The lines changed: an allocation made for the old lines no longer holds. Line
        discounts come only with a loyalty hold (``apply_discount``), so without one there are none."""
        if self.hold_id is not None:
            self.lines = {i: replace(line, discount=0) for i, line in self.lines.items()}
            self.hold_id = None
            self._prices_changed()

    def _prices_changed(self) -> None:
        """ЕГАИС's cheque named the bottles' old prices: void (the shell returns it, a new one goes)."""
        if self.egais is not None and any(self.lines[i].amount != p for i, p in self.egais.prices if i in self.lines):
            self.egais = None

    def _after_change(self) -> None:
        if self.state is State.NEEDS_ASSISTANCE and not self.open_problems():
            self.state = State.SCANNING
        if self.state is State.OPEN and self.lines:
            self.state = State.SCANNING

    # -- the customer ----------------------------------------------------------------------
    def add(
        self,
        product: Product | None,
        gtin: str,
        now: datetime,
        *,
        ki: str | None = None,
        mark_code: str | None = None,
        sold_here: bool = False,
        tid: str | None = None,
        cloned: bool = False,
        grams: int | None = None,
    ) -> Line | None:
        """An item arrives (box, tap or scan). A serialized item (``ki``) already in the basket
        adds nothing; returns the new line, or None. ``grams``: a weighed item's weight, from
        its mark code."""
        self._require(State.OPEN, State.SCANNING, State.NEEDS_ASSISTANCE, State.CHECKOUT, State.READY_TO_PAY)
        key = ki or gtin
        if ki is not None and self.line_by_key(ki) is not None:
            return None
        if self.state in (State.CHECKOUT, State.READY_TO_PAY):
            self.state = State.SCANNING  # back to scanning: the total changed
        self._lines_changed()
        if product is None:
            line = Line(self._id(), key, gtin, "unknown item", 0, ki is not None, False, mark_code)
            self._put(line)
            self._problem("UNKNOWN_ITEM", "CRITICAL", line.id, f"GTIN {gtin} is not in the catalogue")
            return line
        weighed = product.sold_by == "weight"
        line = Line(
            self._id(),
            key,
            gtin,
            product.name,
            weighed_price(product.price, grams or 0) if weighed else product.price,
            ki is not None,
            product.marked,
            mark_code,
            category=product.category,
            tid=tid,
            grams=grams if weighed and grams else None,
            unit_price=product.price if weighed or product.pack_units > 1 else None,
            pack_units=product.pack_units if product.pack_units > 1 else 0,
            egais=product.egais,
            card_unit=product.loyalty_price if product.loyalty_price is not None else None,
            carded=self.customer is not None,  # an identified customer gets the card price at once
            image=product.image,
        )
        self._put(line)
        if weighed and not grams:
            self._problem("WEIGHT_UNKNOWN", "CRITICAL", line.id, f"{product.name}: its code carries no weight")
        if product.egais:
            self._problem("STAMP_NEEDED", "CRITICAL", line.id, f"{product.name}: scan the bottle's excise stamp")
        if cloned:
            self._problem(
                "CLONED_TAG",
                "CRITICAL",
                line.id,
                f"{key}: the tag's chip (TID) is not the one this EPC was issued on: a copied tag",
            )
        if sold_here:
            self._problem("ALREADY_SOLD", "CRITICAL", line.id, f"{key} was already sold in this store")
        if product.alcohol and self.rules.alcohol_hours.forbidden(now.astimezone(self.rules.tz).time()):
            h = self.rules.alcohol_hours
            self._problem("ALCOHOL_HOURS", "CRITICAL", line.id, f"no alcohol sale {h.start:%H:%M}-{h.end:%H:%M}")
        if product.min_age:
            age = self._problem(
                "AGE_RESTRICTED",
                "MEDIUM",
                line.id,
                f"{product.name}: buyer must be {product.min_age}+",
                min_age=product.min_age,
            )
            if self.age_proof is not None and self.age_over >= product.min_age:  # proved earlier in this basket
                self.problems[age.id] = replace(age, resolution=self._age_resolution(self.age_proof))
        if product.qty_limit is not None:
            count = sum(1 for line_ in self.lines.values() if line_.gtin == gtin)
            if count > product.qty_limit:
                self._problem("QTY_LIMIT", "MEDIUM", line.id, f"at most {product.qty_limit} of {product.name}")
        self._after_change()
        return line

    def remove(self, line_id: int, by: str, device: str, now: datetime) -> None:
        """A line goes (the item left the box, or staff voided it); its problems are resolved."""
        self._require(*BEFORE_PAYMENT)
        if line_id not in self.lines:
            raise BasketError("no_line", f"no line {line_id}")
        line = self.lines.pop(line_id)
        if line.serialized:
            self._serials.pop(line.key, None)
        self._lines_changed()
        for p in list(self.problems.values()):
            if p.line_id == line_id and p.open:
                self.problems[p.id] = replace(p, resolution=Resolution(by, device, now, "line_removed"))
        if self.state in (State.CHECKOUT, State.READY_TO_PAY):
            self.state = State.SCANNING
        self._after_change()

    def verdict(self, line_id: int, outcome: str, reason: str = "", fiscal_1265: str | None = None) -> None:
        """The mark-code check answered for a line. Once payment has started the lines are final:
        a late answer is refused (``wrong_state``), never a problem on a basket being paid."""
        line = self.lines.get(line_id)
        if line is None:
            return  # the item left before the answer came
        self._require(*BEFORE_PAYMENT)
        self.lines[line_id] = replace(line, verdict=outcome, fiscal_1265=fiscal_1265)
        if outcome == "BLOCKED":
            self._problem("MARKING_BLOCKED", "CRITICAL", line_id, reason or "the mark code check refused the sale")
        elif outcome == "UNAVAILABLE":
            self._problem(
                "MARKING_CHECK_UNAVAILABLE",
                "CRITICAL",
                line_id,
                reason or "the mark code could not be checked: assisted till",
            )

    def register_checked(self, line_id: int, check: MarkCheck, refusal: str | None) -> None:
        """The lane's fiscal register checked the line's mark code (FFD 1.2); a refusal is a
        CRITICAL problem, resolved like a blocked verdict (the item goes)."""
        line = self.lines.get(line_id)
        if line is None:
            return  # the item left before the register answered
        self._require(*BEFORE_PAYMENT)
        self.lines[line_id] = replace(line, kkt=check)
        if refusal is not None:
            self._problem("MARKING_REFUSED_BY_REGISTER", "CRITICAL", line_id, refusal)

    def checkout(self) -> None:
        self._require(State.SCANNING, State.NEEDS_ASSISTANCE)
        if not self.lines:
            raise BasketError("empty", "nothing to pay for")
        if self.open_problems():
            self.state = State.NEEDS_ASSISTANCE
            raise BasketError("open_problems", f"{len(self.open_problems())} problem(s) need staff")
        unchecked = [line.id for line in self.lines.values() if line.marked and line.verdict != "ALLOWED"]
        if unchecked:
            raise BasketError("unverified", f"mark codes of lines {unchecked} are not verified yet")
        self.state = State.READY_TO_PAY

    def start_payment(self, payment_id: str) -> None:
        self._require(State.READY_TO_PAY)
        if self.open_problems():  # belt and braces: READY_TO_PAY is left on any new problem
            raise BasketError("open_problems", "a problem is open")
        self.payment_id = payment_id
        self.state = State.PAYMENT_PENDING

    def payment_result(self, approved: bool, now: datetime, message: str = "") -> None:
        self._require(State.PAYMENT_PENDING)
        if approved:
            self.state = State.PAID
            return
        problem = self._problem("PAYMENT_DECLINED", "MEDIUM", None, message or "payment declined")
        # kept for the record, resolved at once: the customer may pay again, another way
        self.problems[problem.id] = replace(problem, resolution=Resolution("system", "", now, "retry_allowed"))
        self.state = State.READY_TO_PAY

    def identify(self, customer: str, contact: str | None = None, verified: bool = False) -> None:
        """The customer identified for loyalty (phone, card or app QR, resolved centrally);
        ``contact``: the phone typed, where the electronic receipt may go; ``verified``: with a
        possession factor (another customer, or the same one unverified, starts unverified)."""
        self._require(*BEFORE_PAYMENT)
        same = self.customer == customer
        self.customer = customer
        self.contact = contact or (self.contact if same else None)
        self.verified = verified or (same and self.verified)
        if any(not line.carded for line in self.lines.values()):  # card prices from now on
            self._drop_discounts()
            self.lines = {i: replace(line, carded=True) for i, line in self.lines.items()}
            self._prices_changed()

    def apply_discount(self, allocation: dict[int, int], hold_id: str) -> None:
        """Loyalty redemption held centrally, as line-level discounts (docs/sources.md §3.1)."""
        self._require(State.READY_TO_PAY)
        for line_id, kop in allocation.items():
            line = self.lines.get(line_id)
            if line is None:
                raise BasketError("no_line", f"no line {line_id}")
            if not 0 <= kop <= line.card_amount:
                raise BasketError("bad_discount", f"discount {kop} on line {line_id} priced {line.card_amount}")
        self.lines = {i: replace(line, discount=allocation.get(i, 0)) for i, line in self.lines.items()}
        self.hold_id = hold_id
        self._prices_changed()

    def drop_discount(self) -> None:
        """The hold was released (declined payment, cancel): full prices again."""
        self._require(*BEFORE_PAYMENT)
        self._drop_discounts()

    def close(self, points_earned: int | None = None) -> None:
        self._require(State.PAID)
        self.state = State.CLOSED
        self.points_earned = points_earned

    def cancel(self) -> None:
        self._require(*BEFORE_PAYMENT)
        self.state = State.CANCELLED
        self.egais = None

    def call_staff(self) -> None:
        """The customer pressed "call staff": a MEDIUM problem staff resolve when they have helped
        (one open request at a time)."""
        self._require(*BEFORE_PAYMENT)
        if not any(p.open and p.code == "HELP_REQUESTED" for p in self.problems.values()):
            self._problem("HELP_REQUESTED", "MEDIUM", None, "the customer asked for help")

    # -- staff -----------------------------------------------------------------------------
    def resolve(self, problem_id: int, staff_id: str, device: str, now: datetime) -> None:
        """Staff approve a MEDIUM problem (age seen, quantity allowed). CRITICAL ones go with
        their line (``remove``)."""
        problem = self.problems.get(problem_id)
        if problem is None or not problem.open:
            raise BasketError("no_problem", f"no open problem {problem_id}")
        if problem.level == "CRITICAL":
            raise BasketError("critical", f"{problem.code} is resolved by removing line {problem.line_id}")
        self.problems[problem_id] = replace(problem, resolution=Resolution(staff_id, device, now, "approved"))
        self._after_change()

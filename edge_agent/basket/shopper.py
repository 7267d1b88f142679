"""What the shopper does beyond putting items in: proves their age with a document, takes part
of a pack, scans a bottle's excise stamp; and ЕГАИС's answer for the stamped bottles. A mixin of
``Basket`` (``machine.py``), pure like it: every method takes the time it happens at and reads
no clock, file or network."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from edge_agent.basket.values import (
    BEFORE_PAYMENT,
    AgeProof,
    BasketError,
    EgaisSale,
    Level,
    Line,
    Problem,
    Resolution,
    State,
)
from edge_agent.fiscal.marks import MeasureError


class ShopperRules:
    lane: str
    state: State
    lines: dict[int, Line]
    problems: dict[int, Problem]
    hold_id: str | None
    age_over: int
    age_proof: AgeProof | None
    egais: EgaisSale | None

    def _require(self, *states: State) -> None:
        raise NotImplementedError

    def _problem(self, code: str, level: Level, line_id: int | None, message: str, *, min_age: int = 0) -> Problem:
        raise NotImplementedError

    def _drop_discounts(self) -> None:
        raise NotImplementedError

    def _after_change(self) -> None:
        raise NotImplementedError

    def set_part(self, line_id: int, units: int) -> Line:
        """The shopper takes ``units`` of a pack sold in parts: the line is repriced, and a
        marked one is checked again for that quantity before it can be paid."""
        self._require(*BEFORE_PAYMENT)
        line = self.lines.get(line_id)
        if line is None:
            raise BasketError("no_line", f"no line {line_id}")
        try:
            line.with_part(units)  # refused before anything changes
        except MeasureError as e:
            raise BasketError(e.code, e.message) from None
        self._drop_discounts()
        self.lines[line_id] = self.lines[line_id].with_part(units)
        if self.state in (State.CHECKOUT, State.READY_TO_PAY):
            self.state = State.SCANNING
        return self.lines[line_id]

    def age_checked(self, proof: AgeProof, device: str) -> int:
        """The shopper showed an age document; accepted, it resolves every open age problem it
        covers (and those of items added after); refused or unchecked, they stay for staff.
        Returns how many problems it resolved."""
        self._require(*BEFORE_PAYMENT)
        self.age_proof = proof
        if proof.outcome != "accepted":
            return 0
        self.age_over = max(self.age_over, proof.age_over)
        resolved = 0
        for p in list(self.problems.values()):
            if p.open and p.code == "AGE_RESTRICTED" and p.min_age <= self.age_over:
                self.problems[p.id] = replace(p, resolution=self._age_resolution(proof, device))
                resolved += 1
        self._after_change()
        return resolved

    def _age_resolution(self, proof: AgeProof, device: str = "") -> Resolution:
        return Resolution("customer", device or self.lane, proof.at, f"age_proven:{proof.method}")

    # -- stamped alcohol (ЕГАИС) -----------------------------------------------------------
    def bind_stamp(self, stamp: str, now: datetime) -> Line:
        """The shopper scanned a bottle's excise stamp: it goes on the first stamped line without
        one, resolving that line's STAMP_NEEDED."""
        self._require(*BEFORE_PAYMENT)
        if any(line.stamp == stamp for line in self.lines.values()):
            raise BasketError("stamp_again", "this stamp is already on a bottle of this basket")
        line = next((ln for ln in self.lines.values() if ln.egais and ln.stamp is None), None)
        if line is None:
            raise BasketError("no_bottle", "no bottle in the basket waits for its stamp: put the bottle in first")
        self.lines[line.id] = line = replace(line, stamp=stamp)
        for p in list(self.problems.values()):
            if p.open and p.line_id == line.id and p.code == "STAMP_NEEDED":
                self.problems[p.id] = replace(p, resolution=Resolution("customer", self.lane, now, "stamp_scanned"))
        self._after_change()
        return line

    def egais_answered(self, sale: EgaisSale | None, refusal: str, code: str = "EGAIS_REFUSED") -> None:
        """The УТМ accepted the stamped bottles (``sale``), or did not (``refusal``): then each
        stamped line is a CRITICAL problem, the bottle is set aside, and the rest can be paid."""
        self._require(State.READY_TO_PAY)
        if sale is not None:
            self.egais = sale
            return
        for line in self.lines.values():
            if line.egais:
                self._problem(code, "CRITICAL", line.id, refusal)

"""Central's ``loyalty.*`` answers as the checkout uses them (docs/mqtt.md), parsed where they
arrive: who the customer is, a quote of what may be spent, a hold of points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge_agent.payment.provider import AnswerError, required


def _program(data: Mapping[str, object]) -> Mapping[str, object]:
    program = data.get("program")
    return program if isinstance(program, Mapping) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Identified:
    customer: str
    verified: bool  # the app's signed QR proves possession; a phone or card needs the code
    balance: int | None  # points, shown once verified
    code_sent: bool
    program: str  # the program's name

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Identified:
        verified = data.get("verified") is True
        return cls(
            customer=required(data, "customer", str),
            verified=verified,
            balance=required(data, "balance", int) if verified else None,
            code_sent=data.get("code_sent") is True,
            program=str(_program(data).get("name", "")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """What the customer may spend on these lines, under the program's rules."""

    balance: int
    max_redeem_points: int
    point_value_kop: int
    max_redeem_pct: int
    excluded_categories: frozenset[str]

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Quote:
        program = _program(data)
        excluded = program.get("excluded_categories")
        if not isinstance(excluded, list):
            raise AnswerError("bad_answer", "the quote's program has no excluded_categories list")
        return cls(
            balance=required(data, "balance", int),
            max_redeem_points=required(data, "max_redeem_points", int),
            point_value_kop=required(program, "point_value_kop", int),
            max_redeem_pct=required(program, "max_redeem_pct", int),
            excluded_categories=frozenset(str(c) for c in excluded),
        )


def verified_balance(data: Mapping[str, object]) -> int:
    """A ``loyalty.verify`` answer: the balance the customer may now see and spend."""
    return required(data, "balance", int)


def hold_id(data: Mapping[str, object]) -> str:
    """A ``loyalty.hold`` answer: the hold's id."""
    return required(data, "hold_id", str)

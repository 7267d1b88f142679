"""What a fiscal register does for the agent, whatever speaks to it (ATOL's Web-server today;
a Shtrih-M driver would implement the same), and the errors it raises, typed.

``print_receipt(uuid, receipt)`` is idempotent by ``uuid``: the driver first asks whether the
register already has that request (a crash or a lost answer after it was sent) and only sends
it when it has not; so a receipt's uuid, persisted before the first try, prints at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from edge_agent.config_types import Name, Section
from edge_agent.errors import EdgeError
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.fiscal.marks import PIECE, EstimatedStatus, MarkCheck, Measure
from edge_agent.fiscal.receipt import Receipt

ErrorKind = Literal[
    "unavailable",
    "paper_out",
    "cover_open",
    "shift_expired",
    "shift_closed",
    "fn_full",
    "fn_blocked",
    "validation_running",
    "not_checked",
    "duplicate_uuid",
    "unknown_uuid",
    "refused",
    "bad_answer",
]
#: task error codes of the register → kinds (the ATOL driver's numbering as the simulator uses it;
#: check a real device's documentation before relying on a number: docs/fiscal.md)
TASK_ERRORS: Final[Mapping[int, ErrorKind]] = {
    44: "paper_out",
    45: "cover_open",
    68: "shift_expired",
    69: "shift_closed",
    150: "fn_full",
    151: "fn_blocked",
    401: "validation_running",
    421: "not_checked",
}
#: kinds after which the same request may succeed later without anyone doing anything
TRANSIENT: Final = frozenset({"unavailable", "validation_running"})
#: kinds a person must fix at the register (the lane stops taking payments until then)
NEEDS_STAFF: Final = frozenset({"paper_out", "cover_open", "fn_full", "fn_blocked"})


class RegisterError(EdgeError):
    """A register call that did not do what was asked. ``code`` is an :data:`ErrorKind`;
    ``unknown`` means the request may have been carried out (sent, no answer)."""

    def __init__(self, code: ErrorKind, message: str, *, unknown: bool = False, task_code: int | None = None) -> None:
        super().__init__(code, message)
        self.kind: ErrorKind = code
        self.unknown = unknown
        self.task_code = task_code


def task_error(task_code: int, description: str) -> RegisterError:
    return RegisterError(
        TASK_ERRORS.get(task_code, "refused"), f"register error {task_code}: {description}", task_code=task_code
    )


ShiftState = Literal["opened", "closed", "expired"]


@dataclass(frozen=True, slots=True)
class Shift:
    state: ShiftState
    number: int
    expires_at: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterStatus:
    """The register, its fiscal drive and the ОФД queue, as ``/healthz`` shows them."""

    shift: Shift
    fn_number: str
    unsent_documents: int
    oldest_unsent_at: str | None
    fn_blocked: bool
    paper: bool
    cover_open: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "shift": self.shift.state,
            "shift_number": self.shift.number,
            "fn": self.fn_number,
            "ofd_unsent": self.unsent_documents,
            "ofd_oldest_unsent": self.oldest_unsent_at,
            "fn_blocked": self.fn_blocked,
            "paper": self.paper,
            "cover_open": self.cover_open,
        }


class FiscalRegister(Protocol):
    async def print_receipt(self, uuid: str, receipt: Receipt) -> FiscalDocument:
        """Print ``receipt`` as the request named ``uuid`` (at most once) and return its document."""

    async def check_mark(
        self, code: str, status: EstimatedStatus = "itemPieceSold", measure: Measure = PIECE
    ) -> MarkCheck:
        """Check a mark code on the register for the quantity sold (a piece, a weight, a part of
        a pack); accepted for the next receipt when it may be sold, declined otherwise."""

    async def shift(self) -> Shift: ...

    async def open_shift(self) -> None: ...

    async def close_shift(self) -> FiscalDocument:
        """The Z-report's fiscal document."""

    async def status(self) -> RegisterStatus: ...

    async def aclose(self) -> None: ...


class RegisterSettings(Section):
    """A lane's register in ``[[fiscal.registers]]``; each model subclasses it with its own keys
    and builds its driver (``fiscal/registry.py`` names the models)."""

    model: str
    lane: Name
    #: the operator printed on this lane's receipts (default: the lane id)
    operator: str | None = None

    def build(self, *, operator: Mapping[str, str], timeout_s: float, task_deadline_s: float) -> FiscalRegister:
        raise NotImplementedError(f"register model {self.model!r} builds no driver")

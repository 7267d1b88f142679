"""What an age-document service answers, whatever the document (``AgeDecision``), and what a
service is (``AgeBackend``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Final, Literal

Outcome = Literal["accepted", "refused", "unavailable"]

#: why a document was not taken (stable codes: the kiosk's texts and the audit use them)
REASONS: Final = frozenset({"unreadable", "forged", "expired", "replayed", "underage", "unavailable"})


@dataclass(frozen=True, slots=True)
class AgeDecision:
    """``accepted``: the holder is over ``age_over``; ``refused``: the document is not valid
    (``reason``); ``unavailable``: the service could not say (staff check the age)."""

    outcome: Outcome
    reason: str = ""
    age_over: int = 0
    method: str = "digital_id"
    #: a digest of the token's single-use id (the audit's link to the issuer's record), never personal data
    ref: str = ""

    @staticmethod
    def refused(reason: str, ref: str = "") -> AgeDecision:
        return AgeDecision("refused", reason, ref=ref)


class AgeBackend(ABC):
    """One age-document service: which scans are its documents, and its decision on one."""

    method: str = "digital_id"

    @abstractmethod
    def recognizes(self, text: str) -> bool:
        """The scan is this service's document (and not an item)."""

    @abstractmethod
    async def decide(self, text: str) -> AgeDecision:
        """Check the document; never raises (a service that cannot answer is ``unavailable``)."""

    async def aclose(self) -> None:
        return None

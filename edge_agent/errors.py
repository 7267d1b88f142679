"""The one error base of the product: every error family carries a stable ``code`` and a
human ``message`` (docs/adr/0014-one-error-base.md).

Families subclass :class:`EdgeError`: ``CodeError`` (identity layer, with a position),
``LLRPError``, ``BasketError``, ``EnvelopeError``/``TopicError`` (wire formats),
``ServiceError``/``OutcomeUnknown`` (central), ``VerifyError`` (check services),
``ConfigError``. The CLI prints ``to_dict()`` as it is; the HTTP API maps a family (and,
where it matters, a code) to a status in one place, ``edge_agent/api/errors.py``.
"""

from __future__ import annotations


class EdgeError(Exception):
    """``code``: stable, matched on by other systems (add, never rename); ``message``: words a
    shop's engineer understands."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}

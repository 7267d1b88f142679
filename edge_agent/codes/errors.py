"""The one error the identity layer raises: a typed, positioned ``ParseError``."""

from __future__ import annotations

from typing import Final

from edge_agent.errors import EdgeError

#: Stable error codes. Other systems match on these; add, never rename.
ERROR_CODES: Final = frozenset(
    {
        "empty_input",
        "invalid_character",
        "gtin_check_digit",
        "truncated",
        "unknown_layout",
        "unknown_ai",
        "duplicate_ai",
        "bad_separator",
        "bad_length",
        "unsupported_epc",
        "invalid_epc",
        "invalid_uri",
    }
)


class CodeError(EdgeError, ValueError):
    """Base of the identity layer's errors: a stable ``code``, a ``message``, a ``position``.

    ``code`` is one of :data:`ERROR_CODES`, ``message`` says what is wrong in words a
    shop's engineer understands, ``position`` is the 0-based character index in the
    input where the problem was found (0 when it is about the input as a whole).
    """

    def __init__(self, code: str, message: str, position: int = 0) -> None:
        super().__init__(code, message)
        self.args = (f"{code} at {position}: {message}",)
        self.position = position

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "position": self.position}


class ParseError(CodeError):
    """Input that is not an item identity (from a scanner, a tag or a person)."""


class EncodeError(CodeError):
    """Parts that cannot be encoded (an EPC whose serial does not fit, a bad GTIN, ...)."""

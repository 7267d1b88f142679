"""Mark-code verification (разрешительный режим): the verdict policy, and later its backends."""

from edge_agent.verify.policy import (
    CheckContext,
    CodeAnswer,
    Outcome,
    Reason,
    Source,
    Verdict,
    decide,
    unavailable,
)

__all__ = ["CheckContext", "CodeAnswer", "Outcome", "Reason", "Source", "Verdict", "decide", "unavailable"]

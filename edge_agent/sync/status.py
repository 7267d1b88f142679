"""The agent's retained status on ``sco/v1/{store}/{agent}/status``: a birth message on every
connect, the same topic as the Last Will (``offline``, published by the broker if we vanish)
and a graceful ``offline`` on shutdown. Pure: builds payloads only."""

from __future__ import annotations

from typing import Any

from edge_agent import __version__
from edge_agent.wire import envelope


def status_payload(
    source: str,
    state: str,
    *,
    readers: dict[str, Any] | None = None,
    reason: str = "",
    outbox: int | None = None,
    fiscal: dict[str, Any] | None = None,
    delivery: dict[str, Any] | None = None,
    verification: dict[str, Any] | None = None,
    lanes: list[str] | None = None,
    start: dict[str, Any] | None = None,
) -> bytes:
    data: dict[str, Any] = {"state": state, "version": __version__, "readers": readers or {}}
    if lanes is not None:  # the lanes whose events this agent sends: central confirms them to it only
        data["lanes"] = lanes
    if reason:
        data["reason"] = reason
    if outbox is not None:
        data["outbox"] = outbox
    if fiscal:
        data["fiscal"] = fiscal
    if delivery is not None:
        data["delivery"] = delivery
    if verification:
        data["verification"] = verification
    if start:  # after an install or upgrade: did this version come up healthy (docs/operations.md)
        data["start"] = start
    return envelope.encode(envelope.event(source, "agent.status", data))

"""Outbox rows → MQTT messages: a lane's waiting events travel together (docs/mqtt.md
"Batches"). Pure.

A broker's cost is per message more than per byte (RabbitMQ's MQTT plugin and quorum queues
above all), so rows that wait together are packed: a lane's rows, in their order, into
CloudEvents JSON batches on ``sco/v1/{store}/{lane}/evt/batch`` of at most ``max_events``
events and ``max_bytes`` bytes. A row alone, and a row that is not a lane's event (EPCIS),
goes as it is, on its own topic: with nothing waiting, the wire is as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from edge_agent.wire.envelope import MAX_BATCH, encode_batch
from edge_agent.wire.topics import batch_topic

#: a batch's payload, at most (the events' bytes, their commas and brackets)
MAX_BATCH_BYTES: Final = 128 * 1024


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes | str
    rows: list[int]  # the outbox rows it carries


def pack(
    rows: Sequence[tuple[int, str, bytes | str]], max_events: int = 100, max_bytes: int = MAX_BATCH_BYTES
) -> list[Message]:
    """Rows ``(id, topic, payload)``, oldest first → messages, ordered by their oldest row;
    each lane's rows keep their order. ``max_events`` 1: every row alone."""
    max_events = max(1, min(max_events, MAX_BATCH))
    groups: list[list[tuple[int, str, bytes | str]]] = []
    sizes: list[int] = []  # a group's batch in bytes: its events, commas and brackets
    open_: dict[str, int] = {}  # batch topic → its group still filling
    for row_id, topic, payload in rows:
        target = batch_topic(topic) if max_events > 1 else None
        data = payload.encode() if isinstance(payload, str) else payload
        i = open_.get(target) if target is not None else None
        if i is None or len(groups[i]) >= max_events or sizes[i] + len(data) + 1 > max_bytes:
            groups.append([])
            sizes.append(1)
            i = len(groups) - 1
            if target is not None:
                open_[target] = i
        groups[i].append((row_id, topic, data))
        sizes[i] += len(data) + 1
    return [_message(group) for group in groups]


def _message(group: list[tuple[int, str, bytes | str]]) -> Message:
    if len(group) == 1:
        row_id, topic, payload = group[0]
        return Message(topic, payload, [row_id])
    target = batch_topic(group[0][1])
    assert target is not None
    payloads = [p.encode() if isinstance(p, str) else p for _, _, p in group]
    return Message(target, encode_batch(payloads), [r for r, _, _ in group])

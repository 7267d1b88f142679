"""The MQTT topic layout of docs/mqtt.md, built and parsed in one place. Pure.

| topic | direction |
|---|---|
| ``sco/v1/{store}/{lane}/evt/{type}`` | edge → central |
| ``sco/v1/{store}/{lane}/evt/batch`` (a JSON batch of that lane's events) | edge → central |
| ``sco/v1/{store}/trace/epcis`` | edge → central |
| ``sco/v1/{store}/{agent}/status`` (retained) | edge → all |
| ``svc/v1/{service}/cmd/{store}/{agent}/{op}`` | edge → central (the caller named); ``$share/{service}/…/cmd/#`` |
| ``sco/v1/{store}/{agent}/resp`` | central → edge |
| ``sco/v1/{store}/catalog/{snapshot,delta}``, ``sco/v1/{store}/codes/{snapshot,delta}`` | central → edge |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from edge_agent.errors import EdgeError

_LEVEL: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_LANES: Final = frozenset({"trace", "catalog", "codes"})
#: the last level of a lane's batch topic: several of its events in one message (docs/mqtt.md)
BATCH: Final = "batch"


class TopicError(EdgeError, ValueError):
    """A name that cannot be a topic level, or a topic outside the layout (code ``bad_topic``)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_topic", message)
        self.args = (message,)


def _level(value: str, what: str) -> str:
    if not _LEVEL.match(value):
        raise TopicError(f"{what} {value!r} cannot be a topic level (letters, digits, _ . - only)")
    return value


@dataclass(frozen=True, slots=True)
class StoreTopics:
    store: str

    def __post_init__(self) -> None:
        _level(self.store, "store id")

    @property
    def prefix(self) -> str:
        return f"sco/v1/{self.store}"

    def lane_prefix(self, lane: str) -> str:
        """``sco/v1/{store}/{lane}/evt``: a lane's events are this plus ``/{type}``."""
        if _level(lane, "lane id") in RESERVED_LANES:
            raise TopicError(f"lane id {lane!r} is reserved")
        return f"{self.prefix}/{lane}/evt"

    def lane_event(self, lane: str, type_: str) -> str:
        """``sco/v1/{store}/{lane}/evt/{type}``."""
        return event_topic(self.lane_prefix(lane), type_)

    def lane_source(self, lane: str) -> str:
        """The CloudEvents ``source`` of a lane's events: ``sco://{store}/{lane}``."""
        return f"sco://{self.store}/{_level(lane, 'lane id')}"

    def status(self, agent: str) -> str:
        return f"{self.prefix}/{_level(agent, 'agent id')}/status"

    def resp(self, agent: str) -> str:
        return f"{self.prefix}/{_level(agent, 'agent id')}/resp"

    @property
    def epcis(self) -> str:
        return f"{self.prefix}/trace/epcis"

    def inbound(self, stream: str, kind: str) -> str:
        """``catalog`` or ``codes``; ``snapshot`` (retained) or ``delta``."""
        return f"{self.prefix}/{stream}/{kind}"

    @property
    def inbound_filters(self) -> list[str]:
        return [f"{self.prefix}/catalog/+", f"{self.prefix}/codes/+"]


def event_topic(lane_prefix: str, type_: str) -> str:
    if type_ == BATCH:
        raise TopicError(f"event type {BATCH!r} is reserved for a batch of a lane's events")
    return f"{lane_prefix}/{_level(type_, 'event type')}"


def batch_topic(topic: str) -> str | None:
    """A lane event's topic → where a batch of that lane's events goes
    (``sco/v1/{store}/{lane}/evt/batch``); None for a topic that is not a lane's event."""
    try:
        store, lane, type_ = parse_lane_event(topic)
    except TopicError:
        return None
    return None if type_ == BATCH else f"sco/v1/{store}/{lane}/evt/{BATCH}"


def source_of(lane_prefix: str) -> str:
    """The CloudEvents ``source`` of a lane's events: ``sco://{store}/{lane}``."""
    parts = lane_prefix.split("/")
    if len(parts) == 5 and parts[:2] == ["sco", "v1"] and parts[4] == "evt":
        return f"sco://{parts[2]}/{parts[3]}"
    return f"sco://local/{lane_prefix}"


#: the operations an agent may ask of each central service (the generated ACL grants these only)
OPERATIONS: Final = {
    "loyalty": ("identify", "verify", "quote", "hold", "commit", "release", "accrue", "reverse"),
    "payment": ("create", "get", "capture", "cancel", "refund"),
}


@dataclass(frozen=True, slots=True)
class Command:
    """A command topic's parts: which service, which caller (store and agent), which operation."""

    service: str
    store: str
    agent: str
    op: str

    @property
    def source(self) -> str:
        """The envelope ``source`` this caller must send: ``sco://{store}/{agent}``."""
        return f"sco://{self.store}/{self.agent}"


def cmd(service: str, store: str, agent: str, op: str) -> str:
    """``svc/v1/{service}/cmd/{store}/{agent}/{op}``."""
    return (
        f"svc/v1/{_level(service, 'service')}/cmd/{_level(store, 'store id')}/{_level(agent, 'agent id')}/"
        f"{_level(op, 'operation')}"
    )


def shared_cmd(service: str) -> str:
    return f"$share/{_level(service, 'service')}/svc/v1/{service}/cmd/#"


def parse_cmd(topic: str) -> Command:
    """``svc/v1/{service}/cmd/{store}/{agent}/{op}`` → its parts."""
    parts = topic.split("/")
    if len(parts) != 7 or parts[:2] != ["svc", "v1"] or parts[3] != "cmd" or not all(map(_LEVEL.match, parts[4:])):
        raise TopicError(f"{topic!r} is not a command topic (svc/v1/{{service}}/cmd/{{store}}/{{agent}}/{{op}})")
    return Command(parts[2], parts[4], parts[5], parts[6])


def parse_lane_event(topic: str) -> tuple[str, str, str]:
    """``sco/v1/{store}/{lane}/evt/{type}`` → (store, lane, type)."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[:2] != ["sco", "v1"] or parts[4] != "evt":
        raise TopicError(f"{topic!r} is not a lane event topic")
    return parts[2], parts[3], parts[5]

"""The read queue: repeats fold into the waiting entry, a new tag is never behind copies, and a
full queue drops (and counts) instead of growing."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from edge_agent.readqueue import ReadQueue
from edge_agent.reads import TagRead


def read(raw: str, reader: str = "box", rssi: int = -50, at: float = 1.0) -> TagRead:
    return TagRead(reader, 1, "epc", raw, rssi, at)


def test_a_flood_of_repeats_holds_one_entry_per_tag_and_a_new_tag_comes_out_in_the_next_take() -> None:
    queue = ReadQueue(capacity=100)
    for i in range(70_000):  # one second of a flooding reader over 20 tags
        queue.put(read(f"T{i % 20}", rssi=-60 + i % 7, at=1.0 + i / 70_000))
    queue.put(read("NEW"))
    assert queue.depth == 21 and queue.dropped == 0 and queue.coalesced == 70_000 - 20
    batch = queue.take()
    assert [r.raw for r in batch][-1] == "NEW" and len(batch) == 21
    first = batch[0]
    assert first.raw == "T0" and first.seen_count == 3_500 and first.rssi == -54  # counted, strongest kept
    assert first.timestamp == 1.0  # the first read's time: latency is measured from it
    assert queue.depth == 0 and queue.take() == []


def test_a_queue_full_of_distinct_tags_drops_the_new_one_and_counts_it_per_reader() -> None:
    queue = ReadQueue(capacity=3)
    for raw in ("A", "B", "C"):
        assert queue.put(read(raw))
    assert not queue.put(read("D", reader="gate"))
    assert queue.put(read("A"))  # a repeat still folds in: it costs no room
    assert queue.dropped == 1 and queue.dropped_by_reader == {"gate": 1}
    stats = queue.stats()
    assert stats["dropped"] == 1 and stats["dropped_recently"] is True and stats["peak_depth"] == 3


def test_the_consumer_wakes_when_a_read_arrives() -> None:
    async def scenario() -> list[str]:
        queue = ReadQueue()
        waiting = asyncio.create_task(queue.get_batch())
        await asyncio.sleep(0)
        assert not waiting.done()
        queue.put(read("A"))
        return [r.raw for r in await asyncio.wait_for(waiting, 1)]

    assert asyncio.run(scenario()) == ["A"]


@given(
    st.lists(st.tuples(st.sampled_from(["r1", "r2"]), st.integers(0, 30), st.integers(-90, -30)), max_size=400),
    st.integers(1, 40),
)
def test_nothing_is_lost_silently_every_read_is_queued_folded_or_counted_as_dropped(
    reads: list[tuple[str, int, int]], capacity: int
) -> None:
    queue = ReadQueue(capacity=capacity)
    for reader, tag, rssi in reads:
        queue.put(read(f"T{tag}", reader, rssi))
    out = queue.take()
    assert len(out) <= capacity
    assert sum(r.seen_count for r in out) + queue.dropped == len(reads) == queue.received
    assert len({(r.reader_id, r.raw) for r in out}) == len(out)  # one entry per tag and reader

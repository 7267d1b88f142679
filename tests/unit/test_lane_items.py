"""What a read is as an item (pure), and what a lane holds and why."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge_agent.codes import ParseError, encode_sgtin198
from edge_agent.lanes.held import HeldEvents, HeldFor
from edge_agent.lanes.items import resolve
from edge_agent.pipeline import Arrived, Departed
from edge_agent.reads import TagRead

GTIN = "04610053149777"
KI = f"01{GTIN}215d/wuU"
KM = KI + "\x1d93dGVz"
EPC = encode_sgtin198(GTIN, "5d/wuU", 7)
GENUINE, COPY = bytes.fromhex("E2801190200060A1B2C3D4E5"), bytes.fromhex("E2801190200060FFFFFFFFFF")


def nothing(_: str) -> None:
    return None


def test_an_epc_gets_its_full_mark_code_from_the_received_codes_and_is_checked_as_it() -> None:
    facts = resolve(TagRead("box", 1, "epc", EPC), mark_code_for={KI: KM}.get, tid_of=nothing)
    assert not isinstance(facts, ParseError)
    assert facts.identity.ki == KI and facts.identity.mark_code is None
    assert facts.mark_code == KM and facts.checked_as.mark_code == KM and not facts.cloned


def test_the_mark_code_in_the_tags_user_memory_wins_without_asking_the_store() -> None:
    read = TagRead("box", 1, "epc", EPC, user_memory=KM.encode("latin-1") + b"\x00\x00")
    asked: list[str] = []
    facts = resolve(read, mark_code_for=lambda ki: asked.append(ki) or None, tid_of=nothing)
    assert not isinstance(facts, ParseError) and facts.mark_code == KM and asked == []


def test_a_read_that_is_not_an_item_comes_back_as_its_error_not_raised() -> None:
    facts = resolve(TagRead("box", 1, "epc", "NOT-AN-EPC"), mark_code_for=nothing, tid_of=nothing)
    assert isinstance(facts, ParseError) and facts.code


def test_an_epc_on_another_chip_than_its_own_is_a_copy() -> None:
    bound = {KI: GENUINE.hex()}.get
    own = resolve(TagRead("box", 1, "epc", EPC, tid=GENUINE), mark_code_for=nothing, tid_of=bound)
    copy = resolve(TagRead("box", 1, "epc", EPC, tid=COPY), mark_code_for=nothing, tid_of=bound)
    assert not isinstance(own, ParseError) and not own.cloned and own.tid == GENUINE.hex().upper()
    assert not isinstance(copy, ParseError) and copy.cloned and copy.bound_tid == GENUINE.hex()


def arrived(key: str) -> Arrived:
    return Arrived("lane-1", ("epc", key), TagRead("box", 1, "epc", key))


EVENTS = st.lists(st.tuples(st.sampled_from("ABCD"), st.booleans(), st.sampled_from(list(HeldFor))), max_size=30)


@given(EVENTS)
def test_held_events_come_back_in_order_for_their_reason_and_a_departure_cancels_a_held_arrival(
    events: list[tuple[str, bool, HeldFor]],
) -> None:
    held, expected = HeldEvents(), {}
    for key, came, why in events:
        event = arrived(key) if came else Departed("lane-1", ("epc", key), 0.0)
        previous = expected.pop(event.key, None)
        if not came and previous is not None and isinstance(previous[0], Arrived):
            pass  # came and went while held: nothing kept
        else:
            expected[event.key] = (event, why)
        held.hold(event, why)
    for why in HeldFor:
        want = [e for e, w in expected.values() if w is why]
        assert held.count(why) == len(want)
        assert held.release(why) == want and held.count(why) == 0

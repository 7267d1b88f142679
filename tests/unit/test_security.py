"""The pure parts of docs/security.md: PIN hashes, lockout and throttling, the badge's one-tap
rule, placeholder secrets and masking, the stream version bound, the log flood filter."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.config import Config, Http, Security, StaffConfig
from edge_agent.logthrottle import FloodFilter
from edge_agent.security import pins
from edge_agent.security.secrets import MASK, masked, refusals
from edge_agent.security.staff import StaffMember, Tokens
from edge_agent.security.throttle import Lockout, Window
from edge_agent.sync.streams import StreamState

CHEAP = 2**12  # the tests' cost: the production n = 2**14 is four times slower


def test_a_pin_hash_is_salted_and_verifies_only_its_pin() -> None:
    one, two = pins.hash_pin("1234", n=CHEAP), pins.hash_pin("1234", n=CHEAP)
    assert one != two and one.startswith("scrypt$4096$8$1$")  # a salt of its own each time
    assert pins.verify(one, "1234") and pins.verify(two, "1234") and not pins.verify(one, "1235")


SHA256_OF_1234 = "03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        SHA256_OF_1234,
        "scrypt$16$8$1$c2FsdHNhbHQ$" + "A" * 43,
        "scrypt$16384$8$1$c2FsdA$" + "A" * 43,
        "scrypt$x$8$1$c2FsdHNhbHQ$abc",
        "bcrypt$16384$8$1$c2FsdHNhbHQ$" + "A" * 43,
    ],
)
def test_a_stored_pin_that_is_not_a_strong_scrypt_hash_is_refused(bad: str) -> None:
    with pytest.raises(pins.PinHashError):
        pins.parse(bad)


def test_lockout_refuses_the_right_secret_until_the_timed_unlock() -> None:
    lock = Lockout(max_failures=3, lockout_s=60)
    assert [lock.failed("s-1", 0.0) for _ in range(3)] == [False, False, True]
    assert lock.locked_for("s-1", 30.0) == 30.0 and lock.locked_for("s-2", 30.0) == 0.0
    assert lock.locked_for("s-1", 60.0) == 0.0  # unlocked, and counting from zero again
    assert lock.failed("s-1", 61.0) is False


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 300), min_size=1, max_size=200))
def test_a_window_never_allows_more_than_its_limit_in_any_minute(times: list[float]) -> None:
    window, allowed = Window(limit=5, per_s=60), []
    for t in sorted(times):
        if window.allow("device", t):
            allowed.append(t)
    for t in allowed:
        assert sum(1 for u in allowed if t <= u < t + 60) <= 5


def _tokens(**security: object) -> Tokens:
    member = StaffMember("s-1", "Anna", pins.hash_pin("4321", n=CHEAP), "04A1B2")
    return Tokens({"s-1": member}, Security(**security))  # type: ignore[arg-type]


def test_one_tap_gives_one_session_to_the_one_handheld_waiting_on_that_reader() -> None:
    async def main() -> None:
        t = _tokens()
        code = t.challenge("hh-1", "desk-1", "4321")
        assert t.badge_read("04a1b2", "desk-2") is None  # another reader: not this sign-in
        assert await t.redeem(code, "hh-1") is None  # still waiting
        assert t.badge_read("04a1b2", "desk-1") == "s-1"
        assert t.badge_read("04a1b2", "desk-1") is None  # the same tap read again: nothing more
        assert (await t.redeem(code, "hh-2")).outcome == "bad_credentials"  # type: ignore[union-attr]
        got = await t.redeem(code, "hh-1")
        assert got is not None and got.outcome == "ok" and got.token is not None
        assert t.check(got.token, "hh-1") is not None and t.check(got.token, "hh-2") is None  # bound to it
        assert (await t.redeem(code, "hh-1")).outcome == "bad_credentials"  # type: ignore[union-attr]

    asyncio.run(main())


def test_a_race_on_one_reader_gives_nobody_anything_and_a_wrong_pin_with_the_badge_is_refused() -> None:
    async def main() -> None:
        t = _tokens()
        a, b = t.challenge("hh-1", "desk-1", "4321"), t.challenge("hh-evil", "desk-1", "0000")
        assert t.badge_read("04A1B2", "desk-1") is None
        for code, device in ((a, "hh-1"), (b, "hh-evil")):
            assert (await t.redeem(code, device)).outcome == "bad_credentials"  # type: ignore[union-attr]
        wrong = t.challenge("hh-evil", "desk-1", "0000")
        assert t.badge_read("04A1B2", "desk-1") == "s-1"
        assert (await t.redeem(wrong, "hh-evil")).outcome == "bad_credentials"  # type: ignore[union-attr]

    asyncio.run(main())


def test_placeholder_secrets_are_named_and_masked() -> None:
    config = Config(
        security=Security(production=True),
        http=Http(host="0.0.0.0", ops_token="change-me"),
        mqtt={"password": "change-me", "username": "u"},  # type: ignore[arg-type]
        staff=[StaffConfig(id="s-1", name="A", pin_hash=pins.hash_pin("1", n=CHEAP))],
    )
    found = dict(refusals(config))
    assert set(found) == {"mqtt.password", "http.ops_token", "verify.local_module_password", "http.tls_cert"}
    assert "factory login" in found["verify.local_module_password"] and len(refusals(config)) == 4
    shown = masked(config)
    assert shown["mqtt"]["password"] == shown["http"]["ops_token"] == shown["staff"][0]["pin_hash"] == MASK
    assert shown["verify"]["local_module_password"] == MASK and shown["mqtt"]["username"] == "u"


def test_a_stream_refuses_a_version_far_ahead_and_still_takes_the_next_real_one() -> None:
    state = StreamState(version=41, max_jump=1000)
    assert state.offer("snapshot", 999_999_999, {"forged": True}) == [] and state.refused == 1
    assert [a.version for a in state.offer("delta", 42, {})] == [42]


def test_the_flood_filter_lets_a_few_of_each_message_through_per_interval() -> None:
    now = [0.0]
    flood = FloodFilter(every_s=60, burst=2, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, msg, None, None)

    passed = [flood.filter(record("Invalid HTTP request received.")) for _ in range(1000)]
    assert passed.count(True) == 2 and flood.dropped == 998
    assert flood.filter(record("another message"))
    now[0] = 61.0
    assert flood.filter(record("Invalid HTTP request received."))

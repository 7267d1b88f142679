"""Scanner bytes → scans, as a POS frames them: terminators, the inter-character timeout, a
maximum length and junk, and the next good scan always whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.scanner_lines import Junk, LineFramer, Scan

MILK = b"0104610053149777215d/wuU\x1d93dGVz"


def test_cr_lf_and_crlf_all_end_a_scan_and_gs_and_fnc1_survive() -> None:
    framer = LineFramer()
    out = framer.feed(MILK + b"\r" + b"]d2" + MILK + b"\r\n" + b"\xe8" + MILK + b"\n", 0.0)
    assert out == [
        Scan(MILK.decode("latin-1")),
        Scan("]d2" + MILK.decode("latin-1")),
        Scan("\xe8" + MILK.decode("latin-1")),
    ]


def test_a_pause_ends_a_line_without_terminator() -> None:
    framer = LineFramer(gap_s=0.1)
    assert framer.feed(MILK[:10], 0.0) == [] and framer.feed(MILK[10:], 0.05) == []
    assert framer.idle(0.1) == [] and framer.idle(0.16) == [Scan(MILK.decode("latin-1"))]


def test_a_too_long_line_is_dropped_to_its_end_and_the_next_scan_is_whole() -> None:
    framer = LineFramer(max_scan=64)
    out = framer.feed(b"A" * 1000, 0.0) + framer.feed(b"B" * 1000 + b"\r" + MILK + b"\r", 0.01)
    assert out == [Junk("too_long", 2000), Scan(MILK.decode("latin-1"))]


def test_binary_junk_is_dropped_not_passed_on() -> None:
    framer = LineFramer()
    assert framer.feed(b"\x00\xffjunk\r" + MILK + b"\r", 0.0) == [Junk("not_a_code", 6), Scan(MILK.decode("latin-1"))]


@given(st.binary(max_size=3000), st.integers(16, 512))
def test_whatever_came_before_a_pause_the_next_terminated_scan_arrives_whole(noise: bytes, max_scan: int) -> None:
    framer = LineFramer(gap_s=0.1, max_scan=max(max_scan, len(MILK)))
    framer.feed(noise, 0.0)
    out = framer.feed(MILK + b"\r", 1.0)  # after a pause, as between two scans
    assert out[-1] == Scan(MILK.decode("latin-1"))
    assert all(isinstance(f, Junk) or f.code for f in out)


@given(
    noise=st.binary(min_size=1, max_size=20_000),
    prefix=st.sampled_from([b"", b"]d2", b"\xe8"]),
    max_scan=st.integers(64, 4096),
)
def test_a_scan_glued_to_the_end_of_junk_with_no_pause_arrives_whole(
    noise: bytes, prefix: bytes, max_scan: int
) -> None:
    """Junk (too long, or bytes no code has) and then at once, with no terminator and no pause,
    a scan: the scan comes out whole after the junk is dropped."""
    # junk either way (too long, or a byte no code has), ending where no code can begin
    junk = noise.replace(b"\r", b"x").replace(b"\n", b"x") + b"\x00"
    framer = LineFramer(max_scan=max_scan)
    out = framer.feed(junk + prefix + MILK + b"\r", 0.0)
    assert out[-1] == Scan((prefix + MILK).decode("latin-1"))
    assert all(isinstance(f, Junk) for f in out[:-1])

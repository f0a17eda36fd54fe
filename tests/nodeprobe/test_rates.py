"""The shared rate helper: no rate without a previous reading, no spike after a reset."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nodeprobe.model import Field, Labels, Readings
from nodeprobe.rates import CounterWindow, RatePlan, counter_increase, per_second
from tests.nodeprobe.conftest import ManualClock

BYTES = Field("bytes_total", "counter", "bytes", "Bytes.", ("device",), max_rate=1e9)
BYTES_RATE = Field(
    "bytes_per_second", "gauge", "bytes/s", "Bytes per second.", ("device",), rate_of="bytes_total"
)
BUSY = Field(
    "busy_seconds_total",
    "counter",
    "seconds",
    "Busy.",
    ("device",),
    wrap_at=2**32 / 1000,
    max_rate=1.5,
)
BUSY_PERCENT = Field(
    "busy_percent",
    "gauge",
    "percent",
    "Busy share.",
    ("device",),
    rate_of="busy_seconds_total",
    scale=100.0,
    ceiling=100.0,
)
DISK: Labels = (("device", "sda"),)


def test_a_growing_counter_gives_its_rate() -> None:
    assert per_second(1000.0, 3000.0, 10.0) == 200.0


def test_a_counter_that_went_down_was_reset_and_has_no_rate() -> None:
    assert counter_increase(5_000_000.0, 1_000.0) is None
    assert per_second(5_000_000.0, 1_000.0, 15.0) is None


def test_a_32_bit_counter_that_wrapped_is_counted_across_the_wrap() -> None:
    wrap = 2.0**32
    assert counter_increase(wrap - 100, 50.0, wrap_at=wrap) == 150.0
    # From low in its range a drop is a reset, not a wrap: no invented increase.
    assert counter_increase(1_000.0, 10.0, wrap_at=wrap) is None


def test_an_absurd_rate_is_dropped_and_no_time_means_no_rate() -> None:
    assert per_second(0.0, 1e12, 1.0, max_rate=1e9) is None
    assert per_second(0.0, 10.0, 0.0) is None


def test_the_first_reading_has_no_previous_and_then_the_monotonic_time_between() -> None:
    clock = ManualClock()
    window = CounterWindow(clock)
    assert window.advance({("bytes_total", DISK): 1.0}) == (None, None)
    clock.advance(15.0)
    previous, elapsed = window.advance({("bytes_total", DISK): 2.0})
    assert previous == {("bytes_total", DISK): 1.0}
    assert elapsed == 15.0


def test_the_plan_derives_scaled_capped_rates_for_series_seen_twice() -> None:
    plan = RatePlan((BYTES, BYTES_RATE, BUSY, BUSY_PERCENT))
    previous: Readings = {("bytes_total", DISK): 0.0, ("busy_seconds_total", DISK): 10.0}
    current: Readings = {
        ("bytes_total", DISK): 1_500_000.0,
        ("busy_seconds_total", DISK): 11.2,  # a hair more than the 1 s that passed
        ("bytes_total", (("device", "sdb"),)): 99.0,  # new device: nothing to compare
    }
    derived = plan.derive(previous, current, 1.0)
    assert derived == {
        ("bytes_per_second", DISK): 1_500_000.0,
        ("busy_percent", DISK): 100.0,
    }


def test_the_plan_gives_nothing_for_a_reset_and_resumes_from_the_new_baseline() -> None:
    plan = RatePlan((BYTES, BYTES_RATE))
    before_reboot: Readings = {("bytes_total", DISK): 9_000_000_000.0}
    after_reboot: Readings = {("bytes_total", DISK): 4_000.0}
    later: Readings = {("bytes_total", DISK): 64_000.0}
    assert plan.derive(before_reboot, after_reboot, 15.0) == {}
    assert plan.derive(after_reboot, later, 15.0) == {("bytes_per_second", DISK): 4_000.0}


counter_values = st.floats(min_value=0, max_value=2.0**64, allow_nan=False)


@given(
    previous=counter_values,
    current=counter_values,
    elapsed=st.floats(min_value=-1.0, max_value=3600.0, allow_nan=False),
)
def test_a_rate_is_never_negative_nor_above_its_ceiling(
    previous: float, current: float, elapsed: float
) -> None:
    rate = per_second(previous, current, elapsed, wrap_at=2.0**32, max_rate=1e9)
    assert rate is None or 0.0 <= rate <= 1e9
    plan = RatePlan((BUSY, BUSY_PERCENT))
    derived = plan.derive(
        {("busy_seconds_total", DISK): previous / 1e9},
        {("busy_seconds_total", DISK): current / 1e9},
        elapsed,
    )
    assert all(0.0 <= value <= 100.0 for value in derived.values())

"""Chunks give back exactly the doubles that went in, and refuse damaged bytes clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from headless_agent.store.codec import ChunkFormatError, ChunkReader, encode_chunk

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(10**15), 10**15).map(float),
    st.integers(-(10**6), 10**6).map(lambda i: i / 100),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 0.3]),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_doubles_come_back_bit_for_bit(data: st.DataObject) -> None:
    rows = data.draw(st.integers(1, 40))
    fields = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=6))
    matrix = data.draw(hnp.arrays(np.float64, (rows, sum(fields)), elements=values))
    steps = data.draw(hnp.arrays(np.int64, rows, elements=st.integers(1, 10**7)))
    times = 1_700_000_000_000 + np.cumsum(steps)
    ids = list(range(100, 100 + len(fields)))
    reader = ChunkReader.of(encode_chunk(times, ids, fields, matrix))
    assert reader.times().tolist() == times.tolist()
    decoded = reader.decode()
    assert decoded.series_ids == ids and decoded.field_counts == fields
    # NaN marks "no sample" and stays NaN; every other value keeps its exact bits (-0.0 too).
    same = decoded.columns.view(np.uint64) == matrix.view(np.uint64)
    assert (same | (np.isnan(decoded.columns) & np.isnan(matrix))).all()
    one = data.draw(st.sampled_from(ids))
    start = sum(fields[: ids.index(one)])
    picked = reader.fields([one])[one]
    assert np.array_equal(picked, matrix[:, start : start + fields[ids.index(one)]], equal_nan=True)


def test_regular_decimal_samples_take_little_room() -> None:
    rows = 480
    times = 1_700_000_000_000 + np.arange(rows) * 15_000
    load = np.round(1.5 + np.cumsum(np.random.default_rng(1).normal(0, 0.05, rows)), 2)
    blob = encode_chunk(times, [1], [1], load[:, None])
    assert len(blob) / rows < 1.5


@pytest.mark.parametrize("damage", ["truncate", "scribble", "version"])
def test_a_damaged_chunk_is_refused_with_a_clear_error(damage: str) -> None:
    times = 1_700_000_000_000 + np.arange(100) * 15_000
    blob = bytearray(encode_chunk(times, [1, 2], [1, 1], np.random.default_rng(2).random((100, 2))))
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "scribble":
        blob[-40:] = bytes(40)
    else:
        blob[0] = 99
    with pytest.raises(ChunkFormatError):
        ChunkReader.of(bytes(blob)).decode()

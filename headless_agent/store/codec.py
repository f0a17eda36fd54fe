"""Chunk codec: many series' samples of one time window in one compact, lossless blob.

A naive table with one row per sample costs 30-50 bytes a sample in SQLite. Node metrics
are far more regular than that: every series of one node is sampled at the same instants,
and most values are decimals with few digits (psutil rounds CPU percent to one decimal,
load to two, memory and disk counters are whole bytes). A chunk exploits both:

- **one time column per chunk**, shared by every series of the node (the series of a
  node are sampled together, so their timestamps are stored once, not forty times);
  timestamps are whole milliseconds, stored as delta-of-delta;
- **decimal scaling** (as VictoriaMetrics does): a column whose values are all exact
  decimals with at most ``MAX_DECIMALS`` digits is stored as integers ``value * 10**k``,
  then as first or second differences (whichever is smaller), zigzag-mapped to unsigned;
  any other column stores the XOR of consecutive IEEE doubles (Gorilla's idea, bytewise);
- **byte planes**: the unsigned words are split into planes of their low byte, next byte,
  …, and only as many planes as the largest word needs are kept, so small differences
  cost one plane and constant columns none;
- **raw deflate per series segment** (stdlib zlib): planes of small numbers are long runs
  of similar bytes, which deflate squeezes further. One segment holds all fields of one
  series, so a query for one series inflates only that series' bytes.

Decoding gives back the exact doubles that were encoded (NaN marks "no sample" and is kept
through a per-column presence mask). Every transform is a numpy operation over the whole
chunk matrix at once; only deflate runs once per series. The layout (all integers little
endian)::

    chunk   := u8 format | u32 rows | u16 series | u32 times_len | times | index | segments
    index   := series × (u32 series_id | u8 fields | u32 offset | u32 length)
    segment := deflate(column × fields);  times := deflate(column)
    segment := column headers | masks of the columns that have one | planes, column by column
    header  := u8 method (bit 7: has a mask) | u8 decimals | u8 order | u8 width | u64 first
    planes  := width × (rows - 1) bytes: plane b holds byte b of every word

Segments keep the fixed-size headers together so that decoding a whole chunk (compaction,
a node's dashboard) reads every header of a segment in one numpy call and undoes the
differences of all columns at once.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FORMAT = 1
#: decimals tried before a column falls back to XOR-of-doubles
MAX_DECIMALS = 9
#: deflate level of chunks that stay (zlib's default: ~15% slower than 1, ~3% smaller)
DEFLATE_LEVEL = 6
#: for pieces that a compaction soon re-encodes anyway
FAST_DEFLATE_LEVEL = 1

_INT, _FLOAT, _HAS_MASK = 0, 1, 0x80
_LIMIT = float(2**53)  # integers beyond this are not exact as doubles
_HEADER = struct.Struct("<BIHI")
_COLUMN = np.dtype(
    [("flags", "u1"), ("decimals", "u1"), ("order", "u1"), ("width", "u1"), ("first", "<u8")]
)
_INDEX = np.dtype([("series", "<u4"), ("fields", "u1"), ("offset", "<u4"), ("length", "<u4")])
_POWERS = 10.0 ** np.arange(MAX_DECIMALS + 1)


class ChunkFormatError(ValueError):
    """A chunk blob that this code cannot read (damaged, or written by a newer format)."""


def decimal_scales(matrix: FloatArray) -> npt.NDArray[np.int8]:
    """Per column, the fewest decimals that hold every value exactly, or -1.

    NaN counts as fitting any scale (it is stored in the mask, not as a value).
    """
    columns = matrix.shape[1]
    scales = np.full(columns, -1, dtype=np.int8)
    if matrix.shape[0] == 0:
        scales[:] = 0
        return scales
    filled = np.where(np.isnan(matrix), 0.0, matrix)
    # -0.0 has no integer of its own: such a column keeps its doubles
    todo = np.flatnonzero(~((filled == 0) & np.signbit(filled)).any(axis=0))
    for decimals in range(MAX_DECIMALS + 1):
        sub = filled[:, todo]
        power = _POWERS[decimals]
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = np.rint(sub * power)
            fits = (np.abs(scaled) < _LIMIT).all(axis=0) & (scaled / power == sub).all(axis=0)
        scales[todo[fits]] = decimals
        todo = todo[~fits]
        if todo.size == 0:
            break
    return scales


def scaled_integers(matrix: FloatArray, scales: npt.NDArray[np.int8]) -> IntArray:
    """``matrix * 10**scale`` as exact integers (columns with scale -1 and NaN give 0)."""
    power = _POWERS[np.maximum(scales, 0)]
    with np.errstate(invalid="ignore"):
        scaled = np.rint(matrix * power)
    scaled[np.isnan(scaled)] = 0.0
    scaled[:, scales < 0] = 0.0
    return scaled.astype(np.int64)


def _forward_fill(matrix: FloatArray, present: npt.NDArray[np.bool_]) -> FloatArray:
    """Missing values take the previous present value (or the next, at the start), so the
    differences across a gap are zero and cost nothing; the mask restores the gap."""
    rows = np.arange(matrix.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    has_any = present.any(axis=0)
    first = np.argmax(present, axis=0)
    source = np.where(last >= 0, last, first[None, :])
    filled = np.take_along_axis(matrix, source, axis=0)
    filled[:, ~has_any] = 0.0
    return filled


def _zigzag(values: IntArray) -> npt.NDArray[np.uint64]:
    return ((values << 1) ^ (values >> 63)).view(np.uint64)


def _unzigzag(words: npt.NDArray[np.uint64]) -> IntArray:
    return (words >> np.uint64(1)).view(np.int64) ^ -(words & np.uint64(1)).view(np.int64)


def _widths(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Bytes needed for the largest word of each column (0 for all-zero columns)."""
    if words.shape[0] == 0:
        return np.zeros(words.shape[1], dtype=np.int64)
    top = words.max(axis=0)
    widths = np.zeros(words.shape[1], dtype=np.int64)
    for byte in range(8):
        widths += top >= np.uint64(1 << (8 * byte))
    return widths


def _cost(deltas: IntArray) -> FloatArray:
    """How big a column of differences is, to pick first or second differences: the sum
    of magnitudes (cheaper than counting bits, and ranks the two the same way)."""
    cost: FloatArray = np.abs(deltas.astype(np.float64)).sum(axis=0)
    return cost


@dataclass(frozen=True, slots=True)
class _Columns:
    """Encoded columns, not yet grouped into segments."""

    headers: npt.NDArray[np.void]  # one _COLUMN record per column
    masks: list[bytes]
    planes: list[bytes]


def _encode_columns(matrix: FloatArray) -> _Columns:
    """Each column of ``matrix`` (rows × columns, NaN = absent), encoded."""
    rows, columns = matrix.shape
    present = ~np.isnan(matrix)
    has_mask = np.asarray(~present.all(axis=0), dtype=bool)
    filled = _forward_fill(matrix, present) if has_mask.any() else matrix
    scales = decimal_scales(filled)
    is_int = scales >= 0
    headers = np.zeros(columns, dtype=_COLUMN)
    headers["flags"] = np.where(is_int, _INT, _FLOAT) | np.where(has_mask, _HAS_MASK, 0)
    headers["decimals"] = np.maximum(scales, 0)
    headers["order"] = 1
    words = np.zeros((max(rows - 1, 0), columns), dtype=np.uint64)
    first = np.zeros(columns, dtype=np.uint64)

    int_columns = np.flatnonzero(is_int)
    if int_columns.size:
        integers = scaled_integers(filled[:, int_columns], scales[int_columns])
        first_diff = np.diff(integers, axis=0)
        second = np.concatenate([first_diff[:1], np.diff(first_diff, axis=0)], axis=0)
        use_second = _cost(second) < _cost(first_diff)
        words[:, int_columns] = _zigzag(np.where(use_second[None, :], second, first_diff))
        headers["order"][int_columns] = np.where(use_second, 2, 1)
        if rows:
            first[int_columns] = integers[0].view(np.uint64)
    float_columns = np.flatnonzero(~is_int)
    if float_columns.size:
        bits = np.ascontiguousarray(filled[:, float_columns]).view(np.uint64)
        words[:, float_columns] = bits[1:] ^ bits[:-1]
        if rows:
            first[float_columns] = bits[0]
    widths = np.where(is_int, _widths(words), 8)
    headers["width"] = widths
    headers["first"] = first
    planes = np.ascontiguousarray(words.view(np.uint8).reshape(max(rows - 1, 0), columns, 8))
    planes = np.ascontiguousarray(planes.transpose(1, 2, 0))  # column, plane, row
    masks = [b""] * columns
    if has_mask.any():
        packed = np.packbits(present, axis=0)
        for column in np.flatnonzero(has_mask):
            masks[column] = packed[:, column].tobytes()
    return _Columns(headers, masks, [planes[c, : widths[c]].tobytes() for c in range(columns)])


def _segment(encoded: _Columns, start: int, stop: int) -> bytes:
    """Columns ``start:stop`` as one segment: headers, then masks, then planes."""
    return b"".join(
        [
            encoded.headers[start:stop].tobytes(),
            *encoded.masks[start:stop],
            *encoded.planes[start:stop],
        ]
    )


def _decode_segments(segments: Sequence[bytes], counts: Sequence[int], rows: int) -> FloatArray:
    """Decode inflated segments holding ``counts[i]`` columns each into a rows × columns
    matrix (every column's differences undone at once)."""
    total = sum(counts)
    headers = np.zeros(total, dtype=_COLUMN)
    deltas = max(rows - 1, 0)
    planes = np.zeros((total, 8, deltas), dtype=np.uint8)
    present = np.ones((total, rows), dtype=bool)
    mask_size = (rows + 7) // 8
    column = 0
    for data, count in zip(segments, counts, strict=True):
        position = count * _COLUMN.itemsize
        if len(data) < position:
            raise ChunkFormatError("segment shorter than its column headers")
        part = np.frombuffer(data, _COLUMN, count)
        headers[column : column + count] = part
        for masked in np.flatnonzero(part["flags"] & _HAS_MASK).tolist():
            if position + mask_size > len(data):
                raise ChunkFormatError("column mask runs past the segment")
            bits = np.frombuffer(data, np.uint8, mask_size, position)
            present[column + masked] = np.unpackbits(bits)[:rows].astype(bool)
            position += mask_size
        for index, width in enumerate(part["width"].tolist()):
            size = width * deltas
            if width > 8 or position + size > len(data):
                raise ChunkFormatError("column planes run past the segment")
            planes[column + index, :width] = np.frombuffer(data, np.uint8, size, position).reshape(
                width, deltas
            )
            position += size
        column += count
    method = headers["flags"] & ~np.uint8(_HAS_MASK)
    order = headers["order"]
    if ((method != _INT) & (method != _FLOAT)).any() or ((order != 1) & (order != 2)).any():
        raise ChunkFormatError("unknown column encoding")
    words = np.ascontiguousarray(planes.transpose(0, 2, 1)).view(np.uint64)[:, :, 0]
    values = np.empty((total, rows), dtype=np.float64)
    first = headers["first"]
    is_int = method == _INT
    if rows and is_int.any():
        changes = _unzigzag(words[is_int])
        second = order[is_int] == 2
        changes[second] = np.cumsum(changes[second], axis=1)
        integers = np.empty((changes.shape[0], rows), dtype=np.int64)
        integers[:, 0] = 0
        np.cumsum(changes, axis=1, out=integers[:, 1:])
        integers += first[is_int].view(np.int64)[:, None]
        values[is_int] = integers / _POWERS[headers["decimals"][is_int]][:, None]
    if rows and (~is_int).any():
        bits = np.empty((int((~is_int).sum()), rows), dtype=np.uint64)
        bits[:, 0] = first[~is_int]
        bits[:, 1:] = words[~is_int]
        np.bitwise_xor.accumulate(bits, axis=1, out=bits)
        values[~is_int] = bits.view(np.float64)
    values[~present] = np.nan
    return values.T


def _deflate(data: bytes, level: int = DEFLATE_LEVEL) -> bytes:
    return zlib.compress(data, level, wbits=-15)


def _inflate(data: bytes | memoryview) -> bytes:
    try:
        return zlib.decompress(data, -15)
    except zlib.error as error:
        raise ChunkFormatError(f"damaged segment: {error}") from None


def encode_chunk(
    times_ms: IntArray,
    series_ids: Sequence[int],
    field_counts: Sequence[int],
    columns: FloatArray,
    *,
    level: int = DEFLATE_LEVEL,
) -> bytes:
    """Encode one window: ``columns`` holds each series' fields side by side, in order.

    ``times_ms`` must be strictly increasing whole milliseconds; every row of ``columns``
    belongs to the time of the same row. ``level`` is the deflate level.
    """
    rows = len(times_ms)
    if columns.shape != (rows, sum(field_counts)) or len(series_ids) != len(field_counts):
        raise ValueError("columns do not match the times and the series' field counts")
    times = _deflate(_segment(_encode_columns(times_ms.astype(np.float64)[:, None]), 0, 1))
    encoded = _encode_columns(columns)
    index = np.zeros(len(series_ids), dtype=_INDEX)
    segments = []
    offset, column = 0, 0
    for position, (series_id, fields) in enumerate(zip(series_ids, field_counts, strict=True)):
        segment = _deflate(_segment(encoded, column, column + fields), level)
        index[position] = (series_id, fields, offset, len(segment))
        segments.append(segment)
        offset += len(segment)
        column += fields
    header = _HEADER.pack(FORMAT, rows, len(series_ids), len(times))
    return b"".join([header, times, index.tobytes(), *segments])


@dataclass(frozen=True, slots=True)
class DecodedChunk:
    """A whole chunk: ``columns`` holds each series' fields side by side, in index order."""

    times: IntArray
    series_ids: list[int]
    field_counts: list[int]
    columns: FloatArray

    def offsets(self) -> dict[int, tuple[int, int]]:
        """series id → (first column, field count)."""
        result, column = {}, 0
        for series_id, count in zip(self.series_ids, self.field_counts, strict=True):
            result[series_id] = (column, count)
            column += count
        return result


@dataclass(frozen=True, slots=True)
class ChunkReader:
    """Random access to the series of one chunk blob."""

    blob: bytes
    rows: int
    index: npt.NDArray[np.void]
    times_at: int
    times_length: int
    segments_at: int

    @classmethod
    def of(cls, blob: bytes) -> ChunkReader:
        if len(blob) < _HEADER.size:
            raise ChunkFormatError("chunk shorter than its header")
        version, rows, series, times_length = _HEADER.unpack_from(blob, 0)
        if version != FORMAT:
            raise ChunkFormatError(f"chunk format {version} is not known (this reads {FORMAT})")
        index_at = _HEADER.size + times_length
        segments_at = index_at + series * _INDEX.itemsize
        if segments_at > len(blob):
            raise ChunkFormatError("chunk index runs past the blob")
        index = np.frombuffer(blob, _INDEX, series, index_at)
        if series and int((index["offset"] + index["length"]).max()) > len(blob) - segments_at:
            raise ChunkFormatError("a segment runs past the blob")
        return cls(blob, rows, index, _HEADER.size, times_length, segments_at)

    def times(self) -> IntArray:
        data = _inflate(memoryview(self.blob)[self.times_at : self.times_at + self.times_length])
        return _decode_segments([data], [1], self.rows)[:, 0].astype(np.int64)

    def series_ids(self) -> list[int]:
        return [int(s) for s in self.index["series"]]

    def _inflated(self, position: int) -> bytes:
        start = self.segments_at + int(self.index["offset"][position])
        return _inflate(memoryview(self.blob)[start : start + int(self.index["length"][position])])

    def fields(self, series_ids: Sequence[int]) -> dict[int, FloatArray]:
        """The named series' fields (rows × fields each); series the chunk lacks are left out."""
        wanted = np.flatnonzero(np.isin(self.index["series"], np.asarray(series_ids))).tolist()
        if not wanted:
            return {}
        counts = [int(c) for c in self.index["fields"][wanted]]
        matrix = _decode_segments([self._inflated(p) for p in wanted], counts, self.rows)
        result, column = {}, 0
        for position, count in zip(wanted, counts, strict=True):
            result[int(self.index["series"][position])] = matrix[:, column : column + count]
            column += count
        return result

    def decode(self) -> DecodedChunk:
        """Every series of the chunk at once."""
        counts = [int(c) for c in self.index["fields"]]
        segments = [self._inflated(p) for p in range(len(self.index))]
        return DecodedChunk(
            self.times(),
            self.series_ids(),
            counts,
            _decode_segments(segments, counts, self.rows),
        )

"""Packing, chunking and reducing scalar series (pure functions, numpy, no Django).

A series is stored as chunks of at most ``CHUNK_POINTS`` points in arrival order.
Each chunk holds its steps (int64), values (float64, or JSON text for text series)
and times (float64) as packed bytes, plus one (step_lo, step_hi, min, max) bucket
per ``BUCKET_POINTS`` points, so an overview of a 1,000,000-point series reads
~15,000 buckets instead of a million points, without losing a peak or a dip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from studio.errors import ValidationError
from studio.rules import seriescodec, validation
from studio.rules.filenames import check_file_name

CHUNK_POINTS = 4096
BUCKET_POINTS = 64
MAX_BATCH_POINTS = 1_000_000
# A batch of n points tops up the series' last chunk only if that chunk holds at most
# FACTOR * n + SLACK points, so the rewrite stays proportional to what is added.
TAIL_MERGE_FACTOR = 4
TAIL_MERGE_SLACK = 256
AUTO_STEP = -1  # a point logged without a step: it gets its position in the series


@dataclass
class Series:
    """Validated points of one metric: numbers ("scalar") or strings ("text")."""

    name: str
    kind: str
    steps: np.ndarray
    values: np.ndarray | list
    times: np.ndarray
    # Every value was logged as an integer: read back as ints (v1 keeps int).
    integral: bool = False

    def __len__(self) -> int:
        return len(self.steps)


def _first_bad(items: list, ok: tuple[type, ...]) -> int:
    return next(i for i, v in enumerate(items) if type(v) not in ok)


def _numbers(items, field: str) -> np.ndarray:
    if isinstance(items, np.ndarray):
        if items.dtype.kind not in "fiu":
            raise ValidationError(f"{field} must hold numbers.", field=field)
        return items.astype(np.float64, copy=False)
    kinds = set(map(type, items))
    if not kinds <= {float, int}:
        i = _first_bad(items, (float, int))
        raise ValidationError(
            f"{field}[{i}] must be a number, not {type(items[i]).__name__} ({items[i]!r}).",
            field=f"{field}[{i}]",
        )
    try:
        return np.array(items, dtype=np.float64)
    except OverflowError:
        raise ValidationError(
            f"{field} holds an integer too large for a float.", field=field
        ) from None


def parse_series(name: object, steps, values, times) -> Series:
    """Check one series as it arrives (from the SDK or the API) and pack it in arrays."""
    name = validation.key(name, "metric name")
    # A column may come packed (seriescodec: {"$f8": base64}), as the SDK sends long ones.
    steps, values, times = (
        seriescodec.unpack(column, field, MAX_BATCH_POINTS) if isinstance(column, dict) else column
        for column, field in ((steps, "steps"), (values, "values"), (times, "times"))
    )
    n = len(values)
    if n == 0:
        raise ValidationError(f"Metric {name!r} has no points.", field="values")
    if n > MAX_BATCH_POINTS:
        raise ValidationError(
            f"Metric {name!r} has {n} points; split into batches of at most {MAX_BATCH_POINTS}.",
            field="values",
        )
    if len(steps) != n or len(times) != n:
        raise ValidationError(
            f"Metric {name!r}: steps, values and times must have the same length.",
            field="steps",
        )
    if isinstance(steps, np.ndarray) and steps.dtype.kind in "iu":
        step_arr = steps.astype(np.int64)
        if n and step_arr.min() < 0:
            raise ValidationError(f"Steps of metric {name!r} must not be negative.", field="steps")
    else:
        kinds = set(map(type, steps))
        if not kinds <= {int, type(None)}:
            i = _first_bad(steps, (int, type(None)))
            raise ValidationError(
                f"step {steps[i]!r} of metric {name!r} must be an integer.", field=f"steps[{i}]"
            )
        if kinds == _NONE_ONLY:  # every point logged without a step (run.log's default)
            step_arr = np.full(n, AUTO_STEP, dtype=np.int64)
        else:
            if type(None) in kinds:
                if any(s is not None and s < 0 for s in steps):
                    raise ValidationError(
                        f"Steps of metric {name!r} must not be negative.", field="steps"
                    )
                # A missing step means "the next one": AUTO_STEP here, numbered on store.
                steps = [AUTO_STEP if s is None else s for s in steps]
            elif n and min(steps) < 0:
                raise ValidationError(
                    f"Steps of metric {name!r} must not be negative.", field="steps"
                )
            try:
                step_arr = np.array(steps, dtype=np.int64)
            except OverflowError:
                raise ValidationError(
                    f"A step of metric {name!r} is larger than 2**63-1.", field="steps"
                ) from None
    time_arr = _numbers(times, "times")
    if not (np.all(time_arr >= validation.MIN_TIME) and np.all(time_arr <= validation.MAX_TIME)):
        raise ValidationError(
            f"Times of metric {name!r} must be epoch seconds between 2000 and 2100.",
            field="times",
        )
    if isinstance(values, np.ndarray):
        integral = values.dtype.kind in "iu"
        return Series(name, "scalar", step_arr, _numbers(values, "values"), time_arr, integral)
    types = set(map(type, values))
    if types <= TEXT_TYPES:
        # Strings, and v1's booleans and None: kept as they were logged (JSON).
        for i, v in enumerate(values):
            if type(v) is str:
                validation.text(v, f"values[{i}]", max_length=validation.MAX_TEXT_VALUE)
        return Series(name, "text", step_arr, list(values), time_arr)
    return Series(name, "scalar", step_arr, _numbers(values, "values"), time_arr, types == {int})


TEXT_TYPES = {str, bool, type(None)}
_NONE_ONLY = {type(None)}


def number_auto_steps(steps: np.ndarray, already_stored: int) -> np.ndarray:
    """Give points logged without a step their position in the whole series."""
    auto = steps == AUTO_STEP
    if not auto.any():
        return steps
    steps = steps.copy()
    steps[auto] = already_stored + np.flatnonzero(auto)
    return steps


# Numbers are float64 either way; "f8i" marks a chunk whose every value was an int.
NUMERIC_ENCODINGS = ("f8", "f8i")


def encode_values(kind: str, values, integral: bool = False) -> tuple[str, bytes]:
    if kind == "text":
        return "json", json.dumps(list(values), ensure_ascii=False).encode()
    encoding = "f8i" if integral else "f8"
    return encoding, np.ascontiguousarray(values, dtype=np.float64).tobytes()


def decode_values(encoding: str, data: bytes):
    if encoding == "json":
        return json.loads(bytes(data).decode())
    return np.frombuffer(bytes(data), dtype=np.float64)


def decode_steps(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.int64)


def decode_times(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float64)


def compute_buckets(steps: np.ndarray, values) -> bytes:
    """(step_lo, step_hi, min, max) per BUCKET_POINTS points; NaN ignored where possible."""
    if not isinstance(values, np.ndarray) or len(steps) == 0:
        return b""
    return _bucketize(steps, steps, values, values, BUCKET_POINTS).tobytes()


def _bucketize(step_lo, step_hi, low, high, group: int) -> np.ndarray:
    """(min step_lo, max step_hi, fmin low, fmax high) over runs of ``group`` rows:
    the one reduction behind stored buckets, raw-point charts and merged buckets."""
    starts = np.arange(0, len(step_lo), group)
    with np.errstate(invalid="ignore"):
        out = np.empty((len(starts), 4), dtype=np.float64)
        out[:, 0] = np.minimum.reduceat(step_lo, starts)
        out[:, 1] = np.maximum.reduceat(step_hi, starts)
        out[:, 2] = np.fmin.reduceat(low, starts)
        out[:, 3] = np.fmax.reduceat(high, starts)
    return out


def decode_buckets(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float64).reshape(-1, 4)


def split_chunks(steps, values, times, size: int = CHUNK_POINTS):
    """Yield (steps, values, times) slices of at most ``size`` points."""
    for lo in range(0, len(steps), size):
        yield steps[lo : lo + size], values[lo : lo + size], times[lo : lo + size]


def concat(kind: str, a, b):
    if kind == "text":
        return list(a) + list(b)
    return np.concatenate([a, b])


def summary_stats(values) -> tuple[float | None, float | None]:
    """min and max over the non-NaN values (None when there are none)."""
    if not isinstance(values, np.ndarray):
        return None, None
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None, None
    return float(finite.min()), float(finite.max())


def points_to_buckets(steps: np.ndarray, values: np.ndarray, target: int) -> np.ndarray:
    """Raw points reduced to at most ``target`` (step_lo, step_hi, min, max) rows."""
    return _bucketize(steps, steps, values, values, max(1, -(-len(steps) // target)))


def reduce_buckets(buckets: np.ndarray, target: int) -> np.ndarray:
    """Merge consecutive (step_lo, step_hi, min, max) rows down to at most ``target``."""
    if len(buckets) <= target:
        return buckets
    b = buckets
    return _bucketize(b[:, 0], b[:, 1], b[:, 2], b[:, 3], -(-len(buckets) // target))


# --- lists, rows, tables, images ---------------------------------------------------

RECORD_KINDS = ("list", "row", "table", "image")


def _check_cell(value, field: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        validation.number(value, field)
    elif isinstance(value, str):
        validation.text(value, field, max_length=validation.MAX_TEXT_VALUE)
    else:
        raise ValidationError(
            f"{field} must be a number, a string, a boolean or null.", field=field
        )


def check_record(kind: object, data, where: str = "record"):
    """Check a logged list, row, table or image reference; returns the clean data."""
    field = f"{where}.data"
    if kind not in RECORD_KINDS:
        raise ValidationError(
            f"{where}.kind must be one of {', '.join(RECORD_KINDS)}.", field=f"{where}.kind"
        )
    if kind == "list":
        if not isinstance(data, list):
            raise ValidationError(f"{field} must be a list.", field=field)
        for j, v in enumerate(data):
            _check_cell(v, f"{field}[{j}]")
    elif kind == "row":
        if not isinstance(data, dict) or not data:
            raise ValidationError(f"{field} must be a non-empty object.", field=field)
        for k, v in data.items():
            validation.key(k, f"{field} column")
            _check_cell(v, f"{field}.{k}")
    elif kind == "table":
        if not isinstance(data, dict) or not data:
            raise ValidationError(f"{field} must be an object of columns.", field=field)
        lengths = set()
        for k, column in data.items():
            validation.key(k, f"{field} column")
            if not isinstance(column, list):
                raise ValidationError(f"{field}.{k} must be a list.", field=f"{field}.{k}")
            lengths.add(len(column))
            for j, v in enumerate(column):
                _check_cell(v, f"{field}.{k}[{j}]")
        if len(lengths) > 1:
            raise ValidationError(f"The columns of {field} differ in length.", field=field)
    else:
        if not isinstance(data, dict) or not isinstance(data.get("file"), str):
            raise ValidationError(f"{field} must name the image file.", field=field)
        data = {"file": check_file_name(data["file"], field)}
    return data

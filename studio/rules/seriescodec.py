"""A scalar series on the wire in binary: ``application/x-npy``.

The body is three NumPy ``.npy`` arrays back to back (format version 1.0, no pickles),
one per column, in this order:

1. ``steps``: ``<i8`` (int64)
2. ``values``: ``<f8`` (float64), or ``<i8`` when every point was logged as an int
3. ``times``: ``<f8`` (float64, seconds since the epoch)

All three have the same length. NaN, +inf and -inf travel as themselves (IEEE 754
bits), int steps and int values exactly. Reading it needs nothing but NumPy:
``np.load`` three times on the same file object. No Django import: the REST store
uses this module too.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np

from studio.errors import ValidationError

MEDIA_TYPE = "application/x-npy"
_COLUMNS = ("steps", "values", "times")
_DTYPES = {
    "steps": (np.dtype("<i8"),),
    "values": (np.dtype("<f8"), np.dtype("<i8")),
    "times": (np.dtype("<f8"),),
}


def encode(steps: np.ndarray, values: np.ndarray, times: np.ndarray) -> bytes:
    """The three columns as one ``application/x-npy`` body."""
    out = io.BytesIO()
    for name, column in zip(_COLUMNS, (steps, values, times), strict=True):
        column = np.ascontiguousarray(column)
        if column.dtype not in _DTYPES[name]:
            column = column.astype(_DTYPES[name][0])
        np.lib.format.write_array(out, column, version=(1, 0), allow_pickle=False)
    return out.getvalue()


def decode(body: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, values, times) from an ``application/x-npy`` body; a body that is not
    three one-dimensional arrays of the documented types and one length is an error."""
    stream = io.BytesIO(body)
    columns = []
    try:
        for name in _COLUMNS:
            column = np.lib.format.read_array(stream, allow_pickle=False)
            if column.ndim != 1 or column.dtype not in _DTYPES[name]:
                raise ValueError(f"{name} is {column.dtype} with {column.ndim} dimensions")
            columns.append(column)
    except (ValueError, EOFError) as exc:
        raise ValidationError(f"The series body is not valid {MEDIA_TYPE}: {exc}.") from None
    if stream.read(1) or len({len(c) for c in columns}) != 1:
        raise ValidationError(f"The series body is not valid {MEDIA_TYPE}: columns differ.")
    steps, values, times = columns
    return steps, values, times


# --- packed columns inside a JSON body ---------------------------------------------------
#
# A column of a metric batch (``steps``, ``values`` or ``times``) may travel as
# ``{"$i8": "<base64>"}`` (little-endian int64) or ``{"$f8": "<base64>"}`` (little-endian
# float64, NaN and infinities as their IEEE 754 bits) instead of a JSON list. Writing and
# reading a float as decimal text costs about 0.4 us each way; a 1,000-point batch's
# floats cost a client and the server more than everything else they do with it.

PACKED = {"$i8": np.dtype("<i8"), "$f8": np.dtype("<f8")}
# Below this many points a list is as cheap and stays readable.
PACK_MIN = 32


def pack(column: np.ndarray) -> dict[str, str]:
    """``column`` (int64 or float64) as a packed column."""
    key = "$i8" if column.dtype.kind in "iu" else "$f8"
    data = np.ascontiguousarray(column, dtype=PACKED[key]).tobytes()
    return {key: base64.b64encode(data).decode("ascii")}


def pack_list(items: list) -> list | dict[str, str]:
    """What a client sends for a column of plain numbers: packed when it is long and
    every item is an int (each within int64) or every item a number, else as it is
    (text values, ``None`` steps, bools, short columns)."""
    if len(items) < PACK_MIN:
        return items
    kinds = set(map(type, items))
    try:
        if kinds == {int}:
            return pack(np.array(items, dtype=np.int64))
        if kinds <= {int, float}:
            return pack(np.array(items, dtype=np.float64))
    except OverflowError:  # an int beyond int64: the server says what is wrong with it
        pass
    return items


def unpack(column: dict, field: str, most: int) -> np.ndarray:
    """The array a packed column holds; anything else than one of ``PACKED`` with at
    most ``most`` items of valid base64 is a ValidationError naming ``field``."""
    if len(column) != 1 or next(iter(column)) not in PACKED:
        raise ValidationError(
            f'{field} must be a list or one of {{"$i8": base64}}, {{"$f8": base64}}.',
            field=field,
        )
    ((key, text),) = column.items()
    if not isinstance(text, str) or len(text) > 4 * (8 * most + 2) // 3 + 4:
        raise ValidationError(
            f"{field} holds more than {most:,} items or is not text.", field=field
        )
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{field} is not valid base64.", field=field) from None
    if len(data) % 8:
        raise ValidationError(f"{field} is not a whole number of 8-byte items.", field=field)
    return np.frombuffer(data, dtype=PACKED[key])

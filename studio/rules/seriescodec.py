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

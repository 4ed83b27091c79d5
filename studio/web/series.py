"""Chart series of many runs as compact JSON: what ``static/studio/js/charts.js``
draws in a panel grid (the runs list, Compare).

Pure functions from the selectors' chart data (``selectors.metric_chart_batch``: raw
points, or min/max per stored bucket) to plain lists. Every peak stays: a reduced
series sends each bucket's min and its max. Numbers are sent as integers on a grid
(step ``s``: 1, 2 or 5 times a power of ten, 400 to 1,000 steps over the series' span,
finer than a chart's pixels), the first as is and each next one as the difference to
the one before, so a noisy curve costs a few characters a point; a regular x (steps)
is its start, stride and count. A reduced series sends its lows so and each high as
its distance ``w`` above the low. Non-finite values become ``null``: the JSON never
holds ``NaN``. 100 runs x 5 metrics x 10,000 steps: ~40 buckets a series, < 200 KB.

Decoding (charts.js ``decode``): ``a + i*d`` for the first ``n``, then a running sum
of ``v`` (nulls skipped), times ``s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.errors import ValidationError
from studio.rules import validation

MAX_RUNS = 200
MAX_METRICS = 10
# Buckets sent for all series of a response together, so 100 runs x 5 metrics stay
# within ~200 KB: each series gets its share, within these bounds.
TOTAL_POINTS = 20_000
MIN_POINTS, MAX_POINTS = 40, 1000
MAX_GROUPS = 24
X_KINDS = ("step", "rel", "wall")  # or "metric:NAME"
LEVELS = 1000  # at most this many grid steps over a series' span (at least 400)


@dataclass(frozen=True)
class SeriesQuery:
    """What a chart request asks for, checked: every bound is enforced before any
    series is read."""

    run_ids: list[str]
    metrics: list[str]
    x: str = "step"
    x_metric: str | None = None
    group: str | None = None
    step_range: tuple[int, int] | None = None

    @classmethod
    def from_params(cls, params) -> SeriesQuery:
        """From a QueryDict: ``runs=ID,ID,...`` (or repeated ``run=``), ``metric=``
        (repeated), ``x=step|rel|wall|metric:NAME``, ``group=prop:KEY|tag:KEY|
        experiment``, ``range=LO,HI`` (steps). A ValidationError says what is wrong."""
        ids = [i.strip() for v in params.getlist("runs") for i in v.split(",") if i.strip()]
        ids += [v.strip() for v in params.getlist("run") if v.strip()]
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise ValidationError("Name the runs to chart: runs=ID,ID,...", field="runs")
        if len(ids) > MAX_RUNS:
            raise ValidationError(
                f"{len(ids)} runs asked for; a chart draws at most {MAX_RUNS}.", field="runs"
            )
        metrics = list(dict.fromkeys(m for m in params.getlist("metric") if m.strip()))
        if not metrics:
            raise ValidationError("Name at least one metric: metric=NAME.", field="metric")
        if len(metrics) > MAX_METRICS:
            raise ValidationError(
                f"{len(metrics)} metrics asked for; at most {MAX_METRICS} at a time.",
                field="metric",
            )
        metrics = [validation.key(m, "metric") for m in metrics]
        x, x_metric = params.get("x") or "step", None
        if x.startswith("metric:"):
            x, x_metric = "metric", validation.key(x[len("metric:") :], "x")
        elif x not in X_KINDS:
            raise ValidationError(
                "x must be step, rel (time since start), wall (time) or metric:NAME.", field="x"
            )
        return cls(ids, metrics, x, x_metric, params.get("group") or None, _range(params))

    @property
    def x_key(self) -> str:
        return f"metric:{self.x_metric}" if self.x == "metric" else self.x


def _range(params) -> tuple[int, int] | None:
    raw = params.get("range")
    if not raw:
        return None
    try:
        lo, hi = (int(float(p)) for p in raw.split(","))
    except (ValueError, OverflowError):
        raise ValidationError("range must be two steps: range=LO,HI.", field="range") from None
    if lo > hi:
        raise ValidationError("range must go from the lower step to the higher.", field="range")
    return lo, hi


# charts.js PALETTE, in order (the swatch-cN classes of studio.css too).
PALETTE = (
    "#2f5bd3", "#d9730d", "#16803c", "#c0392b", "#7b4fbf", "#8c564b", "#c2408e", "#4d5663",
    "#9a8c00", "#138a9e", "#1b4f9c", "#b35806", "#2d9e5b", "#e0556a", "#5e3c99", "#a6761d",
    "#e7298a", "#666666", "#6a8f00", "#1f9fb4",
)  # fmt: skip
PALETTE_SIZE = len(PALETTE)


def colour_index(pk: int) -> int:
    """A run's colour in every chart, by run, not by its place in a list: runs made
    one after another differ (the palette is used in order of creation)."""
    return pk % PALETTE_SIZE


def legend_labels(labels: Sequence[str], run_ids: Sequence[str]) -> list[str]:
    """What the shared legend calls each run: its label, and the end of its id when
    another run of the chart has the same label."""
    repeated = {label for label in labels if labels.count(label) > 1}
    return [
        f"{label} ({run_id[-8:]})" if label in repeated else label
        for label, run_id in zip(labels, run_ids, strict=True)
    ]


def points_per_series(n_series: int) -> int:
    """Buckets per series: a share of the response's total, within bounds."""
    return max(MIN_POINTS, min(MAX_POINTS, TOTAL_POINTS // max(1, n_series)))


# --- the compact number codes ----------------------------------------------------------


def grid(values: np.ndarray) -> float:
    """The grid step values are rounded to: 1, 2 or 5 times a power of ten, the
    smallest that puts at most LEVELS steps (and so at least 2/5 of that) over their
    span, or over their size when they are all equal."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 1.0
    span = float(finite.max() - finite.min())
    if span <= 0:
        span = abs(float(finite[0])) or 1.0
    e = math.floor(math.log10(span / LEVELS))
    for m in (1, 2, 5, 10):
        if m * 10.0**e >= span / LEVELS:
            return _step(m, e)
    return _step(10, e)  # pragma: no cover (10 * 10**e >= span / LEVELS always)


def _step(m: int, e: int) -> float:
    """m * 10**e as the double nearest to that decimal (0.002, not 0.0020000000000000005)."""
    return float(f"{m}e{e}")


def code(values: Any, s: float | None = None) -> dict[str, Any]:
    """Numbers on the grid of step ``s``, as differences. Evenly spaced numbers (steps)
    are ``a`` (the first, in grid steps), ``d`` (the stride) and ``n`` (how many),
    and the differences after them, if any, in ``v``. None/NaN/inf become ``null``
    and do not move the running sum."""
    arr = np.asarray(values, dtype=np.float64)
    s = grid(arr) if s is None else s
    ok = np.isfinite(arr)
    units = np.zeros(len(arr), dtype=np.int64)
    units[ok] = np.rint(arr[ok] / s).astype(np.int64)
    out: dict[str, Any] = {"s": s}
    start = 0
    if ok.all() and len(units) > 2:
        diffs = np.diff(units)
        regular = int(np.argmax(diffs != diffs[0])) if (diffs != diffs[0]).any() else len(diffs)
        if regular >= 2:  # at least three evenly spaced numbers
            out.update(a=int(units[0]), d=int(diffs[0]), n=regular + 1)
            start = regular + 1
    last = int(units[start - 1]) if start else 0
    rest: list[int | None] = []
    for unit, good in zip(units[start:].tolist(), ok[start:].tolist(), strict=True):
        if good:
            rest.append(unit - last)
            last = unit
        else:
            rest.append(None)
    if rest or not start:
        out["v"] = rest
    return out


def decode(c: dict[str, Any]) -> list[float | None]:
    """The inverse of ``code`` (for tests and the benchmark; charts.js has its own)."""
    s = c["s"]
    out: list[float | None] = []
    acc = 0
    if "d" in c:
        out = [(c["a"] + i * c["d"]) * s for i in range(c["n"])]
        acc = c["a"] + (c["n"] - 1) * c["d"]
    for d in c.get("v", []):
        if d is None:
            out.append(None)
        else:
            acc += d
            out.append(acc * s)
    return out


# --- one series -----------------------------------------------------------------------


@dataclass
class Points:
    """One drawable series: x, and the low and high value at each x (equal for raw
    points), plus how many points were logged."""

    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    total: int
    reduced: bool

    @classmethod
    def from_chart_data(cls, data: dict[str, Any]) -> Points:
        if data.get("reduced"):
            lo_steps = np.asarray(data["step_lo"], np.float64)
            hi_steps = np.asarray(data["step_hi"], np.float64)
            mins = np.asarray(data["min"], np.float64)
            maxs = np.asarray(data["max"], np.float64)
            return cls((lo_steps + hi_steps) / 2, mins, maxs, int(data["total"]), True)
        values = np.asarray(data["values"], np.float64)
        steps = np.asarray(data["steps"], np.float64)
        order = np.argsort(steps, kind="stable")
        return cls(steps[order], values[order], values[order], int(data["total"]), False)


def encode_points(points: Points, *, x_integral: bool) -> dict[str, Any]:
    """``x``, ``lo`` and, for a reduced series, the widths ``w`` (highs minus lows)
    on the lows' grid."""
    s = grid(np.concatenate([points.lo, points.hi]))
    out = {
        "x": code(points.x, 1.0 if x_integral else None),
        "lo": code(points.lo, s),
        "n": points.total,
    }
    if points.reduced:
        out["w"] = width_code(points.lo, points.hi, s)
    return out


def width_code(lo: np.ndarray, hi: np.ndarray, s: float) -> list[int | None]:
    """``hi - lo`` in grid steps, each as is (never negative, short): the highs are
    ``lo + w`` on the same grid."""
    ok = np.isfinite(lo) & np.isfinite(hi)
    units = np.rint(np.where(ok, hi, 0) / s) - np.rint(np.where(ok, lo, 0) / s)
    return [int(u) if good else None for u, good in zip(units.tolist(), ok.tolist(), strict=True)]


def highs(s: dict[str, Any]) -> list[float | None]:
    """A reduced series' highs from its ``lo`` code and ``w`` (tests, benchmark)."""
    step = s["lo"]["s"]
    return [
        None if lo is None or w is None else lo + w * step
        for lo, w in zip(decode(s["lo"]), s["w"], strict=True)
    ]


def map_x(x: np.ndarray, table: tuple[np.ndarray, np.ndarray] | None, origin: float = 0.0):
    """x (steps) looked up in (steps, other) of the same run: time or another metric,
    interpolated between logged steps; NaN where the other series has nothing."""
    if table is None or len(table[0]) == 0:
        return np.full(len(x), np.nan)
    steps, other = table
    ok = np.isfinite(other)
    if not ok.any():
        return np.full(len(x), np.nan)
    return np.interp(x, steps[ok].astype(np.float64), other[ok]) - origin


# --- groups ---------------------------------------------------------------------------


def aggregate(members: Sequence[Points], bins: int) -> dict[str, np.ndarray] | None:
    """One group's series for one metric: at the members' own x when they share few
    enough of them, else on a common grid of ``bins`` over the x they span; each
    member's mean value per bin, then across members their mean,
    std, and the min of their lows and max of their highs (so every peak is kept);
    ``count`` is how many members have a value in the bin. Empty bins are dropped."""
    members = [m for m in members if len(m.x) and np.isfinite(m.x).any()]
    if not members:
        return None
    xs = np.unique(np.concatenate([m.x[np.isfinite(m.x)] for m in members]))
    if len(xs) <= bins:  # few distinct x (the members' own steps): exactly those
        centres = xs

        def place(x):
            return np.searchsorted(xs, x)
    else:
        width = (xs[-1] - xs[0]) / bins
        centres = xs[0] + (np.arange(bins) + 0.5) * width

        def place(x):
            return np.clip(((x - xs[0]) / width).astype(np.int64), 0, bins - 1)

    bins = len(centres)
    means = np.full((len(members), bins), np.nan)
    lows = np.full((len(members), bins), np.nan)
    highs = np.full((len(members), bins), np.nan)
    for row, m in enumerate(members):
        mid = (m.lo + m.hi) / 2
        ok = np.isfinite(m.x) & np.isfinite(mid)
        idx = place(m.x[ok])
        counts = np.bincount(idx, minlength=bins)
        sums = np.bincount(idx, weights=mid[ok], minlength=bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[row] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        lo_row, hi_row = np.full(bins, np.inf), np.full(bins, -np.inf)
        np.minimum.at(lo_row, idx, np.where(np.isfinite(m.lo[ok]), m.lo[ok], np.inf))
        np.maximum.at(hi_row, idx, np.where(np.isfinite(m.hi[ok]), m.hi[ok], -np.inf))
        lows[row] = np.where(counts > 0, lo_row, np.nan)
        highs[row] = np.where(counts > 0, hi_row, np.nan)
    count = np.isfinite(means).sum(axis=0)
    keep = count > 0
    with np.errstate(invalid="ignore"), _quiet():
        out = {
            "x": centres,
            "mean": np.nanmean(means, axis=0),
            "std": np.nanstd(means, axis=0),
            "min": np.nanmin(lows, axis=0),
            "max": np.nanmax(highs, axis=0),
            "count": count,
        }
    return {k: v[keep] for k, v in out.items()}


class _quiet:
    """nanmean and friends warn on all-NaN columns, which ``keep`` drops anyway."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def encode_aggregate(agg: dict[str, np.ndarray]) -> dict[str, Any]:
    s = grid(np.concatenate([agg["min"], agg["max"]]))
    return {
        "x": code(agg["x"]),
        "mean": code(agg["mean"], s),
        "std": code(agg["std"], s),
        "min": code(agg["min"], s),
        "max": code(agg["max"], s),
        "count": [int(c) for c in agg["count"]],
    }


# --- a response -------------------------------------------------------------------------


def group_value(run, group) -> str | None:
    """The value a run is grouped under (its property, tag or experiment), or None."""
    if group.kind == "experiment":
        return run.experiment.name
    items = run.properties.all() if group.kind == "prop" else run.tags.all()
    value = next((item.value for item in items if item.key == group.arg), None)
    return None if value is None else str(value)


def payload(runs: Sequence, query: SeriesQuery, group=None) -> dict[str, Any]:
    """The response of ``/charts/series/``: the runs (in the order asked), then per
    (run, metric) its series, or with ``group`` per (group, metric) the aggregate.
    Reads: the metric names (one query), the series (two), and for a time or metric x
    the steps and times or values of the series that need them (one)."""
    from studio.tracking import selectors

    known = set(selectors.scalar_metric_names(runs=runs, names=[*query.metrics, query.x_metric]))
    unknown = [m for m in [*query.metrics, query.x_metric] if m is not None and m not in known]
    if unknown:
        raise ValidationError(f"No run of these logged the metric {unknown[0]!r}.", field="metric")
    n_series = len(runs) * len(query.metrics)
    budget = points_per_series(n_series)
    data = selectors.metric_chart_batch(
        runs=runs, names=query.metrics, max_points=2 * budget, step_range=query.step_range
    )
    points = {key: Points.from_chart_data(d) for key, d in data.items()}
    if query.x != "step":
        _remap_x(points, runs, query)
    out: dict[str, Any] = {
        "x": query.x_key,
        "metrics": query.metrics,
        "runs": [
            {"id": r.run_id, "label": r.label, "c": colour_index(r.pk), "status": r.status}
            for r in runs
        ],
        "range": list(query.step_range) if query.step_range else None,
    }
    if group is None:
        out["series"] = [
            {"r": i, "m": j, **encode_points(points[(run.pk, name)], x_integral=query.x == "step")}
            for i, run in enumerate(runs)
            for j, name in enumerate(query.metrics)
            if (run.pk, name) in points
        ]
        return out
    by_value: dict[str | None, list[int]] = {}
    for i, run in enumerate(runs):
        by_value.setdefault(group_value(run, group), []).append(i)
    ordered = sorted(by_value.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    out["group"] = group.key
    out["groups"] = [{"value": v, "runs": members} for v, members in ordered[:MAX_GROUPS]]
    out["groups_omitted"] = max(0, len(ordered) - MAX_GROUPS)
    bands = []
    for g, (_, members) in enumerate(ordered[:MAX_GROUPS]):
        for j, name in enumerate(query.metrics):
            series = [points[(runs[i].pk, name)] for i in members if (runs[i].pk, name) in points]
            agg = aggregate(series, points_per_series(len(ordered) * len(query.metrics)))
            if agg is not None:
                bands.append({"g": g, "m": j, **encode_aggregate(agg)})
    out["bands"] = bands
    return out


def _remap_x(points: dict[tuple[int, str], Points], runs: Sequence, query: SeriesQuery) -> None:
    """Steps to times (since the run's first point, or wall clock) or to the value of
    ``x_metric`` at the same step."""
    from studio.tracking import selectors

    if query.x == "metric":
        tables = selectors.metric_steps_values(runs=runs, name=query.x_metric)
        for (run_pk, _), p in points.items():
            p.x = map_x(p.x, tables.get(run_pk))
        return
    tables = selectors.metric_steps_times(runs=runs, names=query.metrics)
    origins: dict[int, float] = {}
    for (run_pk, _), (_, times) in tables.items():
        if len(times):
            origins[run_pk] = min(origins.get(run_pk, math.inf), float(times.min()))
    for key, p in points.items():
        origin = origins.get(key[0], 0.0) if query.x == "rel" else 0.0
        p.x = map_x(p.x, tables.get(key), origin)

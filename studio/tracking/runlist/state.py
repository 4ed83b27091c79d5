"""The state of a runs list: filters, columns, sort and charts.

A state comes from a URL's query string (the page reproduces what a pasted link
shows) or from a saved view. Both go through the same allowlists: filters through
``RunFilterSet`` (``filters.clean_filter_params``), columns and sort keys through
``parse_column`` below. What is stored in a view is ``clean_state``'s output, and
nothing else (docs/requirements.md C3, C4).

Column and sort keys, and the runs query a state lists (``query``), are
``studio.rules.runquery``'s: a state is that query plus how it is shown (columns,
charts).

How it is shown, in the URL and as stored::

    col=KEY (repeated, in order)     "columns": [KEY, ...]   none: the list picks them
    pin=KEY (repeated)               "pins": [KEY, ...]      sticky on the left
    width=PX:KEY (repeated)          "widths": {KEY: PX}     40 to 800 px
    baseline=RUN_ID                  "baseline": RUN_ID      metric cells show the difference
    constant=show                    "show_constant": true   keep constant columns
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from studio.errors import StudioError, ValidationError
from studio.rules import validation
from studio.rules.runquery import (
    DEFAULT_SORT,
    MAX_COLUMNS,
    Column,
    RunQuery,
    Sort,
    parse_column,
    parse_sort,
)
from studio.tracking.models import Workspace
from studio.tracking.runlist.filters import FILTER_FIELDS, clean_filter_params

DEFAULT_COLUMNS = ("name", "id", "experiment", "status", "created", "duration", "tags")
MAX_CHARTS = 4
STATE_KEYS = (
    "filters", "columns", "sort", "charts", "group", "axes", "scatter", "panels", "chart_options",
    "pins", "widths", "baseline", "show_constant",
)  # fmt: skip
# Column widths a list may set (CSS pixels).
MIN_WIDTH, MAX_WIDTH = 40, 800
# The panel grid above a list: one line chart per metric (``panel=NAME``), and how
# they are drawn (``cx``, ``smooth``, ``log``, ``band``, ``top``).
MAX_PANELS = 10
CHART_X = ("step", "rel", "wall")  # or "metric:NAME"
BANDS = ("minmax", "std")
SMOOTHERS = ("ema", "avg")
MAX_TOP = 200
DEFAULT_CHART_OPTIONS = {"x": "step", "smooth": "", "log": False, "band": "minmax", "top": 20}
# What a list may be grouped by: a property's or a tag's value, or the experiment.
GROUP_KINDS = ("prop", "tag", "experiment")
# Axes of the sweep panels (parallel coordinates; the scatter's x and y): properties,
# tags and metrics (URL ``axis=`` repeated, ``scatter=`` x then y).
AXIS_KINDS = ("prop", "tag", "metric")
MAX_AXES = 8


def parse_axis(key: object, field_name: str = "axes") -> Column:
    """A sweep panel's axis (``prop:KEY``, ``tag:KEY`` or ``metric:STAT:NAME``), or a
    ValidationError."""
    try:
        column = parse_column(key)
    except StudioError as exc:
        raise ValidationError(exc.message, field=field_name) from None
    if column.kind not in AXIS_KINDS:
        raise ValidationError(
            "An axis is a property (prop:KEY), a tag (tag:KEY) or a metric (metric:last:NAME).",
            field=field_name,
        )
    return column


def metric_column(name: str, stat: str = "last") -> Column:
    return parse_column(f"metric:{stat}:{name}")


def parse_group(key: object) -> Column:
    """The column a list is grouped by (``prop:KEY``, ``tag:KEY`` or ``experiment``),
    or a ValidationError."""
    try:
        column = parse_column(key)
    except StudioError as exc:
        raise ValidationError(exc.message, field="group") from None
    if column.kind not in GROUP_KINDS:
        raise ValidationError(
            "Group by a property (prop:KEY), a tag (tag:KEY) or the experiment.", field="group"
        )
    return column


@dataclass
class ListState:
    """Filters (parameter -> values, as the FilterSet takes them), columns, sort, charts."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    columns: list[Column] = field(
        default_factory=lambda: [parse_column(k) for k in DEFAULT_COLUMNS]
    )
    sort: Sort = field(default_factory=lambda: parse_sort(DEFAULT_SORT))
    charts: list[Column] = field(default_factory=list)
    group: Column | None = None
    axes: list[Column] = field(default_factory=list)  # parallel coordinates
    scatter: list[Column] = field(default_factory=list)  # [x, y], or none
    panels: list[str] = field(default_factory=list)
    chart_options: dict = field(default_factory=lambda: dict(DEFAULT_CHART_OPTIONS))
    # No columns given (URL or view): the built-ins plus what the listed runs
    # logged (``web.runlist.tables`` picks them); links then leave ``col`` out.
    auto_columns: bool = True
    pins: list[Column] = field(default_factory=list)  # sticky on the left
    widths: dict[str, int] = field(default_factory=dict)  # column key -> px
    baseline: str | None = None  # run id every metric column is compared with
    show_constant: bool = False  # columns empty or constant for all listed runs
    # What a URL asked for that was not understood (shown, never stored).
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: Mapping) -> ListState:
        """From a query string (a QueryDict). Filters are kept as given (the FilterSet
        reports their errors on the page); unknown columns and sorts are dropped with a
        note, so an old link still opens."""
        state = cls()
        state.filters = {
            key: [v for v in query.getlist(key) if v.strip()][:50]
            for key in FILTER_FIELDS
            if any(v.strip() for v in query.getlist(key))
        }
        if query.getlist("col"):
            state.columns = _columns(query.getlist("col"), state.problems)
            state.auto_columns = False
        if query.get("sort"):
            try:
                state.sort = parse_sort(query.get("sort"))
            except StudioError as exc:
                state.problems.append(exc.message)
        charts = _columns(query.getlist("chart"), state.problems)
        state.charts = [c for c in charts if c.kind == "metric"][:MAX_CHARTS]
        state.group = _group(query.get("group"), state.problems)
        state.axes = _axes(query.getlist("axis"), state.problems)
        state.scatter = _scatter(query.getlist("scatter"), state.problems)
        state.panels = _panels(query.getlist("panel"), state.problems)
        raw = {k: query.get(p) for k, p in _OPTION_PARAMS.items() if query.get(p) is not None}
        state.chart_options = _chart_options(raw, state.problems)
        state.pins = _columns(query.getlist("pin"), state.problems)
        # width=PX:COLUMN (the column key comes last: it may hold colons)
        widths = (w.partition(":") for w in query.getlist("width"))
        state.widths = _widths([(key, px) for px, _, key in widths], state.problems)
        state.baseline = _baseline(query.get("baseline"), state.problems)
        state.show_constant = query.get("constant") == "show"
        return state

    @classmethod
    def from_stored(cls, stored: Mapping) -> ListState:
        """From a saved view's state (checked when saved; parsed again all the same)."""
        state = cls()
        filters = stored.get("filters") or {}
        state.filters = {k: list(filters[k]) for k in FILTER_FIELDS if filters.get(k)}
        if stored.get("columns"):
            state.columns = _columns(stored["columns"], state.problems)
            state.auto_columns = False
        try:
            state.sort = parse_sort(stored.get("sort") or DEFAULT_SORT)
        except StudioError as exc:
            state.problems.append(exc.message)
        state.charts = _columns(stored.get("charts") or [], state.problems)[:MAX_CHARTS]
        state.group = _group(stored.get("group"), state.problems)
        state.axes = _axes(stored.get("axes") or [], state.problems)
        state.scatter = _scatter(stored.get("scatter") or [], state.problems)
        state.panels = _panels(stored.get("panels") or [], state.problems)
        state.chart_options = _chart_options(stored.get("chart_options") or {}, state.problems)
        state.pins = _columns(stored.get("pins") or [], state.problems)
        widths = stored.get("widths") or {}
        state.widths = _widths(widths.items() if isinstance(widths, dict) else [], state.problems)
        state.baseline = _baseline(stored.get("baseline"), state.problems)
        state.show_constant = stored.get("show_constant") is True
        return state

    @property
    def panel_names(self) -> list[str]:
        """The metrics the panel grid charts: its panels, or for an older link the
        metrics of its ``chart=`` keys (which the list drew as bars)."""
        return self.panels or list(dict.fromkeys(c.arg for c in self.charts))

    @property
    def query(self) -> RunQuery:
        """The runs this state lists: its filters and sort as the one runs query
        (checked by ``validate()`` and the FilterSet when it runs)."""
        return RunQuery.from_params({**self.filters, "sort": self.sort.key})

    def to_query(self) -> list[tuple[str, str]]:
        """Query-string pairs reproducing this state (defaults left out)."""
        pairs = [(key, value) for key in FILTER_FIELDS for value in self.filters.get(key, [])]
        if not self.auto_columns:
            pairs += [("col", c.key) for c in self.columns]
        if self.sort.key != DEFAULT_SORT:
            pairs.append(("sort", self.sort.key))
        pairs += [("chart", c.key) for c in self.charts]
        if self.group:
            pairs.append(("group", self.group.key))
        pairs += [("axis", c.key) for c in self.axes]
        pairs += [("scatter", c.key) for c in self.scatter]
        pairs += [("panel", name) for name in self.panels]
        for key, param in _OPTION_PARAMS.items():
            value = self.chart_options.get(key)
            if value != DEFAULT_CHART_OPTIONS[key]:
                pairs.append((param, "1" if value is True else str(value)))
        pairs += [("pin", c.key) for c in self.pins]
        pairs += [("width", f"{px}:{key}") for key, px in self.widths.items()]
        if self.baseline:
            pairs.append(("baseline", self.baseline))
        if self.show_constant:
            pairs.append(("constant", "show"))
        return pairs

    def to_stored(self) -> dict:
        return {
            "filters": {k: list(v) for k, v in self.filters.items()},
            **({} if self.auto_columns else {"columns": [c.key for c in self.columns]}),
            "sort": self.sort.key,
            "charts": [c.key for c in self.charts],
            **({"group": self.group.key} if self.group else {}),
            **({"axes": [c.key for c in self.axes]} if self.axes else {}),
            **({"scatter": [c.key for c in self.scatter]} if self.scatter else {}),
            **({"panels": list(self.panels)} if self.panels else {}),
            **_changed_options(self.chart_options),
            **({"pins": [c.key for c in self.pins]} if self.pins else {}),
            **({"widths": dict(self.widths)} if self.widths else {}),
            **({"baseline": self.baseline} if self.baseline else {}),
            **({"show_constant": True} if self.show_constant else {}),
        }


def _axes(keys: object, problems: list[str]) -> list[Column]:
    keys = keys if isinstance(keys, list | tuple) else []
    return _parsed(keys, parse_axis, MAX_AXES, problems)


def _scatter(keys: object, problems: list[str]) -> list[Column]:
    keys = [k for k in keys if k] if isinstance(keys, list | tuple) else keys
    if not keys:
        return []
    axes = []
    for key in list(keys)[:3] if isinstance(keys, list | tuple) else []:
        try:
            axes.append(parse_axis(key, "scatter"))
        except StudioError as exc:
            problems.append(exc.message)
    if len(axes) != 2:
        problems.append("A scatter takes two axes: scatter=X&scatter=Y.")
        return []
    return axes


def _clean_axes(state: Mapping) -> dict:
    """The stored ``axes`` and ``scatter`` of a state, or a ValidationError."""
    cleaned = {}
    axes = state.get("axes") or []
    if not isinstance(axes, list) or len(axes) > MAX_AXES:
        raise ValidationError(f"axes must be a list of at most {MAX_AXES}.", field="axes")
    if axes:
        cleaned["axes"] = list(dict.fromkeys(parse_axis(k).key for k in axes))
    scatter = state.get("scatter") or []
    if scatter:
        if not isinstance(scatter, list) or len(scatter) != 2:
            raise ValidationError("scatter must be a list of two axes [x, y].", field="scatter")
        cleaned["scatter"] = [parse_axis(k, "scatter").key for k in scatter]
    return cleaned


_OPTION_PARAMS = {"x": "cx", "smooth": "smooth", "log": "log", "band": "band", "top": "top"}


def _changed_options(options: Mapping) -> dict:
    changed = {k: v for k, v in options.items() if v != DEFAULT_CHART_OPTIONS[k]}
    return {"chart_options": changed} if changed else {}


def _panels(names: object, problems: list[str]) -> list[str]:
    try:
        return parse_panels(names)
    except StudioError as exc:
        problems.append(exc.message)
        return []


def parse_panels(names: object) -> list[str]:
    """The panels' metric names: at most MAX_PANELS keys, each once."""
    if not isinstance(names, list | tuple):
        raise ValidationError("panels must be a list of metric names.", field="panels")
    clean = list(dict.fromkeys(validation.key(n, "panel metric") for n in names))
    if len(clean) > MAX_PANELS:
        raise ValidationError(f"At most {MAX_PANELS} chart panels.", field="panels")
    return clean


def _chart_options(raw: Mapping, problems: list[str]) -> dict:
    try:
        return parse_chart_options(raw)
    except StudioError as exc:
        problems.append(exc.message)
        return dict(DEFAULT_CHART_OPTIONS)


def parse_chart_options(raw: object) -> dict:
    """How the panels are drawn, from a URL's text or a stored view, checked: x axis
    (step, rel, wall or metric:NAME), smoothing (``ema:W`` with 0 < W < 1, or
    ``avg:N`` with 2 <= N <= 500), log scale, group band (minmax or std), how many of
    the listed runs are charted (top 1..200 by the sort)."""
    if not isinstance(raw, Mapping):
        raise ValidationError("chart_options must be an object.", field="chart_options")
    validation.known_keys(raw, tuple(DEFAULT_CHART_OPTIONS), "chart option", "chart_options")
    out = dict(DEFAULT_CHART_OPTIONS)
    x = raw.get("x", "step")
    if not (x in CHART_X or (isinstance(x, str) and x.startswith("metric:"))):
        raise ValidationError("The x axis is step, rel, wall or metric:NAME.", field="cx")
    if x.startswith("metric:"):
        validation.key(x[len("metric:") :], "x axis metric")
    out["x"] = x
    out["smooth"] = _smoothing(raw.get("smooth", ""))
    log = raw.get("log", False)
    out["log"] = log in (True, "1", "true", "on")
    if log not in (True, False, "1", "0", "true", "false", "on", ""):
        raise ValidationError("log is on (1) or off (0).", field="log")
    if raw.get("band", "minmax") not in BANDS:
        raise ValidationError("The group band is minmax or std.", field="band")
    out["band"] = raw.get("band", "minmax")
    top = raw.get("top", DEFAULT_CHART_OPTIONS["top"])
    try:
        top = int(top)
    except (TypeError, ValueError):
        raise ValidationError(f"top is a number of runs, 1 to {MAX_TOP}.", field="top") from None
    if not 1 <= top <= MAX_TOP:
        raise ValidationError(f"top is a number of runs, 1 to {MAX_TOP}.", field="top")
    out["top"] = top
    return out


def _smoothing(value: object) -> str:
    if value in ("", None):
        return ""
    kind, _, amount = str(value).partition(":")
    try:
        number = float(amount)
    except ValueError:
        number = -1.0
    if kind == "ema" and 0 < number < 1:
        return f"ema:{number:g}"
    if kind == "avg" and number.is_integer() and 2 <= number <= 500:
        return f"avg:{int(number)}"
    raise ValidationError(
        "Smoothing is ema:W (0 < W < 1) or avg:N (a running average of 2 to 500 points).",
        field="smooth",
    )


def _widths(pairs: Iterable, problems: list[str]) -> dict[str, int]:
    """Column key -> width from (key, px) pairs; a bad one is dropped with a note."""
    widths: dict[str, int] = {}
    for key, px in list(pairs)[:MAX_COLUMNS]:
        try:
            key, px = parse_width(key, px)
            widths[key] = px
        except StudioError as exc:
            problems.append(exc.message)
    return widths


def parse_width(key: object, px: object) -> tuple[str, int]:
    """(column key, width) of a column width, or a ValidationError."""
    try:
        column = parse_column(key)
    except StudioError as exc:
        raise ValidationError(exc.message, field="widths") from None
    if isinstance(px, str) and px.isdigit() and len(px) < 5:
        px = int(px)
    if type(px) is not int or not MIN_WIDTH <= px <= MAX_WIDTH:
        raise ValidationError(
            f"A column width is {MIN_WIDTH} to {MAX_WIDTH} pixels (PX:COLUMN).", field="widths"
        )
    return column.key, px


def parse_baseline(run_id: object) -> str:
    """A baseline run id (the run itself is looked up in the list's workspace)."""
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 300:
        raise ValidationError("The baseline is a run id.", field="baseline")
    return run_id.strip()


def _baseline(run_id: object, problems: list[str]) -> str | None:
    if not run_id:
        return None
    try:
        return parse_baseline(run_id)
    except StudioError as exc:
        problems.append(exc.message)
        return None


def _group(key: object, problems: list[str]) -> Column | None:
    if not key:
        return None
    try:
        return parse_group(key)
    except StudioError as exc:
        problems.append(exc.message)
        return None


def _columns(keys: Iterable, problems: list[str]) -> list[Column]:
    return _parsed(keys, parse_column, MAX_COLUMNS, problems)


def _parsed(keys: Iterable, parse, limit: int, problems: list[str]) -> list[Column]:
    """The columns ``parse`` makes of ``keys``, each once, at most ``limit``; what it
    refuses is dropped with a note in ``problems``."""
    columns: list[Column] = []
    for key in list(keys)[: limit * 2]:
        try:
            column = parse(key)
        except StudioError as exc:
            problems.append(exc.message)
            continue
        if column not in columns:
            columns.append(column)
    return columns[:limit]


def clean_state(state: object, *, workspace: Workspace) -> dict:
    """The stored form of a list state, or a ValidationError naming the first thing
    that is not allowed: unknown top-level keys, filters, columns, sort keys or charts
    (docs/requirements.md C4). Nothing outside the allowlists is ever stored."""
    validation.known_keys(state, STATE_KEYS, "state field", "state")
    filters = clean_filter_params(state.get("filters") or {}, workspace=workspace)
    columns = state.get("columns") or []
    charts = state.get("charts") or []
    if not isinstance(columns, list) or len(columns) > MAX_COLUMNS:
        raise ValidationError(f"columns must be a list of at most {MAX_COLUMNS}.", field="columns")
    if not isinstance(charts, list) or len(charts) > MAX_CHARTS:
        raise ValidationError(f"charts must be a list of at most {MAX_CHARTS}.", field="charts")
    parsed_charts = [parse_column(c) for c in charts]
    if any(c.kind != "metric" for c in parsed_charts):
        raise ValidationError("A chart shows a metric: metric:last:NAME.", field="charts")
    return {
        "filters": filters,
        # None given: the built-ins and what the listed runs logged (chosen when shown).
        **(
            {"columns": list(dict.fromkeys(parse_column(c).key for c in columns))}
            if columns
            else {}
        ),
        "sort": parse_sort(state.get("sort") or DEFAULT_SORT).key,
        "charts": list(dict.fromkeys(c.key for c in parsed_charts)),
        **({"group": parse_group(state["group"]).key} if state.get("group") else {}),
        **_clean_axes(state),
        **({"panels": parse_panels(state["panels"])} if state.get("panels") else {}),
        **_changed_options(parse_chart_options(state.get("chart_options") or {})),
        **_clean_layout(state),
    }


def _clean_layout(state: Mapping) -> dict:
    """Pins, widths, baseline and the constant columns switch, as stored (only
    those given)."""
    found: dict = {}
    pins = state.get("pins") or []
    if not isinstance(pins, list) or len(pins) > MAX_COLUMNS:
        raise ValidationError(f"pins must be a list of at most {MAX_COLUMNS}.", field="pins")
    if pins:
        found["pins"] = list(dict.fromkeys(parse_column(c).key for c in pins))
    widths = state.get("widths") or {}
    if not isinstance(widths, dict) or len(widths) > MAX_COLUMNS:
        raise ValidationError(
            f"widths must map at most {MAX_COLUMNS} column keys to pixels.", field="widths"
        )
    if widths:
        found["widths"] = dict(parse_width(key, px) for key, px in widths.items())
    if state.get("baseline"):
        found["baseline"] = parse_baseline(state["baseline"])
    show = state.get("show_constant", False)
    if type(show) is not bool:
        raise ValidationError("show_constant is true or false.", field="show_constant")
    if show:
        found["show_constant"] = True
    return found

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
    "filters",
    "columns",
    "sort",
    "charts",
    "group",
    "pins",
    "widths",
    "baseline",
    "show_constant",
)
# Column widths a list may set (CSS pixels).
MIN_WIDTH, MAX_WIDTH = 40, 800
# What a list may be grouped by: a property's or a tag's value, or the experiment.
GROUP_KINDS = ("prop", "tag", "experiment")


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
        state.pins = _columns(stored.get("pins") or [], state.problems)
        widths = stored.get("widths") or {}
        state.widths = _widths(widths.items() if isinstance(widths, dict) else [], state.problems)
        state.baseline = _baseline(stored.get("baseline"), state.problems)
        state.show_constant = stored.get("show_constant") is True
        return state

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
            **({"pins": [c.key for c in self.pins]} if self.pins else {}),
            **({"widths": dict(self.widths)} if self.widths else {}),
            **({"baseline": self.baseline} if self.baseline else {}),
            **({"show_constant": True} if self.show_constant else {}),
        }


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
    columns: list[Column] = []
    for key in list(keys)[: MAX_COLUMNS * 2]:
        try:
            column = parse_column(key)
        except StudioError as exc:
            problems.append(exc.message)
            continue
        if column not in columns:
            columns.append(column)
    return columns[:MAX_COLUMNS]


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

"""The one runs query: which runs of a workspace a list shows, and in which order.

The studio's list and saved views, the JSON API, the SDK's stores and
``studio run list`` all describe a list as a ``RunQuery`` and turn it into the same
FilterSet and keyset page (``studio.tracking.runlist.query``). No Django import:
the REST store builds a query and sends ``to_params()``; the API reads them back
with ``from_params()``; the studio's URLs and saved views hold the same parameters.

    experiment=mnist  status=Running  type=script  tag=lr=0.1  tag=best
    prop=author=alice  q=metrics.loss < 0.2  children=1  parent=RUN_ID  recursive=1
    sort=-metric:min:loss  col=prop:author

Sort and column keys::

    name id experiment status created duration submitted_by compute_target tags
    description type                     built-in columns
    prop:KEY  tag:KEY                    a property's or a tag's value
    metric:last:NAME (min, max)          a metric's last, smallest or largest value

The key or metric name comes last, so it may hold any character (dots, colons).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from studio.errors import ValidationError
from studio.rules import transitions, validation

# Reading a list a page at a time: what a caller usually reads of it (the first
# page), and the most one page holds.
FIRST_PAGE = 100
MAX_PAGE = 1000


def check_limit(limit: object) -> int | None:
    """How many runs a caller wants at most (``get_runs(limit=)``, ``--last N``):
    a positive integer, or None for all of them."""
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ValidationError("limit must be a positive integer.", field="limit")
    return limit


def page_size(limit: int | None, taken: int, chunk: int) -> int:
    """The size of the next page to ask for, ``taken`` runs read so far: ``chunk``
    (the first page: ``FIRST_PAGE``), or with a ``limit`` what it leaves, up to a
    page's most, so a caller wanting N runs has N read and no more."""
    return chunk if limit is None else min(limit - taken, MAX_PAGE)


# key -> (label, sortable, numeric)
BUILTIN: dict[str, tuple[str, bool, bool]] = {
    "name": ("Name", True, False),
    "id": ("Run ID", True, False),
    "experiment": ("Experiment", True, False),
    "status": ("Status", True, False),
    "created": ("Created", True, False),
    "duration": ("Duration", True, True),
    "submitted_by": ("Submitted by", True, False),
    "compute_target": ("Compute target", True, False),
    "tags": ("Tags", False, False),
    "description": ("Description", True, False),
    "type": ("Type", True, False),
}
STATS = ("last", "min", "max")
DEFAULT_SORT = "-created"
TYPES = ("interactive", "script", "pipeline", "step")
MAX_VALUES = 20  # per parameter: chips, statuses, experiments ...
MAX_COLUMNS = 30
# Dates a filter may name: a day either side still fits a datetime (0001-01-01 and
# 9999-12-31 overflowed the day arithmetic and the database's conversions).
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9000, 12, 31)


@dataclass(frozen=True)
class Column:
    key: str
    kind: str  # a BUILTIN key, or "prop", "tag", "metric"
    arg: str = ""  # the property/tag key or the metric name
    stat: str = ""  # metrics: last, min, max

    @property
    def label(self) -> str:
        if self.kind == "metric":
            return self.arg if self.stat == "last" else f"{self.arg} ({self.stat})"
        if self.kind in ("prop", "tag"):
            return self.arg
        return BUILTIN[self.kind][0]

    @property
    def sortable(self) -> bool:
        return self.kind not in BUILTIN or BUILTIN[self.kind][1]

    @property
    def numeric(self) -> bool:
        return self.kind == "metric" or (self.kind in BUILTIN and BUILTIN[self.kind][2])

    @property
    def custom(self) -> bool:
        return self.kind not in BUILTIN


def parse_column(key: object) -> Column:
    """The column a key names, or a ValidationError listing what is allowed."""
    if not isinstance(key, str) or not key or len(key) > 300:
        raise ValidationError("A column key must be a short text.", field="columns")
    if key in BUILTIN:
        return Column(key, key)
    kind, sep, rest = key.partition(":")
    if sep and kind in ("prop", "tag"):
        return Column(key, kind, validation.key(rest, f"{kind} key"))
    if sep and kind == "metric":
        stat, sep, name = rest.partition(":")
        if sep and stat in STATS:
            return Column(key, "metric", validation.key(name, "metric name"), stat)
    raise ValidationError(
        f"Unknown column {key!r}; use one of {', '.join(BUILTIN)}, prop:KEY, tag:KEY, "
        "metric:last:NAME, metric:min:NAME or metric:max:NAME.",
        field="columns",
    )


@dataclass(frozen=True)
class Sort:
    column: Column
    descending: bool

    @property
    def key(self) -> str:
        return ("-" if self.descending else "") + self.column.key

    def flipped(self) -> str:
        """The sort key of the same column in the other direction."""
        return ("" if self.descending else "-") + self.column.key


def parse_sort(text: object) -> Sort:
    if not isinstance(text, str) or not text:
        raise ValidationError("A sort key must be a column key.", field="sort")
    descending = text.startswith("-")
    try:
        column = parse_column(text[1:] if descending else text)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="sort") from None
    if not column.sortable:
        raise ValidationError(f"The {column.label} column cannot be sorted.", field="sort")
    return Sort(column, descending)


Chips = tuple[tuple[str, str | None], ...]
# Parameter names of the list fields, in the order ``to_params`` writes them.
_LISTS = ("experiment", "status", "type", "compute_target", "submitted_by")
_FLAGS = ("children", "recursive")
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("", "0", "false", "off", "no")
# What ``from_params`` also reads: the JSON API's names from before the one query.
_LEGACY = ("tags", "properties", "filter", "include_children")
PARAMS = (
    *_LISTS,
    "tag",
    "prop",
    "created_after",
    "created_before",
    "q",
    *_FLAGS,
    "parent",
    "sort",
    "col",
)


@dataclass(frozen=True)
class RunQuery:
    """Which runs and in which order. Empty fields do not filter; without
    ``children`` or ``parent`` the list holds top-level runs only."""

    experiment: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    tags: Chips = ()  # (key, value), or (key, None): has the tag
    properties: Chips = ()
    compute_target: tuple[str, ...] = ()
    submitted_by: tuple[str, ...] = ()
    created_after: str | None = None  # YYYY-MM-DD, inclusive
    created_before: str | None = None
    filter: str = ""  # the filter language
    children: bool = False  # child runs too
    parent: str | None = None  # the children of this run only
    recursive: bool = False  # with ``parent``: all its descendants
    sort: str = DEFAULT_SORT
    columns: tuple[str, ...] = ()  # metric/tag/property values a row carries

    @classmethod
    def of(
        cls,
        *,
        experiment: str | None = None,
        tags: Any = None,
        properties: Any = None,
        type: str | None = None,
        status: str | None = None,
        include_children: bool = False,
        filter: str | None = None,
        sort: str | None = None,
        parent: str | None = None,
        recursive: bool = False,
    ) -> RunQuery:
        """From the SDK's arguments (``get_runs``, ``get_children``): ``tags`` a dict
        (key -> value, None for "has the key"), a key or a list of keys; the others
        one value each."""
        return cls(
            experiment=_one(experiment),
            status=_one(status),
            type=_one(type),
            tags=_chips(tags, "tags", keys_allowed=True),
            properties=_chips(properties, "properties", keys_allowed=False),
            filter=filter or "",
            children=bool(include_children),
            parent=parent,
            recursive=bool(recursive),
            sort=sort or (DEFAULT_SORT if parent is None else "created"),
        ).validate()

    # --- parameters -----------------------------------------------------------------

    def to_params(self) -> list[tuple[str, str]]:
        """Query-string pairs of this query (defaults left out): what the REST store
        sends, a studio link holds and the FilterSet reads."""
        pairs = [(name, v) for name in _LISTS for v in getattr(self, name)]
        pairs += [("tag", _chip(k, v, "tags")) for k, v in self.tags]
        pairs += [("prop", _chip(k, v, "properties")) for k, v in self.properties]
        pairs += [(name, getattr(self, name)) for name in ("created_after", "created_before")]
        pairs += [("q", self.filter), *((name, "1") for name in _FLAGS if getattr(self, name))]
        pairs += [("parent", self.parent or ""), ("sort", self.sort)]
        pairs += [("col", key) for key in self.columns]
        return [(k, v) for k, v in pairs if v and not (k == "sort" and v == DEFAULT_SORT)]

    def filter_params(self) -> dict[str, list[str]]:
        """The FilterSet's part of ``to_params``: parameter -> values."""
        out: dict[str, list[str]] = {}
        for key, value in self.to_params():
            if key not in ("sort", "col"):
                out.setdefault(key, []).append(value)
        return out

    @classmethod
    def from_params(cls, params: Mapping) -> RunQuery:
        """From query-string parameters (a QueryDict, or a dict of a value or a list
        of values per name); also reads the API's older names (``tags`` and
        ``properties`` as JSON, ``filter``, ``include_children``). Unknown names are
        refused; values are checked by ``validate()`` and the FilterSet."""
        unknown = sorted(str(k) for k in params if k not in (*PARAMS, *_LEGACY))
        if unknown:
            raise ValidationError(
                f"Unknown parameter {unknown[0]!r}; use {', '.join(PARAMS)}.", field=unknown[0]
            )
        get = _values(params)
        one = {name: _single(get, name) for name in ("created_after", "created_before", "parent")}
        return cls(
            **{name: tuple(get(name)) for name in _LISTS},
            tags=tuple(split_chip(c) for c in get("tag")) + _json_chips(get, "tags"),
            properties=tuple(split_chip(c) for c in get("prop")) + _json_chips(get, "properties"),
            filter=_single(get, "q") or _single(get, "filter") or "",
            children=_flag(get, "children") or _flag(get, "include_children"),
            recursive=_flag(get, "recursive"),
            sort=_single(get, "sort") or DEFAULT_SORT,
            columns=tuple(get("col")),
            **one,
        )

    # --- checks ---------------------------------------------------------------------

    def validate(self) -> RunQuery:
        """This query, or a ValidationError naming the first value that is not
        allowed. The filter expression is checked where it is compiled (the
        FilterSet), with the position of the mistake."""
        for name in (*_LISTS, "tags", "properties", "columns"):
            if len(getattr(self, name)) > MAX_VALUES + (MAX_COLUMNS if name == "columns" else 0):
                raise ValidationError(f"{name} takes at most {MAX_VALUES} values.", field=name)
        for status in self.status:
            if status not in transitions.STATUSES:
                raise ValidationError(
                    f"Unknown status {status!r}; use one of {', '.join(transitions.STATUSES)}.",
                    field="status",
                )
        for type_ in self.type:
            if type_ not in TYPES:
                raise ValidationError(
                    f"Unknown type {type_!r}; use one of {', '.join(TYPES)}.", field="type"
                )
        for name in ("tags", "properties"):
            for key, value in getattr(self, name):
                _chip(key, value, name)
        for name in ("created_after", "created_before"):
            if getattr(self, name) is not None:
                parse_date(getattr(self, name), name)
        if not isinstance(self.filter, str):
            raise ValidationError("The filter must be a string.", field="filter")
        if self.recursive and not self.parent:
            raise ValidationError("recursive takes a parent run.", field="recursive")
        parse_sort(self.sort)
        for key in self.columns:
            parse_column(key)
        return self

    @property
    def sort_order(self) -> Sort:
        return parse_sort(self.sort)

    def replace(self, **changes: Any) -> RunQuery:
        return replace(self, **changes)


FIELDS = tuple(f.name for f in fields(RunQuery))


def split_chip(chip: str) -> tuple[str, str | None]:
    """``lr=0.1`` -> ("lr", "0.1"); ``best`` -> ("best", None)."""
    key, sep, value = chip.partition("=")
    return key.strip(), (value.strip() if sep else None)


def _chip(key: str, value: str | None, field: str) -> str:
    key = validation.key(key, f"{field} key")
    if "=" in key:
        raise ValidationError(
            f"{field} key {key!r} holds '=', so it cannot be a filter chip; use the filter "
            f"language: {field}.'{key}' = ...",
            field=field,
        )
    if value is None:
        return key
    limit = validation.MAX_TAG_VALUE if field == "tags" else validation.MAX_PROPERTY_VALUE
    return f"{key}={validation.text(value, f'{field}.{key}', max_length=limit)}"


def parse_date(text: object, field: str) -> dt.date:
    """A YYYY-MM-DD day between MIN_DATE and MAX_DATE."""
    try:
        day = dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError(f"{field} must be a date: YYYY-MM-DD.", field=field)
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValidationError(
            f"{field} must lie between {MIN_DATE} and {MAX_DATE}, not {day}.", field=field
        )
    return day


def _one(value: object) -> tuple[str, ...]:
    return () if value is None else (value,)  # type: ignore[return-value]


def _chips(value: Any, field: str, *, keys_allowed: bool) -> Chips:
    if value is None:
        return ()
    if keys_allowed and isinstance(value, str):
        return ((value, None),)
    if keys_allowed and isinstance(value, (list, tuple, set)):
        return tuple((k, None) for k in value)
    if not isinstance(value, Mapping):
        what = "a dict, a key or a list of keys" if keys_allowed else "a dict"
        raise ValidationError(f"{field} must be {what}.", field=field)
    return tuple(value.items())


def _values(params: Mapping):
    def get(name: str) -> list[str]:
        if hasattr(params, "getlist"):
            values = params.getlist(name)
        else:
            raw = params.get(name)
            values = [] if raw is None else raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_VALUES + MAX_COLUMNS:
            raise ValidationError(f"{name} takes at most {MAX_VALUES} values.", field=name)
        if not all(isinstance(v, str) for v in values):
            raise ValidationError(f"{name} takes text values.", field=name)
        return [v for v in values if v.strip()]

    return get


def _single(get, name: str) -> str | None:
    values = get(name)
    return values[-1] if values else None  # as Django's forms read a repeated one


def _flag(get, name: str) -> bool:
    raw = (_single(get, name) or "").lower()
    if raw not in (*_TRUE, *_FALSE):
        raise ValidationError(f"{name} is true or false, not {raw!r}.", field=name)
    return raw in _TRUE


def _json_chips(get, name: str) -> Chips:
    raw = _single(get, name)
    if raw is None:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValidationError(f"{name} must be JSON.", field=name) from None
    if isinstance(value, str):
        value = [value]
    return _chips(value, name, keys_allowed=name == "tags")

"""The filter language (docs/requirements.md SPEC §4): one grammar, parsed by lark,
compiled into Django ``Q`` objects from an allowlist of fields and operators. No
user-supplied dict or field name ever reaches ``filter(**...)``: every lookup below is a literal.

    status = Running and tags.quality ~ 'great' and metrics.loss.min < 0.2
    has tags.'worth another look' or experiment in (mnist, cifar)
    not (status in (Failed, Canceled)) and created >= 2026-01-01 and duration > 60
    archived                     (alone: archived = true; archived runs are left out
                                  of a list whose filter does not name ``archived``)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Cast, Coalesce, Now
from django.utils import timezone
from lark import Lark, Token, Transformer, Tree, UnexpectedInput, v_args

from studio.errors import ValidationError
from studio.rules import runquery, transitions, validation
from studio.tracking.models import MetricSummary, Run, RunProperty, RunTag

MAX_LENGTH = 2000
MAX_TERMS = 50
MAX_DEPTH = 20
# Nesting of the parsed expression (``not not not ...`` too): the compiler and the
# database's SQL compiler recurse once per level.
MAX_NESTING = 60
# Durations a comparison may name: within what a timedelta and a 64-bit count of
# microseconds hold (about 3,000 years).
MAX_SECONDS = 10**11

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negate
         | atom
?atom: comparison
     | membership
     | has
     | flag
     | "(" or_expr ")"
comparison: field OP value
membership: field _IN "(" value ("," value)* ")"
has: _HAS field
flag: field
field: WORD ("." part)*
?part: WORD | STRING
?value: STRING -> string
      | NUMBER -> number
      | WORD -> word
      | DATE -> word

_OR.3: /or\b/i
_AND.3: /and\b/i
_NOT.3: /not\b/i
_IN.3: /in\b/i
_HAS.3: /has\b/i
OP: "!=" | "<=" | ">=" | "=" | "<" | ">" | "~"
DATE.2: /\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?/
NUMBER.1: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(?![\w.-])/
WORD: /[A-Za-z_][\w-]*/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/

%import common.WS
%ignore WS
"""

_parser = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


@dataclass(frozen=True)
class Field:
    kind: str  # "column", "tags", "properties", "metrics"
    name: str  # column name, or the tag/property/metric key
    stat: str = "last"  # for metrics: last, min, max
    column: int = 0


# Plain columns: field name -> (model lookup, value type). The allowlist.
COLUMNS: dict[str, tuple[str, str]] = {
    "status": ("status", "status"),
    "experiment": ("experiment__name", "text"),
    "name": ("display_name|run_id", "text"),  # the display name or, unnamed, the id
    "id": ("run_id", "text"),
    "description": ("description", "text"),
    "compute_target": ("compute_target", "text"),
    "submitted_by": ("submitted_by", "text"),
    "type": ("type", "text"),
    "created": ("created_at", "time"),
    "duration": ("duration", "seconds"),
    "archived": ("archived", "bool"),
}
# Columns that stand alone as a condition (``archived`` means ``archived = true``).
FLAGS = {name for name, (_, kind) in COLUMNS.items() if kind == "bool"}
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
METRIC_STATS = {"last": "last_value", "min": "min_value", "max": "max_value"}
_TEXT_LOOKUPS = {"=": "exact", "~": "icontains", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_ORDER_LOOKUPS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
# A tag or property value read as a number by ``<``, ``<=``, ``>``, ``>=`` against a
# number (``properties.lr >= 0.001``: '5e-4' is less, though it sorts after '0.001' as
# text). The pattern bounds what is cast, so PostgreSQL never casts text or a number
# out of a double's range; values that are not numbers do not match.
NUMERIC_TEXT = r"^[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,2})?$"


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Compile(Transformer):
    """Turns the parse tree into ``Q`` objects, checking every field and value."""

    def __init__(self, using: str | None = None) -> None:
        super().__init__()
        self.terms = 0
        self.using = using  # the database the Q will run on, when known (having())

    def _having(self, rows: QuerySet) -> Q:
        return having(rows, using=self.using)

    # values
    def string(self, items):
        return ("text", _unquote(items[0]), items[0].column)

    def number(self, items):
        return ("number", items[0].value, items[0].column)

    def word(self, items):
        return ("text", items[0].value, items[0].column)

    @v_args(meta=True)
    def field(self, meta, parts):
        names = [p.value if p.type == "WORD" else _unquote(p.value) for p in parts]
        head, rest = names[0].lower(), names[1:]
        if head in COLUMNS and not rest:
            return Field("column", head, column=meta.column)
        if head in ("tags", "properties") and len(rest) == 1:
            return Field(head, validation.key(rest[0], f"{head} key"), column=meta.column)
        if head == "metrics" and rest:
            stat = "last"
            if len(rest) == 2 and rest[1] in METRIC_STATS:
                stat = rest[1]
            elif len(rest) != 1:
                raise _error(
                    "Use metrics.NAME, metrics.NAME.min or metrics.NAME.max (quote a "
                    "name with dots: metrics.'val.loss')",
                    meta.column,
                )
            return Field("metrics", validation.key(rest[0], "metric name"), stat, meta.column)
        allowed = ", ".join([*COLUMNS, "tags.KEY", "properties.KEY", "metrics.NAME[.min|.max]"])
        raise _error(f"Unknown field {'.'.join(names)!r}; use one of: {allowed}", meta.column)

    # terms
    def comparison(self, items):
        field, op, value = items
        return self._term(field, op.value, [value])

    def membership(self, items):
        field, *values = items
        return self._term(field, "in", values)

    def has(self, items):
        (field,) = items
        self._count()
        if field.kind == "tags":
            return self._having(RunTag.objects.filter(key=field.name))
        if field.kind == "properties":
            return self._having(RunProperty.objects.filter(key=field.name))
        if field.kind == "metrics":
            return self._having(MetricSummary.objects.filter(name=field.name))
        raise _error("'has' takes tags.KEY, properties.KEY or metrics.NAME", field.column)

    def flag(self, items):
        (field,) = items
        if field.kind != "column" or field.name not in FLAGS:
            raise _error(
                f"{field.name!r} needs a comparison (status = Running, tags.KEY ~ text, "
                f"has tags.KEY); only {' and '.join(sorted(FLAGS))} stands alone",
                field.column,
            )
        self._count()
        return Q(**{COLUMNS[field.name][0]: True})

    def negate(self, items):
        return ~items[0]

    def and_expr(self, items):
        q = items[0]
        for item in items[1:]:
            q &= item
        return q

    def or_expr(self, items):
        q = items[0]
        for item in items[1:]:
            q |= item
        return q

    def _count(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise ValidationError(
                f"The filter has more than {MAX_TERMS} conditions.", field="filter"
            )

    def _term(self, field: Field, op: str, values: list[tuple[str, str, int]]) -> Q:
        self._count()
        if field.kind == "column":
            lookup, kind = COLUMNS[field.name]
            return _compare(lookup, kind, op, values, field.name)
        if field.kind in ("tags", "properties"):
            model = RunTag if field.kind == "tags" else RunProperty
            if op == "!=":
                return ~self._having(_rows(model, field.name, "exact", values[0]))
            if op in ("<", "<=", ">", ">=") and values[0][0] == "number":
                return self._having(_numeric_rows(model, field.name, op, _number(values[0])))
            lookup = "in" if op == "in" else _TEXT_LOOKUPS[op]
            arg = [v[1] for v in values] if op == "in" else values[0]
            return self._having(_rows(model, field.name, lookup, arg))
        # metrics: numbers only
        column = METRIC_STATS[field.stat]
        numbers = [_number(v) for v in values]
        base = MetricSummary.objects.filter(name=field.name)
        if op == "~":
            raise _error("'~' compares text; metrics take = != < <= > >= in", values[0][2])
        if op == "!=":
            return self._having(
                base.exclude(**{column: numbers[0]}).filter(**{f"{column}__isnull": False})
            )
        if op == "in":
            return self._having(base.filter(**{f"{column}__in": numbers}))
        return self._having(base.filter(**{f"{column}__{_ORDER_LOOKUPS[op]}": numbers[0]}))


def _rows(model, key: str, lookup: str, value) -> QuerySet:
    if isinstance(value, tuple):
        value = value[1]
    return model.objects.filter(key=key, **{f"value__{lookup}": value})


def _numeric_rows(model, key: str, op: str, number: float) -> QuerySet:
    """Rows of ``key`` whose value, read as a number, compares to ``number``."""
    as_number = Case(
        When(value__regex=NUMERIC_TEXT, then=Cast("value", FloatField())),
        default=None,
        output_field=FloatField(),
    )
    rows = model.objects.filter(key=key).annotate(_number=as_number)
    return rows.filter(**{f"_number__{_ORDER_LOOKUPS[op]}": number})


# On SQLite, past this many matching tag, property or metric rows a filter reads as a
# probe per run rather than as the list of its matches (``having``).
MANY_MATCHES = 5_000


def having(rows: QuerySet, *, using: str | None = None) -> Q:
    """Runs with a matching tag, property or metric row (``rows``).

    Written ``pk IN (SELECT run_id ...)``, the database reads every matching row
    first. For a few, that is the fastest plan there is: SQLite drives the runs from
    the list (20 matches of 100,000 runs: 0.02 ms, where a probe per run costs 75 ms).
    For many it is the slowest part of a page: ``loss < 0.5`` matches 45,000 runs and
    SQLite builds that list, 20 ms, for the rows and again for the count, each of
    which needs only the first 51 or 1,001. SQLite keeps no statistics to choose
    between the two plans, so on SQLite (``using``, the database the Q will run on)
    one query asks whether more than MANY_MATCHES rows match, and a match that large
    is written as a correlated EXISTS, which the (run, key) unique index answers per
    run and which stops with the page: 1.8 ms for that count. PostgreSQL plans both
    forms as the same semi-join from its statistics, so it gets the list form."""
    if using is not None and connections[using].vendor == "sqlite":
        if rows.using(using).order_by()[MANY_MATCHES : MANY_MATCHES + 1].exists():
            return Q(Exists(rows.filter(run_id=OuterRef("pk"))))
    return Q(pk__in=rows.values("run_id"))


def _number(value: tuple[str, str, int]) -> float:
    kind, raw, column = value
    try:
        number = float(raw)
    except ValueError:
        raise _error(f"{raw!r} is not a number", column) from None
    if not math.isfinite(number):
        raise _error(f"{raw!r} is out of range", column)
    return number


def _seconds(value: tuple[str, str, int]) -> dt.timedelta:
    seconds = _number(value)
    if abs(seconds) > MAX_SECONDS:
        raise _error(f"A duration is at most {MAX_SECONDS:.0e} seconds", value[2])
    return dt.timedelta(seconds=seconds)


def _boolean(value: tuple[str, str, int], name: str) -> bool:
    _, raw, column = value
    if raw.lower() not in _BOOLEANS:
        raise _error(f"{name} is true or false, not {raw!r}", column)
    return _BOOLEANS[raw.lower()]


def _parse_time(value: tuple[str, str, int]) -> dt.datetime:
    _, raw, column = value
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _error(
            f"{raw!r} is not a date (use 2026-01-31 or 2026-01-31T12:00)", column
        ) from None
    if not runquery.MIN_DATE <= parsed.date() <= runquery.MAX_DATE:
        raise _error(
            f"Dates lie between {runquery.MIN_DATE} and {runquery.MAX_DATE}, not {raw}", column
        )
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _compare(lookup: str, kind: str, op: str, values: list, name: str) -> Q:
    if kind == "status":
        for v in values:
            if v[1] not in transitions.STATUSES:
                raise _error(
                    f"Unknown status {v[1]!r}; use one of {', '.join(transitions.STATUSES)}",
                    v[2],
                )
        if op not in ("=", "!=", "in"):
            raise _error("status takes = != in", values[0][2])
    if kind == "bool":
        if op not in ("=", "!=", "in"):
            raise _error(f"{name} takes = != in", values[0][2])
        converted = [_boolean(v, name) for v in values]
    elif kind == "time":
        converted = [_parse_time(v) for v in values]
    elif kind == "seconds":
        converted = [_seconds(v) for v in values]
    else:
        converted = [v[1] for v in values]
    if op == "in":
        return _any_of(lookup, "in", converted)
    if op == "!=":
        return ~_any_of(lookup, "exact", converted[0])
    table = _TEXT_LOOKUPS if kind in ("text", "status") else _ORDER_LOOKUPS
    if op not in table:
        raise _error(f"{name} does not take {op!r}", values[0][2])
    return _any_of(lookup, table[op], converted[0])


def _any_of(lookups: str, lookup: str, value) -> Q:
    """``a|b`` in COLUMNS means the condition holds on either column."""
    q = Q()
    for column in lookups.split("|"):
        q |= Q(**{f"{column}__{lookup}": value})
    return q


class _PositionError(Exception):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message, self.column = message, column


def _error(message: str, column: int) -> _PositionError:
    return _PositionError(message, column)


def _pointed(expression: str, message: str, column: int) -> ValidationError:
    caret = " " * max(column - 1, 0) + "^"
    return ValidationError(
        f"{message} (at column {column})\n  {expression}\n  {caret}", field="filter"
    )


def compile_filter(expression: str, *, using: str | None = None) -> Q:
    """Parse ``expression`` and return the ``Q`` it means, or a ValidationError whose
    message points at the offending position. With ``using``, the database the Q will
    run on, terms on tag, property and metric rows are written for it (``having``)."""
    if not isinstance(expression, str):
        raise ValidationError("The filter must be a string.", field="filter")
    if len(expression) > MAX_LENGTH:
        raise ValidationError(
            f"The filter is {len(expression)} characters long; the limit is {MAX_LENGTH}.",
            field="filter",
        )
    validation.text(expression, "filter", max_length=MAX_LENGTH)
    depth = 0
    for i, char in enumerate(expression):
        depth += char == "("
        depth -= char == ")"
        if depth > MAX_DEPTH:
            raise _pointed(expression, f"Parentheses nest deeper than {MAX_DEPTH}", i + 1)
    if not expression.strip():
        return Q()
    try:
        tree = _parser.parse(expression)
    except UnexpectedInput as exc:
        column = getattr(exc, "column", 0) or 0
        token = getattr(exc, "token", None)
        if isinstance(token, Token) and token.type == "$END":
            what = "The filter ends too early"
            column = len(expression.rstrip()) + 1
        elif isinstance(token, Token):
            what = f"Unexpected {token.value!r}"
        else:
            char = expression[exc.pos_in_stream] if exc.pos_in_stream is not None else ""
            what = f"Unexpected character {char!r}"
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        hint = f"; expected one of: {', '.join(_readable(e) for e in expected)}" if expected else ""
        raise _pointed(expression, what + hint, column) from None
    _check_nesting(expression, tree)
    try:
        return _Compile(using).transform(tree)
    except Exception as exc:  # lark wraps transformer errors in VisitError
        cause = getattr(exc, "orig_exc", exc)
        if isinstance(cause, _PositionError):
            raise _pointed(expression, cause.message, cause.column) from None
        if isinstance(cause, ValidationError):
            raise cause from None
        raise


def _check_nesting(expression: str, tree: Tree) -> None:
    """A ValidationError pointing at the first part nested deeper than MAX_NESTING
    (walked without recursion, so any depth is measured safely)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            column = getattr(node.meta, "column", 1) if not node.meta.empty else 1
            raise _pointed(expression, f"The filter nests deeper than {MAX_NESTING}", column)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


_NAMES = {
    "OP": "an operator (= != < <= > >= ~)",
    "WORD": "a name",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "DATE": "a date",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "_AND": "and",
    "_OR": "or",
    "_NOT": "not",
    "_IN": "in",
    "_HAS": "has",
    "DOT": "'.'",
}


def _readable(terminal: str) -> str:
    return _NAMES.get(terminal, terminal.lower())


def names_archived(expression: str | None) -> bool:
    """Whether ``expression`` says anything about ``archived``: a list leaves
    archived runs out unless its filter does (one that does not parse says nothing)."""
    if not isinstance(expression, str) or "archived" not in expression.lower():
        return False
    try:
        tree = _parser.parse(expression)
    except UnexpectedInput:
        return False
    for node in tree.iter_subtrees():
        if node.data == "field" and len(node.children) == 1:
            token = node.children[0]
            if token.type == "WORD" and token.value.lower() == "archived":
                return True
    return False


def apply_filter(qs: QuerySet[Run], expression: str | None) -> QuerySet[Run]:
    """Filter a run queryset by an expression of the filter language."""
    if not expression:
        return qs
    q = compile_filter(expression, using=qs.db)
    if "duration" in expression:
        qs = qs.annotate(
            duration=ExpressionWrapper(
                Coalesce(F("ended_at"), Now()) - F("started_at"), output_field=DurationField()
            )
        )
    return qs.filter(q)


def describe() -> dict[str, Any]:
    """The allowlist, for error messages and the search bar's hint."""
    return {
        "fields": [*COLUMNS, "tags.KEY", "properties.KEY", "metrics.NAME[.min|.max]"],
        "flags": sorted(FLAGS),
        "operators": ["=", "!=", "<", "<=", ">", ">=", "~", "in (...)", "has"],
        "combinators": ["and", "or", "not", "( )"],
    }

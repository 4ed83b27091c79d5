"""User markdown to safe HTML: the one place that sanitizes (docs/requirements.md A1-A7).

``render_markdown`` turns a run description into HTML with Python-Markdown and passes
it through ``sanitize``, the only call of ``bleach`` in the project and the only
``mark_safe`` on user data. Templates show the result as it is; they never use
``|safe``. The Content-Security-Policy (nonces, no ``'unsafe-inline'``) is the second
line of defence.

Policy, tested case by case in ``tests/core/test_markdown.py``:

- a small allowlist of tags and attributes; anything else is escaped and shows as
  text, so a ``<script>`` in a description reads as what it is and never runs;
- ``href``/``src`` schemes: ``http``, ``https``, ``mailto`` or none (relative); no
  ``javascript:``, ``vbscript:`` or ``data:`` in any spelling;
- protocol-relative links (``//host``, and ``/\\host`` which browsers read the same
  way) are dropped: an off-site link must say ``https://``;
- links with a scheme get ``rel="noopener noreferrer nofollow"``; ``target`` is
  never allowed;
- a relative link or image that names a file of the run (``outputs/plot.png``)
  points at that file through the access-checked file view; images elsewhere than
  this origin are dropped (the CSP would block them anyway);
- heading ids, and ``#fragment`` links to them, get an ``md-`` prefix so user ids
  can never clobber the page's own elements;
- ``sanitize(sanitize(x)) == sanitize(x)``;
- GitHub-flavoured markdown comes from well-kept extensions (pymdown-extensions:
  fenced code highlighted by Pygments into ``<span class>`` tokens, never inline
  styles, task lists, ``~~strike~~``, bare-URL autolinks). Nested lists follow
  GitHub: an item indented to its parent's text (2 spaces under ``- ``, 3 under
  ``1. ``, or the classic 4) is nested (``_ListIndents``); the tags they add (``div``, ``span``,
  ``input``) carry only the classes and attributes listed below: an ``input`` is
  always a disabled checkbox, whoever wrote it;
- embeds: a ```` ```chart metric=… runs=… smoothing=… ```` block and ``run:<id>`` /
  ``view:<id>`` references are resolved through ``References`` (the web layer's
  access checks): a chart becomes a placeholder the page's script draws, a reference
  a linked card, or plain text when the viewer may not see the object. Bad chart
  parameters render an inline error.

Enabling another markdown extension means re-running the corpus tests
(``attr_list``, for one, emits ``onclick`` before sanitizing).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from html import escape
from typing import Protocol
from urllib.parse import quote, urlsplit

import bleach
import markdown as _markdown
from bleach.html5lib_shim import Filter, convert_entities
from django.utils.safestring import SafeString, mark_safe
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

from studio.errors import StudioError, ValidationError
from studio.rules.filenames import check_file_name

EXTENSION_CONFIGS = {
    "tables": {"use_align_attribute": True},
    # Classes only (the CSP forbids style attributes); the colours are in studio.css.
    "pymdownx.highlight": {"use_pygments": True, "noclasses": False, "guess_lang": False},
    "pymdownx.tilde": {"subscript": False},  # GitHub: ~x~ and ~~x~~ strike, no subscript
    "pymdownx.magiclink": {"hide_protocol": False},
}

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "li", "ol", "p", "pre", "s",
        "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
# The classes the renderer itself writes, per tag; nothing else keeps a class.
_CLASSES = {
    "div": frozenset({"highlight", "md-chart"}),
    "ul": frozenset({"task-list", "md-chart-runs"}),
    "li": frozenset({"task-list-item"}),
    "p": frozenset({"md-embed-error", "md-chart-status"}),
    "a": frozenset({"md-card", "md-card-view"}),
    "span": frozenset(
        {"md-card-name", "md-card-kind", "status", *(f"status-{s}" for s in (
            "running", "queued", "preparing", "starting", "notstarted", "finalizing",
            "completed", "failed", "canceled", "cancelrequested"))}
        | {c for c in STANDARD_TYPES.values() if c}  # Pygments' token classes
    ),
}  # fmt: skip
_SMOOTH = re.compile(r"^(ema:0\.[0-9]{1,3})?$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,299}$")
PROTOCOLS = frozenset({"http", "https", "mailto"})
ID_PREFIX = "md-"

_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+-]{1,40}$")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_C0_AND_SPACE = "".join(chr(i) for i in range(33))


def _allowed_class(tag: str, value: str) -> bool:
    allowed = _CLASSES.get(tag, frozenset())
    names = value.split()
    return bool(names) and all(n in allowed for n in names)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name == "title" and tag in ("a", "abbr", "img"):
        return True
    if name == "class" and tag in _CLASSES:
        return _allowed_class(tag, value)
    if tag == "input":
        # the filter makes it a disabled checkbox and names its state
        return name in ("type", "checked", "disabled", "aria-label")
    if tag == "div" and name in ("data-metric", "data-smooth", "data-log"):
        if name == "data-smooth":
            return bool(_SMOOTH.match(value))
        if name == "data-log":
            return value in ("0", "1")
        return 0 < len(value) <= 255
    if tag == "a" and name == "data-run":
        return bool(_RUN_ID.match(value))
    if tag == "a":
        return name == "href"
    if tag == "img":
        return name in ("src", "alt")
    if tag in _HEADINGS:
        return name == "id"
    if tag == "code":
        return name == "class" and bool(_LANGUAGE.match(value))
    if tag in ("td", "th"):
        return name == "align" and value in ("left", "right", "center")
    if tag == "ol":
        return name == "start" and value.isdigit() and len(value) < 10
    return False


def _url_for_check(value: str) -> str:
    """The URL as a browser will read it from bleach's output: the character
    references bleach keeps decoded (it escapes the ``&`` of any other), tab and
    newline removed, C0 controls and spaces stripped, backslashes read as slashes."""
    value = re.sub(r"[\t\n\r]", "", convert_entities(value)).strip(_C0_AND_SPACE)
    return value.replace("\\", "/")


def _run_file_name(url: str) -> str | None:
    """The run file a relative URL names (``outputs/plot.png``), or None."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.query or parts.fragment:
        return None
    if not parts.path or parts.path.startswith(("/", ".")):
        return None
    try:
        return check_file_name(parts.path)
    except ValidationError:
        return None


def _file_url(run_id: str, name: str, *, inline: bool) -> str:
    url = f"/runs/{quote(run_id, safe='')}/files/{quote(name, safe='/')}"
    return url + "?inline=1" if inline else url


def _make_filter(run_id: str | None) -> type[Filter]:
    class RunLinks(Filter):
        """Runs after bleach's sanitizer: rewrites the URLs and ids it let through."""

        def __iter__(self):
            for token in super().__iter__():
                if token["type"] in ("StartTag", "EmptyTag") and (
                    token.get("data") or token["name"] == "input"
                ):
                    attrs = dict(token.get("data") or {})
                    _fix(token["name"], attrs, run_id)
                    token["data"] = attrs
                yield token

    return RunLinks


def _fix(tag: str, attrs: dict, run_id: str | None) -> None:
    if tag == "input":
        checked = (None, "checked") in attrs
        attrs.clear()
        attrs[(None, "type")] = "checkbox"
        attrs[(None, "disabled")] = ""
        if checked:
            attrs[(None, "checked")] = ""
        # A task's box is read as done / not done; the item's text says what.
        attrs[(None, "aria-label")] = "done" if checked else "not done"
    elif tag in _HEADINGS and (None, "id") in attrs:
        value = attrs[(None, "id")]
        if not value.startswith(ID_PREFIX):
            attrs[(None, "id")] = ID_PREFIX + value
    elif tag == "a" and (None, "href") in attrs:
        href = attrs[(None, "href")]
        seen = _url_for_check(href)
        if seen.startswith("//"):
            del attrs[(None, "href")]
        elif seen.startswith("#"):
            if not seen.startswith("#" + ID_PREFIX):
                attrs[(None, "href")] = "#" + ID_PREFIX + seen[1:]
        elif urlsplit(seen).scheme:
            attrs[(None, "rel")] = "noopener noreferrer nofollow"
        elif run_id and (name := _run_file_name(seen)):
            attrs[(None, "href")] = _file_url(run_id, name, inline=False)
    elif tag == "img" and (None, "src") in attrs:
        src = _url_for_check(attrs[(None, "src")])
        if src.startswith("/") and not src.startswith("//"):
            return  # this origin: another page's file, an icon
        name = _run_file_name(src) if run_id else None
        if name:
            attrs[(None, "src")] = _file_url(run_id, name, inline=True)
        else:
            del attrs[(None, "src")]


def sanitize(markup: str, *, run_id: str | None = None) -> SafeString:
    """HTML from users' markdown, cleaned to the allowlist above. ``run_id`` makes
    relative links and images point at that run's files."""
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[_make_filter(run_id)],
    )
    return mark_safe(cleaner.clean(markup))  # noqa: S308 - the sanitizer's own output


# --- embeds: live charts and references -------------------------------------------------


@dataclass(frozen=True)
class Card:
    """What a ``run:<id>`` or ``view:<id>`` reference shows: a link, a name and a
    status (runs) or the word "view"."""

    url: str
    name: str
    status: str = ""


@dataclass(frozen=True)
class Chart:
    metric: str
    runs: list[tuple[str, str, str]]  # (run id, label, url), readable by the viewer
    smooth: str = ""
    log: bool = False


class References(Protocol):
    """How embeds reach the database, with the viewer's access checks: the web layer
    gives one (``studio.web.descriptions``); without one, references stay text and a
    chart says it is drawn on the run page."""

    def chart(self, params: dict[str, str]) -> Chart:
        """The chart a block's parameters ask for; ``ValidationError`` names a bad one."""

    def run_card(self, run_id: str) -> Card | None: ...

    def view_card(self, view_id: int) -> Card | None: ...


CHART_PARAMS = ("metric", "runs", "smoothing", "log")
_CHART_FENCE = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})chart(?:[ \t]+(?P<params>.*))?$"
)
_ANY_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _chart_error(message: str) -> str:
    return f'<p class="md-embed-error">Chart: {escape(message)}</p>'


def parse_chart_params(source: str) -> dict[str, str]:
    """``key=value`` pairs (shell-quoted values allowed) of a chart block, checked
    against the known keys."""
    try:
        words = shlex.split(source.replace("\n", " "))
    except ValueError as exc:
        raise ValidationError(f"the parameters cannot be read ({exc}).", field="chart") from None
    params: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key not in CHART_PARAMS:
            raise ValidationError(
                f"unknown parameter {word!r}; use {', '.join(k + '=' for k in CHART_PARAMS)}.",
                field="chart",
            )
        params[key] = value
    if not params.get("metric"):
        raise ValidationError("metric= is required (metric=val_loss).", field="metric")
    return params


def _chart_html(chart: Chart) -> str:
    links = "".join(
        f'<li><a href="{escape(url)}" data-run="{escape(run_id)}">{escape(label)}</a></li>'
        for run_id, label, url in chart.runs
    )
    return (
        f'<div class="md-chart" data-metric="{escape(chart.metric)}" '
        f'data-smooth="{escape(chart.smooth)}" data-log="{int(chart.log)}">'
        f'<p class="md-chart-status">Chart of {escape(chart.metric)} for:</p>'
        f'<ul class="md-chart-runs">{links}</ul></div>'
    )


def _card_html(card: Card) -> str:
    if card.status:
        meta = f'<span class="status status-{escape(card.status)}">{escape(card.status)}</span>'
        css = "md-card"
    else:
        meta = '<span class="md-card-kind">view</span>'
        css = "md-card md-card-view"
    name = f'<span class="md-card-name">{escape(card.name)}</span>'
    return f'<a class="{css}" href="{escape(card.url)}">{name} {meta}</a>'


_LIST_ITEM = re.compile(r"^( *)([-*+]|[0-9]{1,9}[.)])( {1,4}|$)")


class _ListIndents(Preprocessor):
    """GitHub's list nesting on Python-Markdown's 4-space one: an item is nested in
    the item above when it is indented at least to that item's text (its content
    column), as CommonMark says, so ``- a`` then ``  - b`` nests as users expect.
    Items and their continuation lines are re-indented to multiples of 4; lines
    outside lists, and fenced code outside lists, are left as they are.
    (mdx_truly_sane_lists takes one fixed indent, which breaks the 4-space lists
    already written.)"""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        stack: list[tuple[int, int]] = []  # per open item: its text column, written and new
        fence = None
        blank_before = False
        for line in lines:
            if fence is not None:  # a fenced block outside any list: untouched
                out.append(line)
                if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                    fence = None
                continue
            if not line.strip():
                out.append(line)
                blank_before = True
                continue
            indent = len(line) - len(line.lstrip(" "))
            item = _LIST_ITEM.match(line)
            if item and (stack or indent < 4):
                while stack and indent < stack[-1][0]:
                    stack.pop()
                new = stack[-1][1] if stack else 0
                written = indent + len(item.group(2)) + (len(item.group(3)) or 1)
                stack.append((written, new + 4))
                out.append(" " * new + line[indent:])
            elif stack and indent > 0:
                while len(stack) > 1 and indent < stack[-1][0]:
                    stack.pop()
                top_written, top_new = stack[-1]
                out.append(" " * max(top_new + indent - top_written, 0) + line[indent:])
            else:
                if blank_before:
                    stack.clear()  # the list ended; without a blank line: a lazy line
                if not stack and (other := _ANY_FENCE.match(line)):
                    fence = other.group(1)
                out.append(line)
            blank_before = False
        return out


class _ChartFences(Preprocessor):
    """```` ```chart metric=x runs=this ```` (the parameters on the fence line, as
    people write them) becomes a fence whose body holds the parameters, the form
    the fenced-code extension passes to ``_ChartFormat``. Other fences are skipped
    whole, so a chart block shown inside a longer fence stays code."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        open_fence = None
        for line in lines:
            if open_fence:
                out.append(line)
                if line.strip().startswith(open_fence) and not line.strip().strip(open_fence[0]):
                    open_fence = None
                continue
            found = _CHART_FENCE.match(line)
            if found:
                out.append(f"{found['indent']}{found['fence']}chart")
                if found["params"] and found["params"].strip():
                    out.append(found["indent"] + found["params"].strip())
                open_fence = found["fence"]
                continue
            other = _ANY_FENCE.match(line)
            if other:
                open_fence = other.group(1)
            out.append(line)
        return out


class _ChartFormat:
    def __init__(self, refs: References | None):
        self.refs = refs

    def __call__(self, source, language, class_name, options, md, **kwargs) -> str:
        try:
            params = parse_chart_params(source)
            if self.refs is None:
                raise ValidationError("charts are drawn on the run page.", field="chart")
            return _chart_html(self.refs.chart(params))
        except StudioError as exc:
            return _chart_error(exc.message)


class _Reference(InlineProcessor):
    """``run:<id>`` and ``view:<id>``: a card when the viewer may see the object,
    else the text as written."""

    PATTERN = r"(?<![\w/:])(run|view):([A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z0-9])"

    def __init__(self, refs: References, md):
        super().__init__(self.PATTERN, md)
        self.refs = refs

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        kind, ident = m.group(1), m.group(2)
        card = None
        if kind == "run" and _RUN_ID.match(ident):
            card = self.refs.run_card(ident)
        elif kind == "view" and ident.isdigit() and len(ident) < 12:
            card = self.refs.view_card(int(ident))
        if card is None:
            return None, None, None
        return self.md.htmlStash.store(_card_html(card)), m.start(0), m.end(0)


class _Embeds(_markdown.Extension):
    def __init__(self, refs: References | None):
        super().__init__()
        self.refs = refs

    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        md.preprocessors.register(_ListIndents(md), "list_indents", 29)
        md.preprocessors.register(_ChartFences(md), "chart_fences", 28)
        if self.refs is not None:
            md.inlinePatterns.register(_Reference(self.refs, md), "references", 65)


def render_markdown(
    text: str, *, run_id: str | None = None, refs: References | None = None
) -> SafeString:
    """A run description (markdown) as safe HTML; ``refs`` resolves its embeds."""
    if not text:
        return SafeString("")
    configs = dict(EXTENSION_CONFIGS)
    configs["pymdownx.superfences"] = {
        "custom_fences": [
            {"name": "chart", "class": "md-chart", "format": _ChartFormat(refs)},
        ]
    }
    markup = _markdown.markdown(
        text,
        extensions=[
            "tables",
            "toc",
            "pymdownx.highlight",
            "pymdownx.superfences",
            "pymdownx.tasklist",
            "pymdownx.tilde",
            "pymdownx.magiclink",
            "sane_lists",
            _Embeds(refs),
        ],
        extension_configs=configs,
        output_format="html",
    )
    return sanitize(markup, run_id=run_id)


# --- markup built from code (the runs table's cells) --------------------------------------


def _conditional_escape(value) -> str:
    """What Django's ``conditional_escape`` gives: markup as it is, anything else escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


def format_markup(template: str, *args) -> SafeString:
    """``format_html`` (every argument escaped unless it is markup already) without its
    lazy-string wrappers, which cost more than the escaping on a runs page's ~600
    cells. ``template`` is the caller's own markup, never user text."""
    return SafeString(template.format(*map(_conditional_escape, args)))


def join_markup(pieces) -> SafeString:
    """Pieces as one piece of markup: markup kept, anything else escaped."""
    return SafeString("".join(map(_conditional_escape, pieces)))

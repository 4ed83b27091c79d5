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
- ``sanitize(sanitize(x)) == sanitize(x)``.

Enabling another markdown extension means re-running the corpus tests
(``attr_list``, for one, emits ``onclick`` before sanitizing).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import bleach
import markdown as _markdown
from bleach.html5lib_shim import Filter, convert_entities
from django.utils.safestring import SafeString, mark_safe

from studio.errors import ValidationError
from studio.rules.filenames import check_file_name

EXTENSIONS = ["fenced_code", "tables", "sane_lists", "toc"]
EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
        "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
PROTOCOLS = frozenset({"http", "https", "mailto"})
ID_PREFIX = "md-"

_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+-]{1,40}$")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_C0_AND_SPACE = "".join(chr(i) for i in range(33))


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name == "title" and tag in ("a", "abbr", "img"):
        return True
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
                if token["type"] in ("StartTag", "EmptyTag") and token.get("data"):
                    attrs = dict(token["data"])
                    _fix(token["name"], attrs, run_id)
                    token["data"] = attrs
                yield token

    return RunLinks


def _fix(tag: str, attrs: dict, run_id: str | None) -> None:
    if tag in _HEADINGS and (None, "id") in attrs:
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


def render_markdown(text: str, *, run_id: str | None = None) -> SafeString:
    """A run description (markdown) as safe HTML."""
    if not text:
        return SafeString("")
    markup = _markdown.markdown(
        text,
        extensions=EXTENSIONS,
        extension_configs=EXTENSION_CONFIGS,
        output_format="html",
    )
    return sanitize(markup, run_id=run_id)

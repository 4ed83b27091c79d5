"""The one sanitizer, against the XSS corpus of docs/requirements.md (A1-A6) and the features a
description needs: images of the run, deep links, anchors, tables, code.

Every output is parsed by two HTML parsers (Python's ``html.parser`` and the HTML5
parser html5lib, which bleach vendors) and checked node by node: no tag outside the
allowlist, no ``on*`` or ``style`` attribute, and every URL's scheme, read as the
WHATWG URL parser reads it, empty or one of http, https, mailto."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bleach._vendor import html5lib

from studio.core.markdown import ALLOWED_TAGS, render_markdown, sanitize

ROOT = Path(__file__).resolve().parents[2]
SAFE_SCHEMES = {"", "http", "https", "mailto"}
RUN = "explore-runs_1700000000_0a1b2c3d"

A1 = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<p onclick=alert(1)>click</p>",
    '<a onmouseover="alert(1)" href="https://ok.example">hover</a>',
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
]
A2 = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java&#9;script:alert(1))",
    "[x](java&#10;script:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">raw</a>',
    '<a href="jav&#x09;ascript:alert(1)">raw</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">raw</a>',
    '<a href=" &#14;  javascript:alert(1)">raw</a>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
]
A3 = [
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="//evil.example"><input type=password name=p></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="//evil.example/">',
    "<style>body{background:red}</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<template><script>alert(1)</script></template>",
]
A4 = [
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    # bleach CVE-2020-6802: noscript/style/script with strip=False
    "<noscript><style></noscript><img src=x onerror=alert(1)>",
    # bleach CVE-2020-6816: math/svg raw-text switching
    "<math><style><img src=x onerror=alert(1)></style></math>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    # bleach CVE-2021-23980: select/template/noscript mXSS chains
    '<select><template><style><!--</style><a rel="--></style><img src=x onerror=alert(1)>">',
    '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=alert(1) src=1>">',
    "<table><caption><svg><desc><p><style><img src=x onerror=alert(1)></style></p></desc></svg>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
]
A5 = [
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    'text\n{: onclick="alert(1)" }',
    "# Title {: onclick=alert(1) }",
    '<div markdown="1">*hi* <b onclick=alert(1)>x</b></div>',
    '<a href="https://ok.example" target="_blank">new tab</a>',
    "[protocol-relative](//evil.example/path)",
    "[backslash](/\\evil.example/path)",
    "[backslash2](\\\\evil.example/path)",
    "[tab-slash](/\t/evil.example)",
]
A6 = ["{{ 7*7 }}", "{% debug %}", "{{ request }}", "{% load static %}{% static 'x' %}"]
CORPUS = A1 + A2 + A3 + A4 + A5 + A6


# --- the checker ---------------------------------------------------------------------


def _as_browser_reads(url: str) -> str:
    """WHATWG URL parsing: leading/trailing C0 controls and spaces stripped, then every
    tab and newline removed (html.parser has already decoded character references)."""
    url = url.strip("".join(chr(i) for i in range(33)))
    return re.sub(r"[\t\n\r]", "", url)


def _check_url(url: str) -> None:
    seen = _as_browser_reads(url)
    scheme = urlsplit(seen).scheme.lower()
    assert scheme in SAFE_SCHEMES, f"dangerous URL {url!r}"
    assert not seen.replace("\\", "/").startswith("//"), f"protocol-relative URL {url!r}"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.nodes.append((tag, attrs))

    handle_startendtag = handle_starttag


def _nodes_stdlib(html: str):
    parser = _Collect()
    parser.feed(html)
    parser.close()
    return parser.nodes


def _nodes_html5(html: str):
    fragment = html5lib.parseFragment(html, namespaceHTMLElements=False)
    for element in fragment.iter():
        if isinstance(element.tag, str):
            yield element.tag, list(element.attrib.items())


def assert_safe(html: str) -> None:
    for nodes in (_nodes_stdlib(html), list(_nodes_html5(html))):
        for tag, attrs in nodes:
            if tag == "DOCUMENT_FRAGMENT":
                continue
            assert tag in ALLOWED_TAGS, f"tag <{tag}> survived in {html!r}"
            for name, value in attrs:
                assert not name.lower().startswith("on"), f"{name} survived in {html!r}"
                assert name.lower() not in ("style", "target", "srcdoc", "formaction")
                if name.lower() in ("href", "src"):
                    _check_url(value or "")


# --- the corpus ------------------------------------------------------------------------


@pytest.mark.parametrize("payload", A1)
def test_A1_scripts_and_event_handlers_never_survive(payload):
    html = render_markdown(payload, run_id=RUN)
    assert_safe(html)
    assert "<script" not in html.lower()


def test_A1_the_raw_markdown_is_kept_and_rendered_on_read(run):
    from studio.tracking import services

    services.run_update(run=run, description="<script>alert(1)</script> **bold**")
    run.refresh_from_db()
    assert run.description == "<script>alert(1)</script> **bold**"
    html = render_markdown(run.description)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
    assert "<strong>bold</strong>" in html


@pytest.mark.parametrize("payload", A2)
def test_A2_only_http_https_mailto_or_relative_urls_survive(payload):
    html = render_markdown(payload, run_id=RUN)
    assert_safe(html)


@pytest.mark.parametrize("payload", A3)
def test_A3_raw_html_blocks_are_removed(payload):
    assert_safe(render_markdown(payload, run_id=RUN))


def test_A3_the_dangerous_tags_are_not_in_the_allowlist():
    dangerous = {
        "script", "svg", "math", "iframe", "form", "meta", "base", "style",
        "object", "embed", "link", "template", "noscript", "textarea", "select", "button",
        "frame", "frameset", "applet", "audio", "video", "source",
    }  # fmt: skip
    assert not dangerous & ALLOWED_TAGS


@pytest.mark.parametrize(
    "payload",
    [
        "<input type=text name=password value=x>",
        "<input>",
        '<input type="submit" formaction="javascript:alert(1)" onclick="alert(1)">',
        '<input type="image" src="javascript:alert(1)">',
        "- [ ] <input type=password>",
    ],
)
def test_A3_an_input_is_always_a_disabled_checkbox(payload):
    html = render_markdown(payload, run_id=RUN)
    assert_safe(html)
    for tag, attrs in _nodes_stdlib(html):
        if tag == "input":
            assert dict(attrs).keys() <= {"type", "disabled", "checked", "aria-label"}
            assert dict(attrs)["type"] == "checkbox" and "disabled" in dict(attrs)
            # its name is the renderer's, whatever the author wrote
            assert dict(attrs).get("aria-label") == (
                "done" if "checked" in dict(attrs) else "not done"
            )
    assert sanitize(html, run_id=RUN) == html


@pytest.mark.parametrize(
    "payload",
    [
        '<div class="topbar" style="x" onclick="alert(1)">x</div>',
        '<span class="btn btn-primary">x</span>',
        '<div class="md-chart evil">x</div>',
        '<div data-metric="x" data-smooth="javascript:alert(1)" data-log="2">x</div>',
        '<a data-run="../../x" href="/x">x</a>',
        '<div data-bind="x">x</div>',
    ],
)
def test_A3_div_and_span_keep_only_the_renderers_own_classes_and_data(payload):
    html = render_markdown(payload, run_id=RUN)
    assert_safe(html)
    for bad in ("topbar", "btn", "evil", "javascript", 'data-log="2"', "data-run", "data-bind"):
        assert bad not in html, html


@pytest.mark.parametrize("payload", A4)
def test_A4_mutation_xss_is_safe_and_sanitizing_is_idempotent(payload):
    once = sanitize(payload)
    assert_safe(once)
    assert sanitize(once) == once
    rendered = render_markdown(payload, run_id=RUN)
    assert_safe(rendered)
    assert sanitize(rendered, run_id=RUN) == rendered


@pytest.mark.parametrize("payload", CORPUS)
def test_A4_every_output_of_the_corpus_is_a_fixed_point(payload):
    rendered = render_markdown(payload, run_id=RUN)
    assert sanitize(rendered, run_id=RUN) == rendered


@pytest.mark.parametrize("payload", A5)
def test_A5_markdown_extensions_emit_no_event_attribute_and_no_target(payload):
    html = render_markdown(payload, run_id=RUN)
    assert_safe(html)  # an "onmouseover=" left inside an escaped title is only text
    names = {name for _, attrs in _nodes_stdlib(html) for name, _ in attrs}
    assert names <= {"href", "rel", "title", "id", "alt", "src"}


def test_A5_links_with_a_scheme_get_noopener_and_no_target():
    html = render_markdown('<a href="https://ok.example/x" target="_blank">x</a>')
    assert 'href="https://ok.example/x"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "target" not in html


def test_A5_protocol_relative_links_are_dropped_by_policy():
    payloads = (
        "[a](//evil.example/p)",
        "[a](/\\evil.example/p)",
        '<a href="\\\\evil.example/p">a</a>',
        '<a href="/&#9;/evil.example">a</a>',
    )
    for payload in payloads:
        html = render_markdown(payload)
        assert_safe(html)
        assert "<a>a</a>" in html, html


@pytest.mark.parametrize("payload", A6)
def test_A6_template_syntax_is_rendered_literally(payload):
    html = render_markdown(payload)
    text = re.sub(r"<[^>]+>", "", html).replace("&#x27;", "'").replace("&quot;", '"')
    assert payload.replace("'", "'") in text
    assert "49" not in text


# --- what a description needs --------------------------------------------------------------


def test_an_image_of_the_run_points_at_the_access_checked_file_view():
    html = render_markdown("![loss curve](outputs/plots/loss curve.png)", run_id=RUN)
    assert f'src="/runs/{RUN}/files/outputs/plots/loss%20curve.png?inline=1"' in html
    assert 'alt="loss curve"' in html


def test_a_relative_link_to_an_output_points_at_its_download():
    html = render_markdown("[weights](outputs/model.pkl)", run_id=RUN)
    assert f'href="/runs/{RUN}/files/outputs/model.pkl"' in html


def test_a_relative_name_that_is_not_a_valid_file_name_is_not_rewritten_into_a_file_url():
    html = render_markdown("![x](../../etc/passwd) [y](../other_run/)", run_id=RUN)
    assert "/files/" not in html
    assert 'href="../other_run/"' in html  # a relative deep link, same origin


def test_images_from_other_origins_are_dropped():
    html = render_markdown("![x](https://tracker.example/pixel.gif)", run_id=RUN)
    assert "tracker.example" not in html
    assert "<img" in html and "src=" not in html


def test_deep_links_to_runs_views_and_anchors_work():
    text = (
        "# Results\n\nSee [the baseline](/runs/logreg_1_abcdef01/?tab=metrics), "
        "[my view](/runs/?view=12) and [below](#results).\n"
    )
    html = render_markdown(text, run_id=RUN)
    assert '<h1 id="md-results">Results</h1>' in html
    assert 'href="/runs/logreg_1_abcdef01/?tab=metrics"' in html
    assert 'href="/runs/?view=12"' in html
    assert 'href="#md-results"' in html


def test_user_ids_are_prefixed_so_they_cannot_clobber_page_elements():
    html = render_markdown('<h2 id="csrfmiddlewaretoken">x</h2><p id="main">y</p>')
    assert 'id="md-csrfmiddlewaretoken"' in html
    assert 'id="main"' not in html


def test_tables_code_and_lists_render():
    text = "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n1. one\n2. two\n"
    html = render_markdown(text)
    assert '<th align="left">a</th>' in html and '<td align="right">2</td>' in html
    assert '<div class="highlight"><pre><span></span><code><span class="n">x</span>' in html
    assert "<ol>" in html and "<li>one</li>" in html


def test_mailto_and_https_links_survive():
    html = render_markdown("[mail](mailto:team@example.com) <https://example.com/a?b=1&c=2>")
    assert 'href="mailto:team@example.com"' in html
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""


# --- one sanitizer, no unsafe templates (A6, A7) ----------------------------------------------


def _sources(*folders: str, suffix: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob(f"*{suffix}")]


def test_A7_bleach_and_mark_safe_are_used_in_the_one_sanitizer_only():
    offenders = []
    for path in _sources("studio", suffix=".py"):
        if path == ROOT / "studio/core/markdown.py" or "migrations" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\bimport bleach\b|\bfrom bleach\b|\bmark_safe\(|\bSafeString\(", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_A7_no_template_uses_the_safe_filter_or_turns_autoescape_off():
    offenders = []
    for path in _sources("templates", "studio", suffix=".html"):
        text = path.read_text()
        if re.search(r"\|\s*safe\b|\|\s*safeseq\b|{%\s*autoescape\s+off", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_A6_no_code_compiles_templates_from_strings():
    offenders = []
    for path in _sources("studio", suffix=".py"):
        text = path.read_text()
        if re.search(r"\bTemplate\(|from_string\(|engines\[.*\]\.from_string", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- GitHub-flavoured markdown and embeds (issue 15) -------------------------------------------


def test_fenced_code_is_highlighted_with_classes_never_inline_styles():
    html = render_markdown('```python\ndef f():\n    return "s"  # c\n```')
    assert '<span class="k">def</span>' in html
    assert '<span class="s2">"s"</span>' in html and '<span class="c1"># c</span>' in html
    assert "style=" not in html
    assert_safe(html)


def test_an_unknown_language_is_plain_escaped_code():
    html = render_markdown("```nosuchlang\n<script>alert(1)</script>\n```")
    assert "&lt;script&gt;" in html and "<script" not in html


def test_task_lists_are_disabled_checkboxes():
    html = render_markdown("- [x] done\n- [ ] todo")
    assert '<ul class="task-list">' in html
    assert '<input type="checkbox" disabled checked aria-label="done"> done' in html
    assert '<input type="checkbox" disabled aria-label="not done"> todo' in html


def test_strikethrough_and_bare_url_autolinks():
    html = render_markdown("~~gone~~ see https://example.com/a?b=1 and www.example.org")
    assert "<del>gone</del>" in html
    assert '<a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow">' in html
    assert 'href="http://www.example.org"' in html


def test_a_bare_javascript_url_is_not_autolinked():
    html = render_markdown("javascript:alert(1) and data:text/html,x")
    assert "<a" not in html


@pytest.mark.parametrize("indent", [2, 3, 4])
def test_nested_lists_with_two_three_or_four_spaces(indent):
    pad = " " * indent
    html = render_markdown(f"- one\n{pad}- nested\n{pad}{pad}- deeper\n- two")
    assert re.sub(r"\s", "", html) == (
        "<ul><li>one<ul><li>nested<ul><li>deeper</li></ul></li></ul></li><li>two</li></ul>"
    )


def test_tables_render_with_alignment():
    html = render_markdown("| a | b |\n|:-:|---|\n| `x` | ~~y~~ |")
    assert '<th align="center">a</th>' in html and "<td><del>y</del></td>" in html


# Embeds: a fake References standing in for the web layer's access-checked one.

from studio.core.markdown import Card, Chart, parse_chart_params  # noqa: E402


class Refs:
    def __init__(self):
        self.asked = []

    def chart(self, params):
        self.asked.append(params)
        if params.get("runs") == "nobody":
            raise ValidationError("no run named nobody.", field="runs")
        return Chart(params["metric"], [("r_1", "<b>r1</b>", "/runs/r_1/")], "ema:0.6", False)

    def run_card(self, run_id):
        return (
            Card(f"/runs/{run_id}/", "base <i>line</i>", "completed") if run_id == "ok_1" else None
        )

    def view_card(self, view_id):
        return Card("/runs/?view=3", "shared <view>") if view_id == 3 else None


from studio.errors import ValidationError  # noqa: E402


def test_a_chart_block_renders_a_placeholder_with_checked_data():
    refs = Refs()
    html = render_markdown(
        "```chart metric=val_loss runs=this,parent.children smoothing=0.6\n```", refs=refs
    )
    assert refs.asked == [
        {"metric": "val_loss", "runs": "this,parent.children", "smoothing": "0.6"}
    ]
    assert (
        '<div class="md-chart" data-metric="val_loss" data-smooth="ema:0.6" data-log="0">' in html
    )
    assert '<a href="/runs/r_1/" data-run="r_1">&lt;b&gt;r1&lt;/b&gt;</a>' in html
    assert_safe(html)
    assert sanitize(html) == html


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("```chart\n```", "metric= is required"),
        ("```chart metric=x colour=red\n```", "unknown parameter"),
        ("```chart metric='x\n```", "cannot be read"),
        ("```chart metric=x runs=nobody\n```", "no run named nobody"),
    ],
)
def test_bad_chart_parameters_render_an_inline_error(block, message):
    html = render_markdown(block, refs=Refs())
    assert '<p class="md-embed-error">Chart: ' in html and message in html.replace("&#x27;", "'")
    assert 'md-chart"' not in html


def test_a_chart_block_inside_a_longer_fence_stays_code():
    html = render_markdown("````markdown\n```chart metric=x\n```\n````", refs=Refs())
    assert "md-chart" not in html and "metric=x" in html


def test_chart_params_parse_quoted_values():
    assert parse_chart_params('metric="val loss" runs=this') == {
        "metric": "val loss",
        "runs": "this",
    }


def test_references_become_cards_only_when_resolved():
    html = render_markdown("see run:ok_1, run:hidden_2 and view:3, view:4. `run:ok_1`", refs=Refs())
    assert (
        '<a class="md-card" href="/runs/ok_1/"><span class="md-card-name">base &lt;i&gt;line&lt;/i&gt;'
        '</span> <span class="status status-completed">completed</span></a>'
    ) in html
    assert "run:hidden_2" in html and "view:4" in html
    assert '<a class="md-card md-card-view" href="/runs/?view=3">' in html
    assert "<code>run:ok_1</code>" in html
    assert_safe(html)


def test_without_references_the_text_stays_as_written():
    html = render_markdown("run:ok_1 view:3")
    assert html == "<p>run:ok_1 view:3</p>"

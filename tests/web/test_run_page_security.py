"""Markup in plain-text contexts (docs/requirements.md A7) and the Content-Security-Policy
backstop (A9) on the run page, its fragments and compare."""

from __future__ import annotations

import re

import pytest

from studio.tracking import services
from tests.web.run_page_helpers import PNG, Elements, log_series, upload

PAYLOADS = ['"><img src=x onerror=alert(1)>', "</script><script>alert(1)</script>"]


def _our_scripts_only(html: str) -> None:
    """The only scripts are ours (a static file) or JSON data blocks; no element has
    an event handler; no image comes from user text."""
    elements = Elements(html)
    for attrs in elements.find("script"):
        assert (attrs.get("src") or "").startswith("/static/") or attrs.get(
            "type"
        ) == "application/json"
    for tag, attrs in elements.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("/runs/") and "onerror" not in attrs
    assert "<script>alert(1)" not in html


@pytest.fixture
def hostile_run(experiment):
    """A run whose every user-given text holds markup."""
    payload = PAYLOADS[0] + PAYLOADS[1]
    run = services.run_create(experiment=experiment, submitted_by="bob", display_name=payload)
    services.run_set_tags(run=run, tags={payload: payload, "key-only " + PAYLOADS[1]: None})
    services.run_add_properties(run=run, properties={payload: payload})
    log_series(run, "loss" + PAYLOADS[1], [1.0, 2.0])
    services.metric_log_batch(
        run=run,
        batch_id="records",
        records=[
            {
                "name": "rows" + PAYLOADS[0],
                "kind": "row",
                "data": {"col" + PAYLOADS[0]: PAYLOADS[1]},
            },
            {"name": "list", "kind": "list", "data": [PAYLOADS[0]]},
        ],
    )
    upload(run, "outputs/" + PAYLOADS[0].replace("/", "_") + ".txt", PAYLOADS[1].encode())
    upload(run, "logs/std_log.txt", (PAYLOADS[0] + "\n" + PAYLOADS[1] + "\n").encode())
    upload(run, "images/x.png", PNG)
    child = services.run_create(
        experiment=experiment, submitted_by="bob", parent=run, display_name=payload
    )
    log_series(child, "loss" + PAYLOADS[1], [0.5])
    return run


@pytest.mark.parametrize("tab", ["overview", "metrics", "children", "outputs", "snapshot"])
def test_A7_markup_in_names_tags_properties_metrics_and_files_stays_text(
    client, member, hostile_run, tab
):
    client.force_login(member)
    response = client.get(f"/runs/{hostile_run.run_id}/", {"tab": tab})
    assert response.status_code == 200
    html = response.content.decode()
    _our_scripts_only(html)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "&lt;img src=x onerror=alert(1)&gt;" in title


def test_A7_metric_names_in_embedded_chart_json_cannot_close_the_script(
    client, member, hostile_run
):
    client.force_login(member)
    html = client.get(f"/runs/{hostile_run.run_id}/", {"tab": "metrics"}).content.decode()
    data = html.split('<script id="figure-0" type="application/json">', 1)[1].split("</script>", 1)[
        0
    ]
    assert "<" not in data  # json_script escapes every <, so no </script> inside
    # The name is there, entity-escaped for plotly (A7), and json_script escaped its &.
    assert "\\u0026lt;/script\\u0026gt;" in data


def test_A7_fragments_and_json_escape_user_text(client, member, hostile_run, experiment):
    client.force_login(member)
    base = f"/runs/{hostile_run.run_id}"
    for url in (f"{base}/children/", f"{base}/?section=tags", f"{base}/?section=name"):
        _our_scripts_only(client.get(url).content.decode())
    log = client.get(f"{base}/log/", {"name": "logs/std_log.txt"})
    assert log["Content-Type"] == "application/json"
    assert (
        log.json()["text"] == PAYLOADS[0] + "\n" + PAYLOADS[1] + "\n"
    )  # text, shown by textContent
    other = services.run_create(experiment=experiment, submitted_by="bob")
    _our_scripts_only(
        client.get("/compare/", {"runs": f"{hostile_run.run_id},{other.run_id}"}).content.decode()
    )


def test_A7_the_page_script_inserts_user_values_as_text_only():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static/studio/js/run.js").read_text()
    assert "innerHTML" not in script and "outerHTML" not in script
    assert "insertAdjacentHTML" not in script and "document.write" not in script
    assert "eval(" not in script and "new Function" not in script


# --- A9: the CSP -------------------------------------------------------------------------------


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in header.split("; ")
    }


def test_A9_every_page_has_a_strict_policy_with_a_fresh_nonce(client, member, run, experiment):
    other = services.run_create(experiment=experiment, submitted_by="bob")
    log_series(run, "loss", [1.0])
    client.force_login(member)
    urls = [
        f"/runs/{run.run_id}/?tab={t}"
        for t in ("overview", "metrics", "children", "outputs", "snapshot")
    ]
    urls.append(f"/compare/?runs={run.run_id},{other.run_id}")
    nonces = set()
    for url in urls:
        response = client.get(url)
        policy = _policy(response)
        nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
        nonces.add(nonce)
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]
        assert policy["script-src"].startswith("'self'")
        assert policy["style-src"] == "'self'"
        assert (policy["object-src"], policy["base-uri"], policy["frame-ancestors"]) == (
            "'none'", "'none'", "'none'"
        )  # fmt: skip
        for attrs in Elements(response.content.decode()).find("script"):
            if attrs.get("src"):
                assert attrs.get("nonce") == nonce
    assert len(nonces) == len(urls)  # a new nonce for every response


def test_A9_fragments_have_the_policy_too(client, member, run):
    client.force_login(member)
    for url in (f"/runs/{run.run_id}/children/", f"/runs/{run.run_id}/?section=tags"):
        response = client.get(url)
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_A9_user_files_get_their_own_sandbox_policy(client, member, run):
    upload(run, "outputs/a.txt", b"x")
    client.force_login(member)
    response = client.get(f"/runs/{run.run_id}/files/outputs/a.txt")
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_plotly_honours_the_elements_that_keep_it_from_injecting_styles():
    """plotly.js skips its <style> injection when an element with its id and the class
    no-inline-styles exists, and skips maplibre's when an element with that id exists:
    the pages carry both. A new plotly version that changed either fails here."""
    from pathlib import Path

    import plotly

    from studio.web.charts import PLOTLY_MAPLIBRE_STYLE_ID

    bundle = (Path(plotly.__file__).parent / "package_data/plotly.min.js").read_text()
    assert 'matches(".no-inline-styles")' in bundle
    assert '"plotly.js-style-"' in bundle
    assert f'getElementById("{PLOTLY_MAPLIBRE_STYLE_ID}")' in bundle
    injected = re.findall(
        r'getElementById\("([0-9a-f]{64})"\)\)\{var \w=document\.createElement\("style"\)', bundle
    )
    assert injected == [PLOTLY_MAPLIBRE_STYLE_ID]

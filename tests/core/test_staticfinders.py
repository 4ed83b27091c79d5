"""plotly.js is served from our own origin, taken from the installed plotly package."""

from pathlib import Path

import plotly
from django.contrib.staticfiles import finders


def test_plotly_is_found_as_a_vendored_static_file():
    found = finders.find("vendor/plotly.min.js")
    assert found == str(Path(plotly.__file__).parent / "package_data/plotly.min.js")


def test_plotly_is_served_under_static_vendor_without_a_cdn(client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")


def test_an_unknown_vendor_file_is_not_found():
    assert finders.find("vendor/../settings.py") is None
    assert finders.find("vendor/jquery.js") is None

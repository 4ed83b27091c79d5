"""The README's v1 compatibility table is the code's: rendered from
``studio.sdk.compat.V1`` and checked against what ``studio.sdk`` holds."""

from pathlib import Path

import pytest

from studio.sdk import compat

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- v1-compat:start -->", "<!-- v1-compat:end -->"


@pytest.mark.parametrize(
    "name", [n for n in compat.V1 if n.status != compat.NOT_SUPPORTED], ids=lambda n: n.v1
)
def test_a_name_marked_supported_or_recorded_is_in_studio_sdk(name):
    assert compat.resolve(name.studio) is not None
    assert name.v1.rsplit(".", 1)[-1] == name.studio.rsplit(".", 1)[-1]  # v1's own name


@pytest.mark.parametrize(
    "name", [n for n in compat.V1 if n.status == compat.NOT_SUPPORTED], ids=lambda n: n.v1
)
def test_a_name_marked_not_supported_is_not_stubbed(name):
    last = name.v1.rsplit(".", 1)[-1]
    with pytest.raises(AttributeError):
        compat.resolve(last)
    assert name.note, "say what to do instead"


def test_the_readme_holds_the_table_as_rendered():
    text = README.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == compat.markdown().strip(), (
        "README's v1 table is stale: paste `python -m studio.sdk.compat` between the markers"
    )


def test_every_v1_name_is_listed_once():
    names = [n.v1 for n in compat.V1]
    assert len(names) == len(set(names))

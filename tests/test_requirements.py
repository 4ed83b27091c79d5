"""Every requirement code the code and tests cite can be looked up in the repository:
docs/requirements.md lists each one with its text."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "requirements.md"
# As comments and docstrings cite them: a catalogue row (a letter A-G and a digit), a
# lesson of section 0 of the reliability catalogue, or a section of the specification.
CITED = re.compile(r"\b[A-G][1-9]\b|§0\.\d+|SPEC §\d+")
# As test names cite them, in either case.
TEST_NAME = re.compile(r"def test_([A-Ga-g][1-9])_")
# The first cell of each row of the catalogue's tables.
LISTED = re.compile(r"^\| ((?:SPEC )?§?[\w.]+) \|", re.M)


def _cited() -> dict[str, set[str]]:
    """Code -> the files citing it."""
    cited: dict[str, set[str]] = {}
    for top in ("studio", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            codes = set(CITED.findall(text)) | {c.upper() for c in TEST_NAME.findall(text)}
            for code in codes:
                cited.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_every_code_cited_in_studio_and_tests_is_in_the_catalogue():
    listed = set(LISTED.findall(CATALOGUE.read_text(encoding="utf-8")))
    cited = _cited()
    assert {"A7", "C3", "§0.9", "SPEC §4"} <= set(cited)  # the scan finds citations
    missing = {code: sorted(files) for code, files in cited.items() if code not in listed}
    assert missing == {}

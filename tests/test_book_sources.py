"""The book's MyST sources, checked without building the book."""
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
# The code area of a chapter holds 78 characters in a 1280-px browser window
# (measured in Chromium with the book's theme and the 13.5-px code type set in
# book/_static/course.css); longer lines scroll sideways.
MAX_CODE_LINE = 78
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", sorted(p.name for p in BOOK.glob("*.md")))
def test_code_cells_fit_the_page_width(page):
    """Does every line of every code cell fit without sideways scrolling?"""
    text = (BOOK / page).read_text(encoding="utf-8")
    too_long = [line for cell in CELL.findall(text) for line in cell.splitlines()
                if len(line) > MAX_CODE_LINE]
    assert not too_long, (f"{len(too_long)} code line(s) in {page} are longer than "
                          f"{MAX_CODE_LINE} characters, e.g. {too_long[0]!r}")

"""The book's MyST sources, checked without building the book."""
import re
from pathlib import Path

import pytest

from tests.helpers import describes_a_figure

BOOK = Path(__file__).resolve().parents[1] / "book"
# The code area of a chapter holds 78 characters in a 1280-px browser window
# (measured in Chromium with the book's theme and the 13.5-px code type set in
# book/_static/course.css); longer lines scroll sideways.
MAX_CODE_LINE = 78
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)
OPTIONS = re.compile(r"\A---\n.*?^---\n", re.S | re.M)


@pytest.mark.parametrize("page", sorted(p.name for p in BOOK.glob("*.md")))
def test_code_cells_fit_the_page_width(page):
    """Does every line of every code cell fit without sideways scrolling?"""
    text = (BOOK / page).read_text(encoding="utf-8")
    # A cell's option block (between --- lines at its top: figure captions,
    # alt text, tags) is not shown on the page.
    code = [OPTIONS.sub("", cell, count=1) for cell in CELL.findall(text)]
    too_long = [line for cell in code for line in cell.splitlines() if len(line) > MAX_CODE_LINE]
    assert not too_long, (f"{len(too_long)} code line(s) in {page} are longer than "
                          f"{MAX_CODE_LINE} characters, e.g. {too_long[0]!r}")


# ---------------------------------------------------------------------------
# Issue 19: exercises offer a hint before the solution; chapters link to the
# assignment that practises them; figures have a caption and alt text.
# ---------------------------------------------------------------------------
ZH = BOOK / "zh"
CHAPTERS = sorted(p.name for p in BOOK.glob("0*.md"))
EDITIONS = [("en", BOOK, "Hint", "Solution"), ("zh", ZH, "提示", "参考答案")]
DROPDOWN = re.compile(r"^:::+\{admonition\} *(.*?)\s*$", re.M)
FIGURE_OPTIONS = re.compile(r"^```\{code-cell\}[^\n]*\n---\n(.*?)^---$", re.S | re.M)


@pytest.mark.parametrize("edition, folder, hint, solution", EDITIONS, ids=[e[0] for e in EDITIONS])
@pytest.mark.parametrize("page", CHAPTERS)
def test_every_solution_follows_a_hint(page, edition, folder, hint, solution):
    """Between two solutions (or before the first) there is a hint dropdown."""
    text = (folder / page).read_text(encoding="utf-8")
    titles = [t for t in DROPDOWN.findall(text) if t in (hint, solution)]
    assert solution in titles, f"{edition}/{page} has no exercise solutions"
    missing = [i for i, t in enumerate(titles) if t == solution and (i == 0 or titles[i - 1] != hint)]
    assert not missing, (f"{edition}/{page}: {len(missing)} of {titles.count(solution)} "
                         f"solutions have no '{hint}' dropdown before them")


@pytest.mark.parametrize("folder", [BOOK, ZH], ids=["en", "zh"])
@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_links_to_its_assignment(page, folder):
    """Each chapter names the graded assignment that practises it (the
    {assignment} role of book/_ext/course_launch.py checks that it exists)."""
    text = (folder / page).read_text(encoding="utf-8")
    assert re.search(r"\{assignment\}`[^`]+`", text), f"{page} links to no assignment"


@pytest.mark.parametrize("folder", [BOOK, ZH], ids=["en", "zh"])
@pytest.mark.parametrize("page", CHAPTERS + ["intro.md"])
def test_figure_options_name_a_caption_and_alt_text(page, folder):
    """A code cell that declares a figure gives it a name, a caption and alt text."""
    import yaml

    for block in FIGURE_OPTIONS.findall((folder / page).read_text(encoding="utf-8")):
        options = (yaml.safe_load(block) or {}).get("mystnb", {})
        if "figure" not in options:
            continue
        figure, image = options["figure"], options.get("image", {})
        where = f"{folder.name}/{page} figure {figure.get('name')!r}"
        assert str(figure.get("name", "")).startswith("fig-"), f"{where}: name it fig-..."
        assert figure.get("caption"), f"{where}: no caption"
        alt = str(image.get("alt", ""))
        assert describes_a_figure(alt), \
            f"{where}: alt text {alt!r} does not describe the figure"


@pytest.mark.parametrize("target, ok", [("Assignment 1 <a1_knn_linear>", True), ("a9_nothing", False)])
def test_assignment_role_links_the_released_notebook_or_fails_the_build(tmp_path, target, ok):
    """{assignment}`Title <folder>` (book/_ext/course_launch.py) links to the
    folder's notebook on GitHub; a folder that does not exist is an error."""
    from sphinx.cmd.build import build_main

    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        "extensions = ['myst_parser', 'course_launch']\n"
        "html_theme_options = {'repository_url': 'https://github.com/o/r', "
        "'repository_branch': 'main'}\nsuppress_warnings = ['config']\n")
    (tmp_path / "index.md").write_text(f"# T\n\nPractise it: {{assignment}}`{target}`.\n")
    warnings = tmp_path / "warnings.txt"
    build_main(["-q", "-b", "html", "-w", str(warnings), str(tmp_path), str(tmp_path / "_b")])
    html = (tmp_path / "_b" / "index.html").read_text(encoding="utf-8")
    link = ('href="https://github.com/o/r/blob/main/assignments/a1_knn_linear/'
            'a1_knn_linear.ipynb">Assignment 1</a>')
    if ok:
        assert link in html and "assignment" not in warnings.read_text()
    else:
        assert "assignments/a9_nothing/a9_nothing.ipynb does not exist" in warnings.read_text()

"""Tests for course_lib.bookfigures: figure text scaled to the book's column while it is built."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from course_lib import bookfigures  # noqa: E402
from course_lib.bookfigures import COLUMN_INCHES, MAX_SCALE, font_scale, prepare  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_rc(monkeypatch):
    """Each test starts from matplotlib's defaults and a hook that remembers nothing."""
    monkeypatch.setattr(bookfigures, "_written", {})
    monkeypatch.setattr(bookfigures, "_base", {})
    with mpl.rc_context(rc=mpl.rcParamsDefault):
        mpl.rcParams["backend"] = "Agg"
        mpl.rcParams["figure.hooks"] = ["course_lib.bookfigures:prepare"]
        yield
    plt.close("all")


@pytest.fixture
def book_build(monkeypatch):
    monkeypatch.setenv("COURSE_BOOK_BUILD", "1")


def png_text(fig, dpi=200):
    """The text chunks and width of the PNG the inline backend would make of ``fig``."""
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="png", dpi=dpi, bbox_inches="tight")
    buf.seek(0)
    with Image.open(buf) as im:
        return dict(im.text), im.size[0]


def test_font_scale_grows_with_width_up_to_the_cap():
    """Is the factor 1 for figures that fit the column, proportional beyond, capped?"""
    assert font_scale(6.0) == 1.0
    assert font_scale(COLUMN_INCHES) == 1.0
    assert font_scale(1.5 * COLUMN_INCHES) == pytest.approx(1.5)
    assert font_scale(100.0) == MAX_SCALE


def test_scaled_text_reaches_the_target_in_the_column():
    """Does 10-pt text in a figure one factor wider still show at MIN_TEXT_PX in 688 px?"""
    width = 1.3 * COLUMN_INCHES
    shown_px = 10 * font_scale(width) / 72 * bookfigures.COLUMN_PX / width
    assert shown_px == pytest.approx(bookfigures.MIN_TEXT_PX)


def test_hook_does_nothing_outside_the_book_build(monkeypatch):
    """Without COURSE_BOOK_BUILD, are a wide figure's fonts and PNG left as they are?"""
    monkeypatch.delenv("COURSE_BOOK_BUILD", raising=False)
    fig, ax = plt.subplots(figsize=(16, 3))
    ax.set_title("wide")
    assert mpl.rcParams["font.size"] == 10.0
    info, _ = png_text(fig)
    assert not any(k.startswith("course:") for k in info)


def test_wide_figure_gets_larger_rc_fonts_and_narrow_one_gets_them_back(book_build):
    """Are rc font sizes scaled for a 16-inch figure and back to the chapter's for a 6-inch one?"""
    mpl.rcParams["axes.titlesize"] = 11           # as the chapters set it
    plt.subplots(figsize=(16, 3))
    scale = font_scale(16)
    assert scale > 1
    assert mpl.rcParams["font.size"] == pytest.approx(10 * scale, abs=0.01)
    assert mpl.rcParams["axes.titlesize"] == pytest.approx(11 * scale, abs=0.01)
    assert mpl.rcParams["xtick.labelsize"] == "medium"   # relative: follows font.size
    plt.subplots(figsize=(6, 3))
    assert mpl.rcParams["font.size"] == 10
    assert mpl.rcParams["axes.titlesize"] == 11


def test_a_size_the_chapter_sets_between_figures_becomes_the_new_base(book_build):
    """After a wide figure, does a chapter's own rcParams change win over the hook's value?"""
    plt.subplots(figsize=(16, 3))
    mpl.rcParams["font.size"] = 12
    plt.subplots(figsize=(6, 3))
    assert mpl.rcParams["font.size"] == 12


def test_png_records_the_drawn_text_sizes(book_build):
    """Does the PNG carry the smallest and median text height in its own pixels?"""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    ax.text(0.5, 0.5, "small", fontsize=8)
    info, width = png_text(fig, dpi=200)
    assert float(info["course:text-min-px"]) == pytest.approx(8 * 200 / 72, rel=1e-3)
    assert float(info["course:text-median-px"]) == pytest.approx(10 * 200 / 72, rel=1e-3)
    assert info["course:figure-width-in"] == "6.00"
    assert width > 600


def test_hidden_and_empty_text_is_not_counted(book_build):
    """Are axes turned off (images) and empty strings left out of the record?"""
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow([[0, 1], [1, 0]])
    ax.axis("off")
    ax.set_title("")
    info, _ = png_text(fig)
    assert info["course:text-count"] == "0"
    assert "course:text-min-px" not in info


def test_a_closed_figure_still_records_its_text(book_build):
    """Does a figure closed before it is shown (as explore() returns it) keep the record?"""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.set_title("closed")
    plt.close(fig)
    info, _ = png_text(fig)
    assert float(info["course:text-count"]) > 0
    assert "course:text-min-px" in info

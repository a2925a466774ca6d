"""Tests for course_lib.glossary and for the book's glossary data (book/glossary/*.yml)."""
import re
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("yaml")
from course_lib import glossary  # noqa: E402

BOOK_GLOSSARY = Path(__file__).resolve().parents[1] / "book" / "glossary"
# Chinese terms that name two concepts on purpose: 反向传播 is both the
# algorithm (backpropagation) and one layer's backward pass.
SHARED_CHINESE = {"反向传播"}


def entry(en, zh, chapter=1, **extra):
    return {"en": en, "zh": zh, "chapter": chapter, "note": f"about {en}",
            "note_zh": f"关于{zh}", **extra}


def write(folder, name, entries):
    import yaml
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")


def test_load_entries_names_the_bad_entry(tmp_path):
    """Does a malformed entry fail with its file, position and what is wrong?"""
    write(tmp_path, "01.yml", [entry("loss", "损失"), {"en": "gradient", "zh": "梯度", "chapter": 3,
                                                        "note": "slope"}])
    with pytest.raises(ValueError, match=r"01\.yml, entry 2: .*note_zh"):
        glossary.load_entries(tmp_path)


@pytest.mark.parametrize("bad", [{"aliases": "折叶损失"}, {"aliases": [""]}, {"alias": ["x"]},
                                 {"chapter": True}])
def test_load_entries_rejects_bad_fields(tmp_path, bad):
    """Are aliases a list of names, and are unknown fields and booleans refused?"""
    write(tmp_path, "02.yml", [{**entry("hinge loss", "合页损失"), **bad}])
    with pytest.raises(ValueError, match=r"02\.yml, entry 1"):
        glossary.load_entries(tmp_path)


def test_concept_key_ignores_order_case_and_spacing():
    assert (glossary.concept_key("ReLU (rectified linear unit)")
            == glossary.concept_key("rectified  linear unit (relu)")
            == {"relu", "rectified linear unit"})
    assert glossary.concept_key("ReLU") != glossary.concept_key("Leaky ReLU")


def test_merge_gives_one_row_per_concept(tmp_path):
    """Do entries of one concept in two chapters become one row with both chapters and all aliases?"""
    write(tmp_path, "04.yml", [entry("ReLU (rectified linear unit)", "修正线性单元", 4,
                                     aliases=["线性整流单元"])])
    write(tmp_path, "05.yml", [entry("rectified linear unit (ReLU)", "修正线性单元", 5,
                                     aliases=["整流线性单元"]),
                               entry("Leaky ReLU", "带泄露修正线性单元", 5)])
    rows = glossary.merge(glossary.load_entries(tmp_path))
    assert len(rows) == 2
    relu = next(r for r in rows if r["zh"] == "修正线性单元")
    assert relu["chapters"] == {4, 5}
    assert relu["en"] == "ReLU (rectified linear unit)"  # wording of the first chapter
    assert relu["aliases"] == ["线性整流单元", "整流线性单元"]


def test_merge_refuses_two_chinese_terms_for_one_concept(tmp_path):
    write(tmp_path, "04.yml", [entry("stride", "步幅", 4)])
    write(tmp_path, "09.yml", [entry("Stride", "步长", 9)])
    with pytest.raises(ValueError, match=r"步幅 \(04\.yml, entry 1\) but 步长 \(09\.yml, entry 1\)"):
        glossary.merge(glossary.load_entries(tmp_path))


def table_rows(markdown):
    """(first column, second column) of every body row of every table."""
    rows = re.findall(r"^\* - (.*)\n  - (.*)\n  - (.*)\n  - (.*)$", markdown, flags=re.M)
    return [r for r in rows if r[2] not in ("Ch.", "章")]


def test_english_page_sorts_by_english():
    rows = glossary.merge([entry("stride", "步幅"), entry("hinge loss", "合页损失", aliases=["折叶损失"]),
                           entry("Adam", "Adam"), entry("1 x 1 convolution", "1×1 卷积")])
    md = glossary.glossary_markdown(rows, "en")
    assert [r[0] for r in table_rows(md)] == ["Adam", "hinge loss", "stride", "1 x 1 convolution"]
    assert "合页损失 <span class=\"glossary-also\">(also 折叶损失)</span>" in md
    assert re.findall(r"```\{rubric\} (\S+)", md) == ["A", "H", "S", "#"]
    assert md.startswith("4 terms from 1 chapter.\n")


def test_chinese_page_sorts_by_pinyin():
    """Is 中文 -> English sorted by pinyin (bu < he < juan < sigmoid), grouped by its first letter?"""
    pytest.importorskip("pypinyin")
    rows = glossary.merge([entry("convolution", "卷积"), entry("sigmoid function", "sigmoid 函数"),
                           entry("stride", "步幅"), entry("hinge loss", "合页损失", aliases=["折叶损失"]),
                           entry("quadratic loss", "二次损失", 4)])
    md = glossary.glossary_markdown(rows, "zh")
    assert [r[0].split("<")[0] for r in table_rows(md)] == [
        "步幅", "二次损失", "合页损失", "卷积", "sigmoid 函数"]
    assert [r[1] for r in table_rows(md)][:2] == ["stride", "quadratic loss"]
    assert "合页损失<span class=\"glossary-also\">（又称折叶损失）</span>" in md
    assert re.findall(r"```\{rubric\} (\S+)", md) == ["B", "E", "H", "J", "S"]
    assert "关于卷积" in md and "about convolution" not in md
    assert md.startswith("共 5 个术语，来自 2 章。")


def test_glossary_page_language_follows_the_page_folder(tmp_path):
    """Does one code cell render English in book/ and Chinese in book/zh/?"""
    pytest.importorskip("pypinyin")
    write(tmp_path / "glossary", "01.yml", [entry("stride", "步幅")])
    (tmp_path / "zh").mkdir()
    assert "* - English" in glossary.glossary_page(tmp_path)
    assert "* - 中文" in glossary.glossary_page(tmp_path / "zh")
    with pytest.raises(FileNotFoundError, match="no glossary folder"):
        glossary.glossary_page(tmp_path / "glossary")


def test_glossary_markdown_refuses_other_languages():
    with pytest.raises(ValueError, match="language"):
        glossary.glossary_markdown([], "fr")


# ---------------------------------------------------------------------------
# The book's own glossary
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def book_rows():
    return glossary.merge(glossary.load_entries(BOOK_GLOSSARY))


def test_book_glossary_has_one_row_per_concept(book_rows):
    """Does no English name and (but for SHARED_CHINESE) no Chinese term name two rows?"""
    by_name, by_zh = defaultdict(list), defaultdict(list)
    for r in book_rows:
        for name in glossary.concept_key(r["en"]):
            by_name[name].append(r["en"])
        by_zh[r["zh"]].append(r["en"])
    assert {n: ens for n, ens in by_name.items() if len(ens) > 1} == {}
    assert {z: ens for z, ens in by_zh.items() if len(ens) > 1 and z not in SHARED_CHINESE} == {}


def test_book_glossary_lists_other_names_as_aliases(book_rows):
    """Is the Chinese term one name (other names under aliases, not in parentheses)?"""
    assert [r["zh"] for r in book_rows if re.search(r"[（）()/、，;；]", r["zh"])] == []


@pytest.mark.parametrize("en, zh, aliases", [
    ("hinge loss", "合页损失", {"折叶损失"}),
    ("stride", "步幅", set()),
    ("step size", "步长", set()),
    ("backward pass", "反向传播", {"反向传递"}),
    ("babysitting the learning process", "检查整个学习过程", set()),
    ("quadratic loss", "二次损失", set()),
    ("ReLU (rectified linear unit)", "修正线性单元", set()),
    ("Leaky ReLU", "带泄露修正线性单元", set()),
    ("PReLU (parametric ReLU)", "参数化修正线性单元", set()),
    ("epoch", "轮", {"迭代周期"}),
    ("dropout", "随机失活", {"暂退法"}),
])
def test_book_glossary_uses_the_agreed_terms(book_rows, en, zh, aliases):
    """Does the glossary give the terms issue 18 settled (and these aliases at least)?"""
    row = next((r for r in book_rows if glossary.concept_key(r["en"]) == glossary.concept_key(en)), None)
    assert row is not None, f"{en!r} is not in the glossary"
    assert row["zh"] == zh
    assert aliases <= set(row["aliases"])


def test_book_glossary_names_mnist_by_its_name(book_rows):
    row = next(r for r in book_rows if r["en"] == "MNIST")
    assert row["zh"].startswith("MNIST")

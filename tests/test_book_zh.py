"""The Chinese edition's sources (book/zh/) against the English ones, without building.

Every English page has a Chinese page with the same code cells (byte for
byte: they share one execution cache, and the outputs are the same), the same
headings in the same order and levels (the language switch maps sections by
position), the same labels, figure names and cross-reference targets, and the
same display math. Both editions use the terms issue 18 settled.
"""
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
ZH = BOOK / "zh"
ENGLISH_PAGES = sorted(p.name for p in BOOK.glob("*.md"))

FENCE = re.compile(r"^(`{3,}|:{3,})[^\n]*\n.*?^\1[ \t]*$", re.S | re.M)
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n.*?^```[ \t]*$", re.S | re.M)
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
HEADING = re.compile(r"^(#{1,6}) ", re.M)
LABEL = re.compile(r"^\(([\w:.-]+)\)=[ \t]*$", re.M)
NAME_OPTION = re.compile(r"^\s*:(?:name|label):\s*(\S+)", re.M)
ROLE = re.compile(r"\{(ref|numref|eq|doc|cite|cite:p|cite:t|term)\}`([^`]*)`")
DISPLAY_MATH = re.compile(r"^\$\$.*?^\$\$", re.S | re.M)
TEXT = re.compile(r"\\text\{[^{}]*\}")


def toc_pages(toc_file, prefix=""):
    """The pages a _toc file lists, in order, without suffix and `prefix`."""
    toc = yaml.safe_load((ROOT / toc_file).read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key, value in node.items():
                if key != "root":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [p.removeprefix(prefix) for p in pages]


def read(path):
    return path.read_text(encoding="utf-8")


def without_code(text):
    """The page without code cells and other ``` fences (prose, headings, labels, directives)."""
    return re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.S | re.M)


def heading_levels(text):
    return [len(m) for m in HEADING.findall(without_code(text))]


def role_targets(text):
    """Every cross-reference role's target, sorted (prose may reorder them)."""
    targets = []
    for role, body in ROLE.findall(text):
        target = body.rsplit("<", 1)[-1].rstrip(">").strip() if role != "cite" else body
        targets.append(f"{role}:{target}")
    return sorted(targets)


# A figure's caption and alt text (one line each, in the cell's options) are
# translated; the code and every other option are the English cell's.
TRANSLATED_OPTION = re.compile(r"^(\s*(?:caption|alt):).*$", re.M)


def untranslated(cell):
    """The cell with its caption and alt text blanked out."""
    return TRANSLATED_OPTION.sub(r"\1", cell)


def chinese_pages():
    return [name for name in ENGLISH_PAGES if (ZH / name).is_file()]


def test_every_english_page_has_a_chinese_page():
    assert [n for n in ENGLISH_PAGES if not (ZH / n).is_file()] == []


def test_no_chinese_page_without_an_english_one():
    assert sorted(p.name for p in ZH.glob("*.md") if not (BOOK / p.name).is_file()) == []


def test_both_tables_of_contents_list_the_same_pages():
    """Does _toc.zh.yml list the pages of _toc.yml, in the same order?"""
    assert toc_pages("_toc.zh.yml") == toc_pages("_toc.yml", prefix="book/")


@pytest.mark.parametrize("page", chinese_pages())
class TestChinesePage:
    def test_code_cells_and_front_matter_are_identical(self, page):
        """Byte for byte, captions and alt text aside: the Chinese page reuses
        the English page's cached outputs."""
        en, zh = read(BOOK / page), read(ZH / page)
        front = [m.group(0) if m else None for m in (FRONT_MATTER.match(en), FRONT_MATTER.match(zh))]
        assert front[1] == front[0], "the front matter differs from the English page's"
        en_cells = [untranslated(c) for c in CODE_CELL.findall(en)]
        zh_cells = [untranslated(c) for c in CODE_CELL.findall(zh)]
        assert len(zh_cells) == len(en_cells), f"{len(zh_cells)} code cells, English has {len(en_cells)}"
        differ = [i for i, (a, b) in enumerate(zip(en_cells, zh_cells)) if a != b]
        assert differ == [], f"code cells {differ} differ from the English page's"

    def test_headings_have_the_same_levels_in_the_same_order(self, page):
        assert heading_levels(read(ZH / page)) == heading_levels(read(BOOK / page))

    def test_labels_names_and_cross_references_are_identical(self, page):
        en, zh = without_code(read(BOOK / page)), without_code(read(ZH / page))
        assert LABEL.findall(zh) == LABEL.findall(en)
        assert NAME_OPTION.findall(zh) == NAME_OPTION.findall(en)
        assert role_targets(zh) == role_targets(en)

    def test_display_math_is_identical(self, page):
        """The same equations, in the same order; only words in \\text{...} are translated."""
        def maths(path):
            return [TEXT.sub(r"\\text{}", m) for m in DISPLAY_MATH.findall(without_code(read(path)))]
        assert maths(ZH / page) == maths(BOOK / page)

    def test_prose_is_translated(self, page):
        """No run of five English words left in the Chinese prose (names, paper
        titles in italics, code, math, links and program output excepted)."""
        prose = without_code(FRONT_MATTER.sub("", read(ZH / page)))
        prose = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|\]\([^)]*\)|https?://\S+|\{[^}\n]*\}"
                       r"|(?<!\*)\*(?!\*)[^*\n]+\*(?!\*)|<[^>\n]+>|^:[\w-]+:.*$", " ", prose,
                       flags=re.S | re.M)
        runs = re.findall(r"\b[a-z][a-z'-]*(?:[ ,]+[a-z][a-z'-]*){4,}", prose)
        assert runs == [], f"{len(runs)} English phrase(s) left, e.g. {runs[:3]}"


# ---------------------------------------------------------------------------
# Terms (issue 18), in both editions
# ---------------------------------------------------------------------------
# Chinese that neither edition writes, with the term to use instead.
BANNED = {
    "折页": "hinge loss is 合页损失 (the source notes: 折叶损失)",
    "线性整流": "ReLU is 修正线性单元 (Leaky ReLU 带泄露修正线性单元, PReLU 参数化修正线性单元)",
    "照看学习过程": "babysitting the learning process is 检查整个学习过程",
    "二次代价": "quadratic loss is 二次损失",
}
# 反向传递 only as the other name of 反向传播 ("也称反向传递", "also 反向传递").
BACKWARD = re.compile(r"(?<![也又或亦]称)(?<!also )反向传递")
# A Chinese sentence about stride: the English word, the letter S of the
# output size formula, a filter or a pooling window. (English pages: the
# Chinese in parentheses after "stride".)
STRIDE_CONTEXT = re.compile(r"stride|\$S\s*=|\$S\$|滤波器|卷积核|池化|窗口", re.I)
STRIDE_EN = re.compile(r"stride\W*\([^)]*步长", re.I)


def sentences(text):
    """Sentences, table rows, list items and headings of the prose."""
    parts = re.split(r"(?<=[。！？；])|\n\s*\n|\n(?=\s*(?:[|#*-]|\d+\.) )", without_code(text))
    return [s for s in parts if s.strip()]


def all_pages():
    return [BOOK / n for n in ENGLISH_PAGES] + [ZH / n for n in chinese_pages()]


@pytest.mark.parametrize("path", all_pages(), ids=lambda p: p.relative_to(BOOK).as_posix())
def test_no_banned_terms(path):
    text = without_code(read(path))
    found = [f"{word}: {why}" for word, why in BANNED.items() if word in text]
    found += [f"{m.group(0)}: backward pass is 反向传播 (也称反向传递)" for m in BACKWARD.finditer(text)]
    if path.parent == ZH:
        found += [f"步长 for stride in {s.strip()[:60]!r}: stride is 步幅, 步长 is step size"
                  for s in sentences(text) if "步长" in s and STRIDE_CONTEXT.search(s)]
    else:
        found += [f"{m.group(0)!r}: stride is 步幅, 步长 is step size" for m in STRIDE_EN.finditer(text)]
    assert found == []


def glossary_names():
    from course_lib.glossary import concept_key, load_entries, merge

    names = {}
    for row in merge(load_entries(BOOK / "glossary")):
        for name in concept_key(row["en"]):
            names[name] = row
    return names


def english_key(term):
    return " ".join(term.casefold().replace("-", " ").split())


@pytest.mark.parametrize("page", ENGLISH_PAGES)
def test_english_pages_give_the_glossary_term(page):
    """Is the Chinese after a **term** in an English page the glossary's term (or an alias)?"""
    names = {english_key(k): v for k, v in glossary_names().items()}
    wrong = []
    for m in re.finditer(r"\*\*([^*]+)\*\*\s*\(([^)]*[\u4e00-\u9fff][^)]*)\)", without_code(read(BOOK / page))):
        key = english_key(m.group(1))
        row = names.get(key) or names.get(key.removesuffix("s")) or names.get(key.removesuffix("es"))
        if row is None:
            continue
        chinese = re.split(r"[,，;；/、]| or ", m.group(2))[0].strip()
        if not any(chinese.startswith(name) for name in (row["zh"], *row["aliases"])):
            wrong.append(f"{m.group(1)} ({chinese}): the glossary says {row['zh']}")
    assert wrong == []


def test_line_breaks_between_chinese_characters_are_joined():
    """book/_ext/cjk_lines.py: no space where the source wraps Chinese prose, one elsewhere."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("cjk_lines", BOOK / "_ext" / "cjk_lines.py")
    cjk_lines = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cjk_lines)
    join = cjk_lines.join_cjk_lines
    assert join("学完之后，\n你会清楚") == "学完之后，你会清楚"
    assert join("梯度\n   消失") == "梯度消失"
    assert join("运行整个\n   notebook；") == "运行整个\n   notebook；"
    assert join("the\nbook") == "the\nbook"
    assert join("（CIFAR-10）\n上训练") == "（CIFAR-10）上训练"


def test_line_breaks_between_chinese_nodes_are_joined():
    """MyST gives each line break its own Text node: the join looks across node boundaries."""
    import importlib.util
    nodes = pytest.importorskip("docutils.nodes")
    spec = importlib.util.spec_from_file_location("cjk_lines", BOOK / "_ext" / "cjk_lines.py")
    cjk_lines = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cjk_lines)
    para = nodes.paragraph()
    para += [nodes.Text("框架里面，"), nodes.Text("\n"), nodes.Text("学完之后"), nodes.Text("\n"),
             nodes.literal("", "notebook"), nodes.Text("\n"), nodes.strong("", "损失"),
             nodes.Text("\n"), nodes.Text("函数"), nodes.literal_block("", "代码\n代码")]
    cjk_lines.join_cjk_breaks(para)
    assert para.astext() == "框架里面，学完之后\nnotebook\n损失函数代码\n代码"


# ---------------------------------------------------------------------------
# One execution for both editions (book/_ext/cache_keys.py)
# ---------------------------------------------------------------------------
def cache_key(path):
    """jupyter-cache's hash of the page, as the book build computes it."""
    import sys

    myst_read = pytest.importorskip("myst_nb.core.read")
    cache_main = pytest.importorskip("jupyter_cache.cache.main")
    sys.path.insert(0, str(BOOK / "_ext"))
    try:
        import cache_keys
    finally:
        sys.path.remove(str(BOOK / "_ext"))
    cache_keys.install()
    nb = myst_read.read_myst_markdown_notebook(read(path))
    return cache_main.JupyterCacheBase.create_hashed_notebook(None, nb)[1]


@pytest.mark.parametrize("page", chinese_pages())
def test_chinese_page_reuses_the_english_execution(page):
    """The same cache key: captions and alt text do not make the Chinese
    edition run the chapter again."""
    assert cache_key(ZH / page) == cache_key(BOOK / page)


def test_caption_changes_keep_the_cache_key_and_code_changes_do_not(tmp_path):
    page = tmp_path / "page.md"
    cell = ("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n"
            "  name: python3\n  display_name: Python 3\n---\n\n```{{code-cell}} ipython3\n---\n"
            "mystnb:\n  figure:\n    caption: {caption}\n    name: fig-x\n  image:\n"
            "    alt: {alt}\n---\n{code}\n```\n")
    keys = []
    for caption, alt, code in [("A line.", "A rising line", "x = 1"),
                               ("一条直线。", "上升的直线", "x = 1"),
                               ("A line.", "A rising line", "x = 2")]:
        page.write_text(cell.format(caption=caption, alt=alt, code=code), encoding="utf-8")
        keys.append(cache_key(page))
    assert keys[0] == keys[1] != keys[2]


# ---- the explorers' alt text on the Chinese pages ---------------------------------------

EXPLORE_CALL = re.compile(r"\bexplore\(\s*([A-Za-z_]\w*)")


def explorer_summaries():
    """{plotting function: its alt-text summary} for every explore() call of
    the English pages: the first paragraph of the function's docstring, its
    lines joined, as course_lib.widgets makes it."""
    import ast
    summaries = {}
    for path in sorted(BOOK.glob("*.md")):
        cells = [FRONT_MATTER.sub("", cell.split("\n", 1)[1].rsplit("```", 1)[0])
                 for cell in CODE_CELL.findall(read(path))]
        functions = {}
        for cell in cells:
            # without magics, shell lines and the short-form options (":tags: [...]")
            code = "\n".join(line for line in cell.splitlines()
                             if not line.startswith(("%", "!", ":")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.FunctionDef):
                    functions[node.name] = ast.get_docstring(node) or ""
        for cell in cells:
            for name in EXPLORE_CALL.findall(cell):
                assert name in functions, f"{path.name}: explore({name}) but no def {name} found"
                summaries[f"{path.name}:{name}"] = " ".join(
                    functions[name].strip().split("\n\n")[0].split())
    return summaries


def test_every_explorer_has_a_chinese_alt_summary():
    """Does book/zh/explorer_alt.yml translate the summary of every explorer
    of the English pages (a missing one would stop the Chinese build), and
    nothing else?"""
    table = yaml.safe_load((ZH / "explorer_alt.yml").read_text(encoding="utf-8"))
    summaries = explorer_summaries()
    assert len(summaries) >= 9, summaries
    missing = {where: s for where, s in summaries.items() if s not in table}
    assert missing == {}, "translate these in book/zh/explorer_alt.yml"
    assert set(table) - set(summaries.values()) == set(), "entries no explorer uses"
    assert all(HAN_CHARS.search(text) for text in table.values())


HAN_CHARS = re.compile(r"[\u3400-\u9fff]")


def test_explorer_frames_get_chinese_alt_text():
    """Does the Chinese build's rewrite give each frame the Chinese summary
    with its settings kept, escape it, drop lang="en", leave other images
    alone, report a frame it cannot translate, and change nothing the second
    time?"""
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_zh", BOOK / "build_zh.py")
    build_zh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_zh)
    table = {"Shade where a > 0 fires.": "阴影是 a > 0 的区域。",
             "Shade where a > 0 fires (all of it).": "全部阴影。",
             "Convolve an image.": "对图像做卷积。"}
    frame = '<img class="course-explorer-frame" src="data:x" width="4" alt="{}" lang="en" data-frame="{}">'
    page = "".join([
        frame.format("Shade where a &gt; 0 fires (b = -0.1).", "0"),
        frame.format("Shade where a &gt; 0 fires (all of it) (b = 1).", "1"),
        frame.format("Convolve an image.", "2"),
        frame.format("Something new (k = 3).", "3"),
        '<img src="plot.png" alt="A plot" lang="en">'])
    out, missing = build_zh.translate_explorer_alt(page, table)
    assert 'alt="阴影是 a &gt; 0 的区域（b = -0.1）。" data-frame="0"' in out
    assert 'alt="全部阴影（b = 1）。" data-frame="1"' in out
    assert 'alt="对图像做卷积。" data-frame="2"' in out
    assert missing == {"Something new (k = 3)."}
    assert out.count('lang="en"') == 2          # the untranslated frame and the plain image
    assert build_zh.translate_explorer_alt(out, table) == (out, missing)

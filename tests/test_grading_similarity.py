"""course_lib.grading.similarity: copies are found whatever their names,
layout and order; independent solutions are not flagged; the command
writes a ranked report with side-by-side views."""
import json
import random
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.registry import get_assignment
from course_lib.grading.similarity import THRESHOLD, compare_all, fingerprint, normalized_tokens
from course_lib.grading.similarity_report import main, reference_code, starter_code

from .similarity_corpus import copies, honest

ROOT = Path(__file__).resolve().parent.parent
A1 = get_assignment("a1")


@pytest.fixture(scope="module")
def corpus():
    """``(submissions {name: {grade_id: source}}, reference, starter code)``:
    three independent solutions and four disguised copies of each."""
    reference, ids = reference_code(ROOT, A1)
    nb = nbformat.read(ROOT / "solutions" / A1.id / f"{A1.notebook}.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") in ids}
    subs = {}
    for family, sources in honest(cells).items():
        subs[family] = sources
        for kind, copied in copies(sources, random.Random(len(family))).items():
            subs[f"{family}~{kind}"] = copied
    return subs, reference, starter_code(ROOT, A1, ids)


def _joined(subs):
    return {name: "\n\n".join(cells.values()) for name, cells in subs.items()}


def test_names_layout_and_comments_do_not_change_the_tokens():
    """Are a renamed, re-spaced, commented copy's normalised tokens the original's?"""
    a = 'def f(x, y):\n    """Doc."""\n    total = x + 2 * y  # sum\n    return total\n'
    b = "def g(p,q):\n\n    # another comment\n    s=p+2*q\n    return s\n"
    assert [t.text for t in normalized_tokens(a)] == [t.text for t in normalized_tokens(b)]
    assert [t.text for t in normalized_tokens("x.sum()")] == ["V", ".", "sum", "(", ")"]


def test_copies_are_flagged_and_independent_solutions_are_not(corpus):
    """On 15 A1 submissions (3 independent solutions, 4 disguised copies of
    each), is every pair of the same family flagged and no other pair?"""
    subs, reference, base = corpus
    pairs, _ = compare_all(_joined(subs), reference, base, THRESHOLD)
    same = [p for p in pairs if p.a.split("~")[0] == p.b.split("~")[0]]
    other = [p for p in pairs if p.a.split("~")[0] != p.b.split("~")[0]]
    assert len(same) == 30 and len(other) == 75
    assert [p for p in same if not p.flagged] == []
    assert [p for p in other if p.flagged] == []
    # and by a margin, not by a hair
    assert min(p.score for p in same) >= THRESHOLD + 0.2
    assert max(p.score for p in other) <= THRESHOLD - 0.2


def test_copies_of_the_reference_are_flagged(corpus):
    """Is every disguised copy of the instructor's solution flagged against
    the reference, and neither independent solution nor their copies?"""
    subs, reference, base = corpus
    _, against = compare_all(_joined(subs), reference, base, THRESHOLD)
    flagged = {p.a for p in against if p.flagged}
    assert flagged == {n for n in subs if n.startswith("solution")}


def test_starter_code_alone_is_not_similarity(corpus):
    """Do two submissions that only hold the release's starter code share nothing?"""
    _, reference, base = corpus
    pairs, _ = compare_all({"alice": base, "bob": base}, reference, base, THRESHOLD)
    assert pairs[0].score == 0 and not pairs[0].flagged
    assert len(fingerprint(base, ignore=frozenset())) > 50  # there was something to drop


def _write_notebooks(folder, subs):
    release = nbformat.read(ROOT / "assignments" / A1.id / f"{A1.notebook}.ipynb", as_version=4)
    folder.mkdir()
    for name, cells in subs.items():
        nb = nbformat.from_dict(json.loads(json.dumps(release)))
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in cells and cell.metadata["nbgrader"].get("solution"):
                cell.source = cells[grade_id]
        nbformat.write(nb, folder / f"{name}.ipynb")


def test_command_writes_a_ranked_report(corpus, tmp_path, capsys):
    """Does the command compare a folder of notebooks, print the flagged
    pairs, and write index.html, side-by-side pages and pairs.csv, listing
    an unreadable notebook instead of failing?"""
    subs, _, _ = corpus
    chosen = {k: subs[k] for k in ("solution", "indep_b", "indep_b~all_three", "indep_c")}
    _write_notebooks(tmp_path / "subs", chosen)
    (tmp_path / "subs" / "broken.ipynb").write_text("{not json")
    out = tmp_path / "report"
    assert main(["a1", "--course-dir", str(ROOT), "--from", str(tmp_path / "subs"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 submissions, 6 pairs: 1 flagged" in printed
    assert "indep_b / indep_b~all_three" in printed
    index = (out / "index.html").read_text()
    assert "FLAGGED" in index and "broken" in index and "not valid JSON" in index
    page = (out / "pair-0001.html").read_text()
    assert "indep_b~all_three" in page and "class='m'" in page
    rows = (out / "pairs.csv").read_text().splitlines()
    assert rows[0] == "a,b,similarity,shared,flagged" and len(rows) == 1 + 6 + 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report-")]


def test_bad_arguments_are_explained(tmp_path, capsys):
    """Do an unknown assignment, a bad threshold and an empty folder each
    stop with a message that says what to do?"""
    (tmp_path / "empty").mkdir()
    assert main(["a9", "--course-dir", str(ROOT)]) == 2
    assert main(["a1", "--course-dir", str(ROOT), "--threshold", "1.5"]) == 2
    assert main(["a1", "--course-dir", str(ROOT), "--from", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "unknown assignment 'a9'" in err and "--threshold must be" in err
    assert "no submissions of a1_knn_linear" in err

"""Copy detection: every submission's solution cells against the reference
and against every other submission.

Fingerprints (the winnowing of Schleimer, Wilkerson and Aiken, as in MOSS):

1. a submission's code is its solution cells, joined; it is tokenized with
   :mod:`tokenize`, and comments, docstrings and layout are dropped;
2. names are normalised: every identifier becomes ``V`` (renaming changes
   nothing), except attribute names after a dot (``.sum``, ``.T``) and
   keywords; numbers become ``N`` and strings ``S``;
3. every ``k`` consecutive tokens are hashed and, in every window of ``w``
   hashes, the smallest is kept: a copied passage of ``k + w - 1`` tokens or
   more always shares a fingerprint, wherever it sits (reordered functions
   or cells still match);
4. fingerprints of the starter code (the released notebook's cells) are
   dropped: everyone has those.

The similarity of two submissions is the share of the smaller one's
fingerprints that the other has (``|A & B| / min(|A|, |B|)``); against the
reference (the instructor's solution cells and the ``course_lib`` functions
the items are graded against) it is the share of the submission's. Pairs at
or above ``threshold`` are flagged. ``bench/bench_similarity.py`` measures
this on renamed, reformatted and reordered copies and on independent
solutions, beside ``copydetect`` and ``pycode_similar`` when they are installed.

Command (in the course folder; submissions as ``collect`` left them)::

    python -m course_lib.grading.similarity a1 [--threshold 0.5] [--out DIR]
    python -m course_lib.grading.similarity a1 --from DIR   # alice.ipynb, bob.ipynb, ...
"""
import ast
import hashlib
import io
import keyword
import token
import tokenize
from dataclasses import dataclass, field

__all__ = ["Fingerprints", "fingerprint", "normalized_tokens", "similarity", "compare_all",
           "Pair", "K", "W", "THRESHOLD"]

K = 12          # tokens per hashed k-gram
W = 6           # winnowing window: copies of K + W - 1 = 17 tokens always match
THRESHOLD = 0.5  # flag pairs sharing at least half of the smaller one's fingerprints


@dataclass
class Token:
    text: str
    line: int    # 1-based line in the submission's joined code


def _docstring_starts(source):
    """Start positions of string statements (docstrings and bare strings)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {(node.value.lineno, node.value.col_offset) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}


def normalized_tokens(source):
    """Tokens of ``source`` with names, numbers and strings normalised and
    comments, docstrings and layout dropped. Code that does not tokenize
    (a syntax error) is read up to the error."""
    docstrings = _docstring_starts(source)
    out, previous = [], None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = tok.type, tok.string
            if kind in _SKIP or (kind == token.STRING and tok.start in docstrings):
                continue
            if kind == token.NAME and not keyword.iskeyword(text):
                norm = text if previous == "." else "V"
            elif kind == token.NUMBER:
                norm = "N"
            elif kind == token.STRING or kind in _FSTRING_TYPES:
                if out and out[-1].text == "S" and previous == "S":
                    continue  # an f-string's parts, or adjacent literals: one string
                norm = "S"
            else:
                norm = text
            out.append(Token(norm, tok.start[0]))
            previous = norm
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


_FSTRING_TYPES = {getattr(token, n) for n in ("FSTRING_START", "FSTRING_MIDDLE",
                                              "FSTRING_END") if hasattr(token, n)}


@dataclass
class Fingerprints:
    """A submission's winnowed fingerprints: ``{hash: [(first line, last line)]}``."""
    hashes: dict = field(default_factory=dict)

    def keys(self):
        return set(self.hashes)

    def __len__(self):
        return len(self.hashes)

    def lines_for(self, keys):
        """Source lines covered by the k-grams of ``keys``."""
        lines = set()
        for key in keys:
            for first, last in self.hashes.get(key, ()):
                lines.update(range(first, last + 1))
        return lines


def _hash(texts):
    return int.from_bytes(hashlib.blake2b("\x1f".join(texts).encode(),
                                          digest_size=8).digest(), "big")


def fingerprint(source, k=K, w=W, ignore=frozenset()):
    """:class:`Fingerprints` of ``source`` (winnowing), without the hashes in ``ignore``."""
    toks = normalized_tokens(source)
    grams = [(_hash([t.text for t in toks[i:i + k]]), toks[i].line, toks[i + k - 1].line)
             for i in range(len(toks) - k + 1)]
    result = Fingerprints()
    if not grams:
        return result
    chosen = set()
    for start in range(max(1, len(grams) - w + 1)):
        window = grams[start:start + w]
        # the rightmost minimum, so a run of equal hashes keeps one position
        best = min(range(len(window)), key=lambda i: (window[i][0], -i))
        chosen.add(start + best)
    for index in sorted(chosen):
        h, first, last = grams[index]
        if h in ignore:
            continue
        result.hashes.setdefault(h, []).append((first, last))
    return result


def all_kgram_hashes(source, k=K):
    """Every k-gram hash of ``source`` (for starter code: all of it is ignored)."""
    toks = normalized_tokens(source)
    return {_hash([t.text for t in toks[i:i + k]]) for i in range(len(toks) - k + 1)}


def similarity(a, b):
    """``(score, shared hashes)``: the share of the smaller set that the other has."""
    shared = a.keys() & b.keys()
    smaller = min(len(a), len(b))
    return (len(shared) / smaller if smaller else 0.0), shared


@dataclass
class Pair:
    a: str
    b: str
    score: float
    shared: int
    flagged: bool
    lines_a: set = field(default_factory=set)
    lines_b: set = field(default_factory=set)


def compare_all(sources, reference=None, base="", threshold=THRESHOLD, k=K, w=W):
    """Compare every pair of ``sources`` (``{name: code}``) and each with
    ``reference`` (code); fingerprints of ``base`` (starter code) are ignored.

    Returns ``(pairs, against_reference)``, each a list of :class:`Pair`
    sorted by score, highest first. Against the reference the score is the
    share of the submission's fingerprints found in the reference.
    """
    ignore = frozenset(all_kgram_hashes(base, k)) if base else frozenset()
    prints = {name: fingerprint(code, k, w, ignore) for name, code in sources.items()}
    names = sorted(prints)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            score, shared = similarity(prints[a], prints[b])
            pairs.append(Pair(a, b, score, len(shared), score >= threshold,
                              prints[a].lines_for(shared), prints[b].lines_for(shared)))
    against = []
    if reference:
        ref = fingerprint(reference, k, w, ignore)
        for name in names:
            shared = prints[name].keys() & ref.keys()
            score = len(shared) / len(prints[name]) if len(prints[name]) else 0.0
            against.append(Pair(name, "reference", score, len(shared), score >= threshold,
                                prints[name].lines_for(shared), ref.lines_for(shared)))
    key = lambda p: (-p.score, p.a, p.b)  # noqa: E731
    return sorted(pairs, key=key), sorted(against, key=key)


if __name__ == "__main__":
    import sys

    from .similarity_report import main
    sys.exit(main())

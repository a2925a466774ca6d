"""The book's bilingual glossary: read ``book/glossary/NN.yml`` and render it.

Each chapter owns one YAML file, a list of entries::

    - en: hinge loss            # the English term (an abbreviation may follow
                                #   in parentheses: "rectified linear unit (ReLU)")
      zh: 合页损失               # the standard Simplified Chinese term
      aliases: [折叶损失]        # optional: other Chinese names ("also called")
      chapter: 2                # where the term is introduced
      note: One-line meaning in English (Markdown, inline math allowed).
      note_zh: 中文的一句话释义。

One row per concept: entries of several chapters that name the same concept
(the same English names, in any order: "ReLU (rectified linear unit)" is
"rectified linear unit (ReLU)") merge into one row listing every chapter, and
must agree on the Chinese term, otherwise loading fails and names both.

The English page lists English -> 中文 sorted by English; the Chinese page
lists 中文 -> English sorted by pinyin (``pypinyin``, imported only then).
"""

from __future__ import annotations

import re
from pathlib import Path

FIELDS = {"en": str, "zh": str, "chapter": int, "note": str, "note_zh": str}
LANGUAGES = ("en", "zh")
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*")


def load_entries(folder) -> list[dict]:
    """Read and check every entry of ``folder/*.yml``; a malformed one names
    its file and position."""
    import yaml

    entries = []
    for path in sorted(Path(folder).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a YAML list of entries (lines "
                             f"starting with '- en: ...'), got {type(data).__name__}")
        for position, entry in enumerate(data, 1):
            entry = entry if isinstance(entry, dict) else {}
            bad = [f"{key} ({kind.__name__})" for key, kind in FIELDS.items()
                   if not isinstance(entry.get(key), kind)
                   or isinstance(entry.get(key), bool)
                   or (kind is str and not entry[key].strip())]
            aliases = entry.get("aliases", [])
            if not (isinstance(aliases, list)
                    and all(isinstance(a, str) and a.strip() for a in aliases)):
                bad.append("aliases (a list of Chinese terms)")
            unknown = sorted(set(entry) - set(FIELDS) - {"aliases"})
            if bad or unknown:
                raise ValueError(
                    f"{path}, entry {position}: missing or invalid "
                    f"{', '.join(bad + [f'unknown field {u!r}' for u in unknown])}; "
                    f"every entry needs {', '.join(FIELDS)} and may have aliases")
            clean = {key: entry[key].strip() if kind is str else entry[key]
                     for key, kind in FIELDS.items()}
            clean["aliases"] = [a.strip() for a in aliases]
            clean["source"] = f"{path.name}, entry {position}"
            entries.append(clean)
    return entries


def concept_key(en: str) -> frozenset:
    """The names an English term gives, without order or case:
    "ReLU (rectified linear unit)" -> {"relu", "rectified linear unit"}."""
    names = [_PAREN.sub(" ", en)] + _PAREN.findall(en)
    return frozenset(" ".join(n.casefold().split()) for n in names if n.strip())


def merge(entries: list[dict]) -> list[dict]:
    """One row per concept, listing every chapter that introduces it.

    The wording (English term, notes) comes from the earliest chapter; aliases
    are pooled. Two entries of one concept with different Chinese terms are an
    error: the glossary must agree with itself.
    """
    rows: dict[frozenset, dict] = {}
    for e in sorted(entries, key=lambda e: e["chapter"]):
        key = concept_key(e["en"])
        row = rows.get(key)
        if row is None:
            rows[key] = {**e, "aliases": list(e.get("aliases", [])),
                         "chapters": {e["chapter"]}}
        elif row["zh"] != e["zh"]:
            raise ValueError(f"one concept, two Chinese terms: {row['en']!r} is "
                             f"{row['zh']} ({row.get('source', '?')}) but {e['zh']} "
                             f"({e.get('source', '?')}); use one, and list the "
                             "other under aliases")
        else:
            row["chapters"].add(e["chapter"])
            row["aliases"] += [a for a in e.get("aliases", [])
                               if a not in row["aliases"]]
    return list(rows.values())


def english_key(term: str) -> str:
    return "".join(ch for ch in term.casefold() if ch.isalnum() or ch == " ").strip()


def pinyin_key(term: str) -> tuple:
    """Sort Chinese terms as a dictionary does: by toneless pinyin, then by
    tone, then by the characters; Latin words (sigmoid 函数) sort as spelled."""
    from pypinyin import Style, lazy_pinyin

    syllables = [s.strip().casefold()
                 for s in lazy_pinyin(term, style=Style.TONE3) if s.strip()]
    return (tuple(s.rstrip("012345") for s in syllables),
            tuple(syllables), term)


def _initial(key_text: str) -> str:
    first = key_text[:1].upper()
    return first if "A" <= first <= "Z" else "#"


def _cell(text: str) -> str:
    # list-table items are Markdown; a leading "-" or "*" would start a list.
    text = text.replace("\n", " ")
    return "\\" + text if text[:1] in "-*+" else text


TEXT = {
    "en": {"count": "{terms} terms from {chapters} chapter{s}.\n\n",
           "header": ("English", "中文", "Ch.", "Meaning"),
           "also": ' <span class="glossary-also">(also {names})</span>',
           "sep": ", "},
    "zh": {"count": "共 {terms} 个术语，来自 {chapters} 章。\n\n",
           "header": ("中文", "English", "章", "释义"),
           "also": '<span class="glossary-also">（又称{names}）</span>',
           "sep": "、"},
}


def glossary_markdown(rows: list[dict], language: str = "en") -> str:
    """MyST Markdown: a jump bar of initials, then one table per initial.

    ``en``: English -> 中文, sorted by English; ``zh``: 中文 -> English,
    sorted by pinyin, grouped by the first letter of the pinyin.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    text = TEXT[language]
    if language == "en":
        keyed = [(english_key(r["en"]), r) for r in rows]
    else:
        keyed = [(" ".join(pinyin_key(r["zh"])[0]), r) for r in rows]
    keyed.sort(key=lambda kr: (english_key(kr[1]["en"]), kr[1]["zh"])
               if language == "en" else pinyin_key(kr[1]["zh"]))
    letters = sorted({_initial(k) for k, _ in keyed}, key=lambda c: (c == "#", c))
    anchor = {c: c.lower() if c != "#" else "other" for c in letters}
    chapters = {c for r in rows for c in r["chapters"]}
    parts = [text["count"].format(terms=len(rows), chapters=len(chapters),
                                  s="s" * (len(chapters) != 1)),
             '<nav class="glossary-letters">'
             + " ".join(f'<a href="#glossary-{anchor[c]}">{c}</a>' for c in letters)
             + "</nav>\n"]
    for letter in letters:
        parts += [f"\n```{{rubric}} {letter}\n:name: glossary-{anchor[letter]}\n"
                  ":class: glossary-letter\n```\n",
                  "\n```{list-table}\n:header-rows: 1\n:widths: 27 17 8 48\n"
                  ":class: glossary-table\n\n"
                  + "".join(f"{'*' if i == 0 else ' '} - {h}\n"
                            for i, h in enumerate(text["header"]))]
        for key, r in keyed:
            if _initial(key) != letter:
                continue
            zh = r["zh"] + (text["also"].format(names=text["sep"].join(r["aliases"]))
                            if r["aliases"] else "")
            first, second = (r["en"], zh) if language == "en" else (zh, r["en"])
            note = r["note"] if language == "en" else r["note_zh"]
            parts.append(f"* - {_cell(first)}\n  - {_cell(second)}\n"
                         f"  - {', '.join(str(c) for c in sorted(r['chapters']))}\n"
                         f"  - {_cell(note)}\n")
        parts.append("```\n")
    return "".join(parts)


def glossary_page(page_dir=None) -> str:
    """The glossary of the page run from ``page_dir`` (default: the current
    directory, which is the page's folder when the book is built).

    The English page (``book/``) and the Chinese one (``book/zh/``) run the
    same code cell, so that both editions share it byte for byte: the folder
    tells the language, and the YAML files are in ``book/glossary/``.
    """
    page_dir = Path.cwd() if page_dir is None else Path(page_dir)
    language = "zh" if page_dir.resolve().name == "zh" else "en"
    folder = page_dir / ("../glossary" if language == "zh" else "glossary")
    if not folder.is_dir():
        raise FileNotFoundError(f"no glossary folder {folder}: run the page "
                                "from book/ or book/zh/")
    return glossary_markdown(merge(load_entries(folder)), language)

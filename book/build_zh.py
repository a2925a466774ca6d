"""Build the Chinese edition, book/zh/, into _build/html/zh/ (run by `make book`
after the English edition).

The Chinese edition is a second Sphinx project, so that it has its own
`language` (zh_CN: Chinese interface, and a search index whose words are
split by jieba) and its own labels, while sharing everything else:

- configuration: _config.yml with _config.zh.yml merged over it;
- execution: the English edition's jupyter-cache (_build/.jupyter_cache).
  jupyter-cache matches a notebook by the hash of its code cells (source and
  cell metadata, less the figure captions and alt text: book/_ext/cache_keys.py)
  and kernelspec, not by its path, and the Chinese pages' code cells are the
  English ones byte for byte but for those two translated options
  (tests/test_book_zh.py), so every chapter reuses the outputs of the English
  build instead of running again;
- static files and templates: book/_static/, book/_templates/.

The explorers' frames (course_lib.widgets.explore) come from the English
execution with English alt text; after the build, their summaries are
replaced by the Chinese ones of book/zh/explorer_alt.yml (the control
settings kept), and a frame without a translation stops the build.

It is built in _build/zh/ (html/, doctrees, the executed notebooks that
myst-nb and the theme expect beside html/, the search dictionary, the merged
configuration); when the build succeeds, _build/zh/html/ is copied to
_build/html/zh/, so that a failed or interrupted build leaves the last good
Chinese site in place, never a half-written one.

Usage: python book/build_zh.py [-W] [-n] [--keep-going]   (as jupyter-book build)
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import yaml

from course_lib._atomic import write_text

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "book" / "zh"
STATE = ROOT / "_build" / "zh"
OUTPUT = STATE / "html"
SITE = ROOT / "_build" / "html" / "zh"
HAN_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
EXPLORER_ALT = SOURCE / "explorer_alt.yml"
# an explorer frame's English alt text, as course_lib.widgets writes it
FRAME_ALT = re.compile(r'(<img class="course-explorer-frame"[^>]*?) alt="([^"]*)" lang="en"')


def merged(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in: mappings key by key, anything else
    replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def search_words() -> list[str]:
    """The glossary's Chinese terms (and aliases), for jieba's dictionary: a
    search for 梯度消失 then finds the whole term, and 梯度 still finds it,
    since jieba indexes the parts of a long word too (cut_for_search)."""
    from course_lib.glossary import load_entries

    words = set()
    for entry in load_entries(ROOT / "book" / "glossary"):
        for name in [entry["zh"], *entry["aliases"]]:
            words.update(HAN_RUN.findall(name))
    return sorted(words)


def configuration() -> dict:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config = merged(config, yaml.safe_load(
        (ROOT / "_config.zh.yml").read_text(encoding="utf-8")))
    search_dict = STATE / "search_words.txt"
    write_text(search_dict, "".join(w + "\n" for w in search_words()))
    # Absolute paths: the merged file is written to _build/zh/, and jupyter-book
    # resolves relative ones against the configuration file's folder.
    config["execute"]["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    config["sphinx"]["local_extensions"] = {
        name: str((ROOT / path).resolve())
        for name, path in config["sphinx"].get("local_extensions", {}).items()}
    config["sphinx"]["config"]["html_search_options"] = {"dict": str(search_dict)}
    return config


def chinese_alt(alt: str, table: dict[str, str]) -> str | None:
    """The Chinese version of an explorer frame's alt text, or None.

    ``alt`` is ``summary`` or ``"<summary without its final period>
    (<settings>)."`` (course_lib.widgets.Explorer.alt_text); ``table`` maps
    English summaries to Chinese ones. The settings (``k = 5, metric = l2``)
    are kept, in full-width parentheses.
    """
    best = None
    for english, chinese in table.items():
        stem = english.rstrip(".")
        if alt in (english, stem):
            return chinese
        if alt.startswith(stem + " (") and alt.endswith(").") and (
                best is None or len(stem) > len(best[0])):
            best = (stem, chinese)
    if best is None:
        return None
    stem, chinese = best
    settings = alt[len(stem) + 2:-2]
    return f"{chinese.rstrip('。.')}（{settings}）。"


def translate_explorer_alt(page: str, table: dict[str, str]) -> tuple[str, set[str]]:
    """``page`` (HTML) with its explorer frames' alt text in Chinese, and the
    set of English alt texts that ``table`` has no translation for (those
    frames are left as they were)."""
    missing = set()

    def swap(match):
        english = html.unescape(match.group(2))
        chinese = chinese_alt(english, table)
        if chinese is None:
            missing.add(english)
            return match.group(0)
        return f'{match.group(1)} alt="{html.escape(chinese, quote=True)}"'
    return FRAME_ALT.sub(swap, page), missing


def translate_explorers(folder: Path) -> set[str]:
    """Translate the explorer frames of every page under ``folder`` in place;
    returns the alt texts that have no translation."""
    table = yaml.safe_load(EXPLORER_ALT.read_text(encoding="utf-8")) or {}
    missing = set()
    for path in sorted(folder.rglob("*.html")):
        page = path.read_text(encoding="utf-8")
        if 'class="course-explorer-frame"' not in page:
            continue
        translated, unknown = translate_explorer_alt(page, table)
        missing |= unknown
        if translated != page:
            write_text(path, translated)
    return missing


def publish(built: Path, site: Path) -> None:
    """Replace ``site`` with a copy of ``built``: the copy is made beside
    ``built`` and renamed into place, so ``site`` is never half-copied."""
    new, old = STATE / "publish.new", STATE / "publish.old"
    for path in (new, old):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(built, new)
    if site.exists():
        site.rename(old)
    new.rename(site)
    shutil.rmtree(old, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-W", dest="warningiserror", action="store_true",
                        help="turn warnings into errors")
    parser.add_argument("-n", dest="nitpick", action="store_true",
                        help="warn about every missing reference")
    parser.add_argument("--keep-going", action="store_true",
                        help="with -W, report every warning before failing")
    args = parser.parse_args(argv)

    from jupyter_book.sphinx import build_sphinx

    path_config = STATE / "_config.yml"
    write_text(path_config, yaml.safe_dump(configuration(), allow_unicode=True))
    # What `jupyter-book build` passes for a book (latex_individualpages is
    # required by jupyter-book's configuration code).
    overrides = {"external_toc_path": str(ROOT / "_toc.zh.yml"),
                 "latex_individualpages": False}
    if args.nitpick:
        overrides["nitpicky"] = True
    print(f"Chinese edition: {SOURCE.relative_to(ROOT)}/ -> "
          f"{OUTPUT.relative_to(ROOT)}/ -> {SITE.relative_to(ROOT)}/", flush=True)
    result = build_sphinx(SOURCE, OUTPUT, doctreedir=STATE / ".doctrees",
                          noconfig=True, path_config=str(path_config),
                          confoverrides=overrides, builder="html",
                          warningiserror=args.warningiserror,
                          keep_going=args.keep_going)
    if isinstance(result, Exception) or result:
        print(f"the Chinese edition failed to build ({result!r}); "
              f"{SITE.relative_to(ROOT)}/ is left as it was", file=sys.stderr)
        return 1
    missing = translate_explorers(OUTPUT)
    if missing:
        summaries = sorted({re.sub(r" \([^()]*\)\.$", ".", alt) for alt in missing})
        print("the Chinese edition has explorer frames whose alt text has no translation; "
              f"add these summaries to {EXPLORER_ALT.relative_to(ROOT)}:\n  "
              + "\n  ".join(summaries) + f"\n{SITE.relative_to(ROOT)}/ is left as it was",
              file=sys.stderr)
        return 1
    publish(OUTPUT, SITE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

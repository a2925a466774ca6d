"""Student ids and what is written about students into files others open.

A student id names folders (``grading/submitted/<id>/``), is handed to
nbgrader (which treats it as a glob pattern: ``*`` would be every student)
and ends up in spreadsheets. So an id must match :data:`STUDENT_ID` whole
(``fullmatch``: ``$`` would accept a trailing newline): ASCII letters and
digits, then letters, digits, ``_ . @ -``, at most 64 characters. No glob
characters, no path separators, no ``+`` (the exchange's field separator),
and never a leading ``- = + @`` (options, spreadsheet formulas).

:func:`csv_cell` makes a value safe for a spreadsheet cell: text that a
spreadsheet would read as a formula gets a leading apostrophe;
:func:`write_csv` writes a whole table of such cells, atomically.
"""
import csv
import io
import re

from course_lib import _atomic

__all__ = ["STUDENT_ID", "ID_RULE", "is_student_id", "id_problem", "csv_cell", "csv_row",
           "write_csv"]

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
ID_RULE = ("letters and digits, then letters, digits, _ . @ or -; at most 64 characters; "
           "starting with a letter or digit")


def is_student_id(text):
    return isinstance(text, str) and STUDENT_ID.fullmatch(text) is not None


def id_problem(text):
    """Why ``text`` is not a usable student id, or ``""``."""
    if is_student_id(text):
        return ""
    return f"{text!r} is not a usable student id ({ID_RULE})"


# what makes Excel, LibreOffice or Google Sheets read a cell as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value):
    """``value`` for a CSV cell: numbers unchanged, text that could start a
    formula prefixed with ``'`` (OWASP's advice for CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_row(values):
    """A row (list or dict) with :func:`csv_cell` applied to each value."""
    if isinstance(values, dict):
        return {key: csv_cell(value) for key, value in values.items()}
    return [csv_cell(value) for value in values]


def write_csv(path, header, rows):
    """Write ``header`` and ``rows`` (lists, cells made safe by :func:`csv_row`)
    as a CSV file at ``path``, whole or not at all (:mod:`course_lib._atomic`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(csv_row(r) for r in rows)
    _atomic.write_text(path, buffer.getvalue())

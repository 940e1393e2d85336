"""CSV that a spreadsheet cannot run: one writer for every export (OWASP "CSV injection").

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` leaks data, ``+cmd|...`` runs commands), so
such text gets a leading single quote and shows as typed. Python numbers stay numbers: a negative count
(``-3``) is a value, not a formula, and a report column keeps its sums.
"""

import csv
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as a spreadsheet should show it: formula-like text prefixed with ``'``."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(file, **kwargs) -> SafeWriter:
    return SafeWriter(file, **kwargs)

"""CSV renderings of the reports: the same (already suppressed) rows as the page and the API.

Written through casework.csvsafe, so no cell runs as a spreadsheet formula (docs/security.md, "Exports").
"""

import io

from django.http import HttpResponse

from casework import csvsafe


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


def csv_text(fields: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csvsafe.writer(buf)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fields])
    return buf.getvalue()


def csv_response(filename: str, fields: list[str], rows: list[dict]) -> HttpResponse:
    response = HttpResponse(csv_text(fields, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_rows(report: dict) -> list[dict]:
    """A report's rows followed by its total row (group ``total``), for CSV."""
    total = dict(report["total"])
    total["group"] = "total"
    return [*report["rows"], total]

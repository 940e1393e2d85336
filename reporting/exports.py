"""CSV renderings of the reports: the same (already suppressed) rows as the page and the API.

Written through casework.csvsafe, so no cell runs as a spreadsheet formula (docs/security.md, "Exports").
"""

import io

from django.http import HttpResponse

from casework import csvsafe, labels

# A code column → the kind of words (casework.labels) of the column written beside it.
CODE_KINDS = {
    "mechanism": "mechanism",
    "place_type": "place_type",
    "state": "state",
    "reason": "reason",
    "removal_reason": "reason",
    "transition": "transition",
    "outcome": "outcome",
    "decision": "decision",
    "group_by": "grouping",
}
# A group column (a court's code, a month, a suburb) → the report's own "label" beside it.
GROUP_COLUMNS = ("group", "key")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


def with_labels(fields: list[str]) -> list[str]:
    """The columns with a words column beside each code column ("mechanism", "mechanism_label"; a
    group's "label"), so a spreadsheet reader never has to decode a code."""
    out = []
    for f in fields:
        out.append(f)
        if f in CODE_KINDS and f"{f}_label" not in fields:
            out.append(f"{f}_label")
        elif f in GROUP_COLUMNS and "label" not in fields:
            out.append("label")
    return out


def _value(row: dict, f: str):
    if f.endswith("_label") and f[: -len("_label")] in CODE_KINDS:
        code = f[: -len("_label")]
        return labels.words(CODE_KINDS[code], row.get(code)) if row.get(code) else ""
    if f == "label" and "label" not in row:
        group = next((row.get(g) for g in GROUP_COLUMNS if g in row), "")
        return labels.words("grouping", group) if group == "total" else group
    return row.get(f)


def csv_text(fields: list[str], rows: list[dict]) -> str:
    fields = with_labels(fields)
    buf = io.StringIO()
    writer = csvsafe.writer(buf)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(_value(row, f)) for f in fields])
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

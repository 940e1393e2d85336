from django import template

from reporting import permissions
from reporting.suppression import shown

register = template.Library()


@register.filter
def figure(value):
    """A count: suppressed (None) shows as "<5"."""
    if value is None:
        return "<5"
    return f"{value:,}" if isinstance(value, int) else value


@register.filter
def figure_of(row, field):
    """A count of a row: "<5" when withheld as small, "x" when withheld to protect a small one."""
    return figure(shown(row, field))


@register.filter
def pct(value):
    """A rate 0-1: withheld or undefined (None) shows as an em dash."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag(takes_context=True)
def report_pages(context):
    """(url name, label) of the report pages the signed-in user may open: no link leads to a 403."""
    request = context.get("request")
    return permissions.report_pages(request.user) if request is not None else []

"""One way to cut a list into pages: ``paginate(request, rows)`` and ``{% include "_pagination.html" %}``.

Long lists on a phone are unusable (117 referral cards were 20,800 px tall): every list shows
``PER_PAGE`` rows and links to the next and previous pages, keeping the page's filters.
"""

from django.core.paginator import Page, Paginator

PER_PAGE = 25


def paginate(request, rows, per_page: int = PER_PAGE, param: str = "page") -> Page:
    """The page of ``rows`` the query string asks for (``?page=``; a bad number gives the nearest page).

    ``param`` names the query parameter, so two lists on one page keep their own page numbers.
    ``page.query`` is the rest of the query string (the filters), for the include's links."""
    page = Paginator(rows, per_page).get_page(request.GET.get(param))
    others = request.GET.copy()
    others.pop(param, None)
    page.query = others.urlencode()
    page.param = param
    return page

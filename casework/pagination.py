"""One way to cut a list into pages: ``paginate(request, rows)`` and ``{% include "_pagination.html" %}``.

Long lists on a phone are unusable (117 referral cards were 20,800 px tall): every list shows
``PER_PAGE`` rows and links to the next and previous pages, keeping the page's filters.
"""

from django.core.paginator import Page, Paginator

from .inputs import ascii_int

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


def older_than(request, rows, per_page: int) -> tuple[list, int | None]:
    """A page of a list too large to count (admissions, referrals: millions of rows): the ``per_page``
    newest rows with an id below ``?before=``, and the id to ask for the next, older page (None: none).

    No COUNT(*) and no OFFSET, so the thousandth page costs what the first does."""
    before = ascii_int(request.GET.get("before", ""))
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows.order_by("-id")[: per_page + 1])
    more = len(page) > per_page
    page = page[:per_page]
    return page, (page[-1].pk if more and page else None)

"""The answers for 400/403/404/500 (wired in config/urls.py): plain pages in words, JSON under /api/.

Never Django's debug pages. The 500 page needs neither the database nor a request context.
"""

from django.http import JsonResponse
from django.views import defaults


def _api(request) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _api(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api(request):
        return JsonResponse({"detail": "Server error: the request could not be finished."}, status=500)
    return defaults.server_error(request)

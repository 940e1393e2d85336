from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from casework import health

api_v1 = [
    path("", include("casework.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("courtwatch.api.urls")),
    path("", include("reporting.api.urls")),
    path("", include("casework.accounts.api_urls")),
]

urlpatterns = [
    # For the load balancer and the supervisor (docs/operations.md): no sign-in, no throttle.
    path("health/", health.health, name="health"),
    path("ready/", health.ready, name="ready"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("casework.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (the CSP allows no inline script); Swagger UI
    # sets inline styles and data: icons, allowed on this page only.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("", include("casework.urls")),
    path("intake/", include("referrals.urls")),
    path("courtwatch/", include("courtwatch.urls")),
    path("reports/", include("reporting.urls")),
]

# Plain pages in words (templates/4xx.html, 500.html), JSON under /api/; never Django's debug pages.
handler400 = "casework.error_pages.bad_request"
handler403 = "casework.error_pages.permission_denied"
handler404 = "casework.error_pages.page_not_found"
handler500 = "casework.error_pages.server_error"

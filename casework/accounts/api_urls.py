from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("tokens", api.TokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/token/", api.TokenIssueView.as_view(), name="api-token-issue"),
    *router.urls,
]

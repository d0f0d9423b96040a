from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.http import views

urlpatterns = [
    # The API first, its busiest routes first: Django tries the patterns in order, on every request.
    path("api/v1/", include("tasks.urls")),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("audit.urls")),
    path("health", views.health, name="health"),
    path("health/db", views.health_db, name="health-db"),
    path("health/cache", views.health_cache, name="health-cache"),
    path("health/ready", views.health_ready, name="health-ready"),
    path("health/worker", views.health_worker, name="health-worker"),
    path("metrics", views.metrics, name="metrics"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation pages are public HTML that fetch the schema themselves: they read no token, so a stale
    # one in the header cannot fail the page's template while it renders (a 500).
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[]), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", authentication_classes=[]), name="redoc"),
    path("api/", include("tasks.compat_urls")),
    # Anything else is a JSON 404, in development too (Django's debug 404 page is HTML).
    re_path(r"^", views.not_found),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error

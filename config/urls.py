"""URL map: health check, admin, ingest, read API, OpenAPI schema and its offline Swagger UI."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/ingest/", include("sessions_app.ingest.urls")),
    path("api/v1/data-subject-requests/", include("data_subjects.api.urls")),
    path("api/v1/", include("sessions_app.api.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "config.errors.page_not_found"

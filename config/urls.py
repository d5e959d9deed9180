"""URL map: health check, admin, ingest (sessions, log records, OTLP), browser agent, read
API, OpenAPI schema and its offline Swagger UI, and the demo shop (served only with
RUMVAULT_DEMO_SHOP)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz
from logs.ingest.views import AgentConfigView, LogIngestView, OtlpLogsView

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # OTLP/HTTP's own path for logs (no trailing slash: exporters append "v1/logs").
    path("v1/logs", OtlpLogsView.as_view(), name="otlp-logs"),
    path("api/v1/ingest/logs/", LogIngestView.as_view(), name="ingest-logs"),
    path("api/v1/ingest/logs/config/", AgentConfigView.as_view(), name="ingest-logs-config"),
    path("api/v1/ingest/", include("sessions_app.ingest.urls")),
    path("api/v1/privacy/", include("masking_rules.urls")),
    path("api/v1/rum/", include("browser_agent.urls")),
    path("api/v1/data-subject-requests/", include("data_subjects.api.urls")),
    path("api/v1/", include("sessions_app.api.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("demo-shop/", include("demo_shop.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "config.errors.page_not_found"

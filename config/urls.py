"""URL map: health check, admin, ingest, browser agent, read API, OpenAPI schema and its
offline Swagger UI, and the demo shop (served only with RUMVAULT_DEMO_SHOP)."""

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
    path("api/v1/rum/", include("browser_agent.urls")),
    path("api/v1/", include("sessions_app.api.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("demo-shop/", include("demo_shop.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "config.errors.page_not_found"

"""Read API under /api/v1/ (ingest has its own URLconf)."""

from django.urls import include, path

from sessions_app.api import fieldsets, views

# No app_name: the nested rest_framework.urls must stay in the top-level
# "rest_framework" namespace, where the browsable API looks for its login link.
urlpatterns = [
    path("sessions/", views.SessionListView.as_view(), name="api-session-list"),
    path("sessions/search/", views.SessionSearchView.as_view(), name="api-session-search"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="api-session-detail"),
    path("logs/", views.LogListView.as_view(), name="api-log-list"),
    path("sessions/<int:pk>/reveal/", views.SessionRevealView.as_view(), name="api-session-reveal"),
    path("applications/", views.ApplicationListView.as_view(), name="api-application-list"),
    path("fieldsets/", fieldsets.FieldsetListCreateView.as_view(), name="api-fieldset-list"),
    # Before the detail route; a fieldset named "impact" is changed here too (PUT).
    path(
        "fieldsets/impact/",
        fieldsets.FieldsetImpactView.as_view(),
        {"name": "impact"},
        name="api-fieldset-impact",
    ),
    path(
        "fieldsets/<slug:name>/", fieldsets.FieldsetUpdateView.as_view(), name="api-fieldset-detail"
    ),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit/", views.AuditRecordListView.as_view(), name="api-audit-list"),
    # Log-in/out links of the browsable API (session authentication).
    path("auth/", include("rest_framework.urls")),
]

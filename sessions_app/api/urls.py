"""Read API under /api/v1/ (ingest has its own URLconf)."""

from django.urls import include, path

from sessions_app.api import views

# No app_name: the nested rest_framework.urls must stay in the top-level
# "rest_framework" namespace, where the browsable API looks for its login link.
urlpatterns = [
    path("sessions/", views.SessionListView.as_view(), name="api-session-list"),
    path("sessions/search/", views.SessionSearchView.as_view(), name="api-session-search"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="api-session-detail"),
    path("sessions/<int:pk>/reveal/", views.SessionRevealView.as_view(), name="api-session-reveal"),
    path("applications/", views.ApplicationListView.as_view(), name="api-application-list"),
    path("fieldsets/", views.FieldsetListView.as_view(), name="api-fieldset-list"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit/", views.AuditRecordListView.as_view(), name="api-audit-list"),
    # Log-in/out links of the browsable API (session authentication).
    path("auth/", include("rest_framework.urls")),
]

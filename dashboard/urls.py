from django.urls import path

from dashboard import console, views

app_name = "dashboard"

urlpatterns = [
    path("", views.find, name="find"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/reveal/", views.session_reveal, name="session-reveal"),
    path("settings/", views.profile, name="profile"),
    path("overview/", views.overview, name="overview"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    # The privacy officer's console (dashboard/console.py).
    path("privacy/", console.home, name="privacy"),
    path("privacy/audit/", console.audit_trail, name="privacy-audit"),
    path("privacy/who/", console.who_looked, name="privacy-who"),
    path("privacy/history/", console.history, name="privacy-history"),
    path("privacy/jobs/", console.jobs, name="privacy-jobs"),
    path("privacy/requests/", console.requests, name="privacy-requests"),
    path("privacy/requests/<int:pk>/", console.request_detail, name="privacy-request"),
    path("privacy/requests/<int:pk>/approve/", console.request_approve,
         name="privacy-request-approve"),
    path("privacy/requests/<int:pk>/run/", console.request_run, name="privacy-request-run"),
    path("privacy/requests/<int:pk>/receipt/", console.request_receipt,
         name="privacy-request-receipt"),
    path("privacy/requests/<int:pk>/export/", console.request_export,
         name="privacy-request-export"),
]  # fmt: skip

from django.urls import path

from sessions_app.ingest.views import SessionIngestView

app_name = "ingest"
urlpatterns = [
    path("sessions/", SessionIngestView.as_view(), name="sessions"),
]

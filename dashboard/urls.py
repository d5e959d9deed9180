from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.find, name="find"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/reveal/", views.session_reveal, name="session-reveal"),
    path("settings/", views.profile, name="profile"),
    path("overview/", views.overview, name="overview"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

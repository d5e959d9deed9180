"""Data-subject requests under /api/v1/data-subject-requests/."""

from django.urls import path

from data_subjects.api import views

urlpatterns = [
    path("", views.RequestListView.as_view(), name="api-dsr-list"),
    path("<int:pk>/", views.RequestDetailView.as_view(), name="api-dsr-detail"),
    path("<int:pk>/approve/", views.RequestApproveView.as_view(), name="api-dsr-approve"),
    path("<int:pk>/run/", views.RequestRunView.as_view(), name="api-dsr-run"),
    path("<int:pk>/receipt/", views.RequestReceiptView.as_view(), name="api-dsr-receipt"),
    path("<int:pk>/export/", views.RequestExportView.as_view(), name="api-dsr-export"),
]

"""``/api/v1/privacy/``: masking rules and their preview."""

from django.urls import path

from masking_rules import api

urlpatterns = [
    path("rules/", api.RuleListView.as_view(), name="api-rule-list"),
    path("rules/preview/", api.RulePreviewView.as_view(), name="api-rule-preview"),
    path("rules/<int:pk>/", api.RuleDetailView.as_view(), name="api-rule-detail"),
]

"""Error pages: JSON under /api/, Django's default pages elsewhere.

A URL the API's patterns do not match (``/api/v1/sessions/-1/``) must look
like any other API 404, not like an HTML page: clients parse it, and the
schema promises JSON.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)

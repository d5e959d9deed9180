"""The demo shop (``/demo-shop/``): a few fashion-shop pages instrumented with ``rum.js``.

Served only with ``RUMVAULT_DEMO_SHOP`` (on with ``DEBUG``, so in ``make demo``):
a 404 otherwise, so a production rumvault never serves a shop. The pages load
the agent through its loader tag with the public beacon key of the
``fashion-store`` application (``seed_demo`` lists the demo's origins for it).
Its two API endpoints stand in for a shop's backend: the cart answers 200, the
payment always 502. Neither reads the request body: what the checkout form
holds never reaches this server.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from browser_agent.agent import agent_url, loader_tag, script_tag
from sessions_app.management.commands._demo_traffic import PRODUCTS
from sessions_app.models import Application

SHOP_APPLICATION = "fashion-store"
CURRENCY = "EUR"

View = Callable[..., HttpResponse]


def demo_only(view: View) -> View:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.RUMVAULT_DEMO_SHOP:
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


def _products() -> list[dict[str, Any]]:
    return [{"sku": sku, "name": name, "price": Decimal(price)} for sku, name, price in PRODUCTS]


# ?agent= picks the page's tag, for bench/agent.py: the loader (the default, as
# `beacon_key` recommends), the agent's own deferred tag, that tag's file without a key
# (it stops as soon as it has run: what the file alone costs), or no agent.
AGENT_TAGS = ("loader", "plain", "idle", "off")


def _agent_tag(choice: str, key: str | None) -> SafeString:
    if key is None or choice == "off":
        return SafeString("")
    if choice == "idle":
        return format_html('<script defer src="{}"></script>', agent_url())
    if choice == "plain":
        return script_tag(base_url="", key=key)
    return loader_tag(base_url="", key=key)


def _page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    choice = request.GET.get("agent", "loader")
    if choice not in AGENT_TAGS:
        return HttpResponseBadRequest(f"agent must be one of {', '.join(AGENT_TAGS)}")
    # The key is looked up whatever the choice: the pages then cost the server the same,
    # and differ in the browser only by the agent's tag.
    application = Application.objects.filter(slug=SHOP_APPLICATION).only("beacon_key").first()
    return render(
        request,
        f"demo_shop/{template}",
        {
            "agent_tag": _agent_tag(choice, application.beacon_key if application else None),
            "currency": CURRENCY,
            **context,
        },
    )


@demo_only
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    return _page(request, "list.html", products=_products())


@demo_only
@require_GET
def product_page(request: HttpRequest, sku: str) -> HttpResponse:
    products = _products()
    product = next((item for item in products if item["sku"] == sku), None)
    if product is None:
        raise Http404
    others = [item for item in products if item["sku"] != sku][:3]
    return _page(request, "product.html", product=product, others=others)


@demo_only
@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    return _page(request, "cart.html")


@demo_only
@require_GET
def checkout(request: HttpRequest) -> HttpResponse:
    return _page(request, "checkout.html")


# No CSRF token: the demo API reads no cookie, no session and no body.
@csrf_exempt
@demo_only
@require_POST
def cart_api(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "added"})


@csrf_exempt
@demo_only
@require_POST
def payment_api(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "The payment provider did not answer."}, status=502)

"""The admin's server-side customer searches: bounded, per user, never in a cookie."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from sessions_app import admin_search
from sessions_app.user_tags import customer_search

pytestmark = pytest.mark.django_db


def request_of(user: User, session: SessionStore | None = None) -> WSGIRequest:
    request = RequestFactory().post("/admin/sessions_app/usersession/customer-search/")
    request.user = user
    request.session = session if session is not None else SessionStore()
    return request


def test_a_user_keeps_only_the_newest_searches() -> None:
    request = request_of(User.objects.create_user("agent"))
    ids = [
        admin_search.remember(request, customer_search(f"c{number}@example.com"))
        for number in range(admin_search.MAX_SEARCHES + 1)
    ]
    assert admin_search.recall(request, ids[0]) is None
    assert admin_search.recall(request, ids[-1]) == customer_search(
        f"c{admin_search.MAX_SEARCHES}@example.com"
    )


def test_a_search_is_bound_to_the_user_who_made_it() -> None:
    session = SessionStore()
    mine = request_of(User.objects.create_user("agent"), session)
    search_id = admin_search.remember(mine, customer_search("jane@example.com"))
    # Another user on the same (not yet cycled) session store finds nothing.
    theirs = request_of(User.objects.create_user("other"), session)
    assert admin_search.recall(theirs, search_id) is None
    assert admin_search.recall(mine, search_id) is not None


def test_a_cookie_session_store_is_refused(settings) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    request = request_of(User.objects.create_user("agent"))
    with pytest.raises(ImproperlyConfigured):
        admin_search.remember(request, customer_search("jane@example.com"))

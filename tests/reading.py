"""Reading sessions in tests the way the API does: the edge (``sessions_app.queries``), then
the read layer's selectors. Test code passes a user or an already built policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from permissions.policy import FieldsetPolicy
from sessions_app import selectors
from sessions_app.queries import parse_session_query
from sessions_app.user_tags import USER_TAG, customer_search

Principal = FieldsetPolicy | AbstractBaseUser


def policy_of(principal: Principal) -> FieldsetPolicy:
    return principal if isinstance(principal, FieldsetPolicy) else FieldsetPolicy(user=principal)


def read_sessions(principal: Principal, filters: Mapping[str, Any]) -> selectors.SessionRows:
    """Filters as a URL or search body holds them (``user_tag`` makes it a search)."""
    policy = policy_of(principal)
    rest = {name: value for name, value in filters.items() if name != USER_TAG}
    query = parse_session_query(rest, policy=policy)
    if USER_TAG in filters:
        search = customer_search(filters[USER_TAG])
        return selectors.customer_sessions(policy=policy, search=search, query=query)
    return selectors.session_list(policy=policy, query=query)


def read_session(principal: Principal, pk: int) -> dict[str, Any]:
    return selectors.session_get(policy=policy_of(principal), pk=pk)

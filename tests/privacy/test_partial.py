"""Partial forms: they confirm a value the agent was told, and tell nothing beyond their part."""

from __future__ import annotations

import ipaddress
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from privacy.partial import (
    BULLET,
    HIDDEN,
    partial_coordinate,
    partial_ip,
    partial_user_tag,
)

EXAMPLES = 200
# Local parts and domains as user tags hold them (normalised: no "@" in either).
locals_ = st.text(st.characters(blacklist_characters="@", blacklist_categories=("Cs",)), min_size=1)
domains = st.text(st.characters(blacklist_characters="@", blacklist_categories=("Cs",)), min_size=1)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("jane.doe@example.com", "j•••@example.com"),
        ("j@example.com", "j•••@example.com"),
        ('"a@b"@example.com', '"•••@example.com'),
        ("@example.com", "•••@example.com"),
        ("customer-42", "c•••"),
        ("", ""),
    ],
)
def test_user_tag_examples(tag: str, expected: str) -> None:
    assert partial_user_tag(tag) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("81.2.69.0", "81.2.•.•"),
        ("203.0.113.42", "203.0.•.•"),
        ("2001:db8:85a3::", "2001:db8:•:•:•:•:•:•"),
        ("::1", "0:0:•:•:•:•:•:•"),
        ("::ffff:8.8.4.0", "0:0:•:•:•:•:•:•"),
        ("not an address", HIDDEN),
        ("", HIDDEN),
    ],
)
def test_ip_examples(address: str, expected: str) -> None:
    assert partial_ip(address) == expected


def test_coordinate_examples() -> None:
    assert partial_coordinate(48.2082) == 48.0
    assert partial_coordinate(16.5) == 16.0  # banker's rounding, still within half a degree
    assert partial_coordinate(-0.4) == 0.0
    assert partial_coordinate(float("nan")) is None
    assert partial_coordinate(float("inf")) is None


@settings(max_examples=EXAMPLES)
@given(locals_, locals_, domains)
def test_an_email_form_depends_only_on_the_first_character_and_the_domain(
    local: str, other: str, domain: str
) -> None:
    # Two customers of one domain look alike exactly when their first characters do:
    # nothing else of the local part, its length included, reaches the form.
    same = partial_user_tag(f"{local}@{domain}") == partial_user_tag(f"{other}@{domain}")
    assert same == (local[0] == other[0])
    assert partial_user_tag(f"{local}@{domain}") == f"{local[0]}{HIDDEN}@{domain}"


@settings(max_examples=EXAMPLES)
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_a_form_shows_at_most_the_first_character_and_the_domain(tag: str) -> None:
    form = partial_user_tag(tag)
    if tag:
        assert HIDDEN in form
        assert form.startswith(tag[0]) or form.startswith(HIDDEN)
        assert len(form) <= 1 + len(HIDDEN) + len(tag.rpartition("@")[2]) + 1


@settings(max_examples=EXAMPLES)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_ipv4_forms_are_equal_exactly_within_one_slash_16(a: int, b: int) -> None:
    first, second = ipaddress.IPv4Address(a), ipaddress.IPv4Address(b)
    same_network = a >> 16 == b >> 16
    assert (partial_ip(str(first)) == partial_ip(str(second))) == same_network
    assert partial_ip(str(first)).count(BULLET) == 2


@settings(max_examples=EXAMPLES)
@given(st.integers(0, 2**128 - 1), st.integers(0, 2**128 - 1))
def test_ipv6_forms_are_equal_exactly_within_one_slash_32(a: int, b: int) -> None:
    first, second = ipaddress.IPv6Address(a), ipaddress.IPv6Address(b)
    same_network = a >> 96 == b >> 96
    assert (partial_ip(str(first)) == partial_ip(str(second))) == same_network
    assert partial_ip(str(first)).count(BULLET) == 6


@settings(max_examples=EXAMPLES)
@given(st.floats(min_value=-180, max_value=180, allow_nan=False))
def test_a_coordinate_keeps_only_whole_degrees(value: float) -> None:
    form = partial_coordinate(value)
    assert form is not None
    assert form == math.floor(form)
    assert abs(form - value) <= 0.5
    assert partial_coordinate(form) == form


@settings(max_examples=EXAMPLES)
@given(st.floats(min_value=-180, max_value=180, allow_nan=False), st.floats(0, 0.49))
def test_coordinates_within_one_degree_cell_look_alike(value: float, shift: float) -> None:
    centre = float(round(value))
    assume(-180 <= centre + shift <= 180)
    assert partial_coordinate(centre + shift) == partial_coordinate(centre) == centre

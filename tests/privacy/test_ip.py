"""IP truncation: the three ``ip_masking`` modes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.ip import IpMasking, mask_ip

EXAMPLES = 200
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MODES = [mode.value for mode in IpMasking]
addresses = st.ip_addresses()
private_addresses = st.one_of(
    st.ip_addresses(network="10.0.0.0/8"),
    st.ip_addresses(network="172.16.0.0/12"),
    st.ip_addresses(network="192.168.0.0/16"),
    st.ip_addresses(network="127.0.0.0/8"),
    st.ip_addresses(network="169.254.0.0/16"),
    st.ip_addresses(network="::1/128"),
    st.ip_addresses(network="fc00::/7"),
    st.ip_addresses(network="fe80::/10"),
)


@pytest.mark.parametrize(
    ("address", "mode", "expected"),
    [
        ("203.0.113.42", "all", "203.0.113.0"),
        ("8.8.8.8", "public", "8.8.8.0"),
        ("10.1.2.3", "public", "10.1.2.3"),
        ("10.1.2.3", "all", "10.1.2.0"),
        ("2001:db8:85a3::8a2e:370:7334", "all", "2001:db8:85a3::"),
        ("2001:4860:4860::8888", "public", "2001:4860:4860::"),
        ("fe80::1", "public", "fe80::1"),
        ("2001:DB8:0:0::1", "off", "2001:db8::1"),
        ("203.0.113.42", "off", "203.0.113.42"),
    ],
)
def test_examples(address: str, mode: str, expected: str) -> None:
    assert mask_ip(address, mode=mode) == expected


def test_ipv4_mapped_addresses_mask_the_embedded_ipv4() -> None:
    masked = ipaddress.ip_address(mask_ip("::ffff:8.8.4.4", mode="all"))
    assert masked == ipaddress.ip_address("::ffff:8.8.4.0")
    assert mask_ip("::ffff:10.0.0.7", mode="public") == mask_ip("::ffff:10.0.0.7", mode="off")


@pytest.mark.parametrize(
    "address", ["", "1.2.3", "256.1.1.1", "01.2.3.4", "jane@example.com", "::g"]
)
def test_invalid_addresses_raise_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        mask_ip(address, mode="all")


def test_unknown_mode_raises_value_error() -> None:
    with pytest.raises(ValueError, match="IpMasking"):
        mask_ip("10.0.0.1", mode="some")


@settings(max_examples=EXAMPLES)
@given(addresses, st.sampled_from(MODES))
def test_masking_is_idempotent_and_keeps_the_version(address: Address, mode: str) -> None:
    masked = mask_ip(str(address), mode=mode)
    assert mask_ip(masked, mode=mode) == masked
    assert ipaddress.ip_address(masked).version == address.version


@settings(max_examples=EXAMPLES)
@given(st.integers(0, 2**24 - 1), st.integers(0, 255), st.integers(0, 255))
def test_ipv4_addresses_of_one_slash_24_collapse(network: int, host_a: int, host_b: int) -> None:
    first = ipaddress.IPv4Address(network << 8 | host_a)
    second = ipaddress.IPv4Address(network << 8 | host_b)
    assert mask_ip(str(first), mode="all") == mask_ip(str(second), mode="all")
    assert mask_ip(str(first), mode="all").endswith(".0")


@settings(max_examples=EXAMPLES)
@given(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1), st.integers(0, 2**80 - 1))
def test_ipv6_addresses_of_one_slash_48_collapse(network: int, host_a: int, host_b: int) -> None:
    first = ipaddress.IPv6Address(network << 80 | host_a)
    second = ipaddress.IPv6Address(network << 80 | host_b)
    if first.ipv4_mapped is not None:  # ::ffff:0:0/96 follows the IPv4 rule instead
        return
    masked = mask_ip(str(first), mode="all")
    assert masked == mask_ip(str(second), mode="all")
    assert int(ipaddress.IPv6Address(masked)) == network << 80


@settings(max_examples=EXAMPLES)
@given(addresses)
def test_off_keeps_the_address(address: Address) -> None:
    assert mask_ip(str(address), mode="off") == str(address)
    assert mask_ip(str(address).upper(), mode="off") == str(address)


@settings(max_examples=EXAMPLES)
@given(private_addresses)
def test_public_keeps_private_addresses(address: Address) -> None:
    assert mask_ip(str(address), mode="public") == str(address)


@settings(max_examples=EXAMPLES)
@given(addresses)
def test_public_masks_exactly_the_global_addresses(address: Address) -> None:
    public = mask_ip(str(address), mode="public")
    judged = getattr(address, "ipv4_mapped", None) or address  # ::ffff:a.b.c.d is a.b.c.d
    if judged.is_global:
        assert public == mask_ip(str(address), mode="all")
    else:
        assert public == str(address)

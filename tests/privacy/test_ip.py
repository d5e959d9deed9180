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


def _carried_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """Written from the RFCs, not from ``privacy.ip``: the IPv4 an IPv6 form carries."""
    offset = _ipv4_offset(address)
    if offset is None:
        return None
    value = (int(address) >> (96 - offset)) & 0xFFFF_FFFF
    if int(address) >> 96 == 0x2001_0000:  # Teredo obfuscates the client by XOR
        value ^= 0xFFFF_FFFF
    return ipaddress.IPv4Address(value)


def _ipv4_offset(address: Address) -> int | None:
    """Bit position of the carried IPv4 in the 128 bits, or None."""
    if address.version == 4:
        return None
    value = int(address)
    if value >> 32 == 0xFFFF or value >> 32 == 0x64_FF9B << 64:  # mapped, NAT64
        return 96
    if value >> 112 == 0x2002:  # 6to4
        return 16
    if value >> 96 == 0x2001_0000:  # Teredo: the client
        return 96
    return None


def _hides_the_last_octet(address: Address, masked: Address) -> bool:
    """The carried IPv4's last octet and every bit after it are zero in ``masked``."""
    offset = _ipv4_offset(address)
    assert offset is not None
    low_bits = 128 - (offset + 24)
    return int(masked) & ((1 << low_bits) - 1) == 0


# One public IPv4 (8.8.4.77) in every IPv6 form that carries one.
EMBEDDING_FORMS = {
    "6to4": "2002:808:44d::1",
    "6to4 with interface bits": "2002:808:44d:1234:5678:9abc:def0:1",
    "teredo": "2001:0:4136:e378:8000:63bf:f7f7:fbb2",
    "ipv4-mapped": "::ffff:8.8.4.77",
    "nat64": "64:ff9b::8.8.4.77",
}


@pytest.mark.parametrize("form", EMBEDDING_FORMS)
@pytest.mark.parametrize("mode", ["all", "public"])
def test_ipv6_forms_carrying_an_ipv4_hide_at_least_its_last_octet(form: str, mode: str) -> None:
    address = ipaddress.IPv6Address(EMBEDDING_FORMS[form])
    assert _carried_ipv4(address) == ipaddress.IPv4Address("8.8.4.77")
    masked = ipaddress.IPv6Address(mask_ip(str(address), mode=mode))
    assert _hides_the_last_octet(address, masked)
    expected = {
        "6to4": "2002:808:400::",
        "6to4 with interface bits": "2002:808:400::",
        "teredo": "2001:0:4136::",
        "ipv4-mapped": "::ffff:8.8.4.0",
        "nat64": "64:ff9b::8.8.4.0",
    }[form]
    assert masked == ipaddress.IPv6Address(expected)


@settings(max_examples=EXAMPLES)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**128 - 1), st.sampled_from(["all", "public"]))
def test_a_carried_ipv4_is_masked_at_least_as_strongly_as_the_ipv4(
    v4: int, noise: int, mode: str
) -> None:
    ipv4 = ipaddress.IPv4Address(v4)
    forms = [
        (0x2002 << 112) | (v4 << 80) | (noise & (2**80 - 1)),  # 6to4
        (0xFFFF << 32) | v4,  # IPv4-mapped
        (0x64_FF9B << 96) | v4,  # NAT64
        (0x2001_0000 << 96) | (noise & (2**96 - 2**32)) | (v4 ^ 0xFFFF_FFFF),  # Teredo
    ]
    for form in forms:
        address = ipaddress.IPv6Address(form)
        assert _carried_ipv4(address) == ipv4
        masked = ipaddress.IPv6Address(mask_ip(str(address), mode=mode))
        if mode == "all" or ipv4.is_global:  # where the IPv4 itself would be masked
            assert _hides_the_last_octet(address, masked), address
        else:  # "public" keeps a private IPv4, and so the form carrying it
            assert masked == address


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
    if _carried_ipv4(first) is not None or _carried_ipv4(second) is not None:  # IPv4 rule
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
    judged = _carried_ipv4(address) or address  # ::ffff:a.b.c.d is a.b.c.d
    if judged.is_global:
        assert public == mask_ip(str(address), mode="all")
    else:
        assert public == str(address)

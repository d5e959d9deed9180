"""Hypothesis strategies shared by the privacy tests.

Check digits are computed here independently of ``privacy.detectors`` so that the
tests do not trust the code they are testing.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

# Surrounding text: no "@" or "%", which could legitimately extend a neighbouring
# email over the embedded value, but plenty of digits and punctuation.
FILLER_ALPHABET = string.ascii_letters + string.digits + " .,;:!?()/_'\"-\n"
fillers = st.text(alphabet=FILLER_ALPHABET, max_size=30)
# No bare "." or ":": "5.1.2.3.4" or "ab:2001:db8::1" are ambiguous even to a reader.
separators = st.sampled_from([" ", ", ", "; ", ": ", "\n", " (", ") ", "-", "/", "\t", "="])


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass Luhn (doubling every second from the right)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:  # these get doubled once the check digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13 to 19 digits, no separators."""
    length = draw(st.integers(min_value=13, max_value=19))
    body = draw(st.text(alphabet=string.digits, min_size=length - 1, max_size=length - 1))
    return body + luhn_check_digit(body)


def group(text: str, size: int, separator: str) -> str:
    return separator.join(text[index : index + size] for index in range(0, len(text), size))


@st.composite
def formatted_card_numbers(draw: st.DrawFn) -> str:
    """A valid card number as people write it: compact or in groups of four."""
    number = draw(card_numbers())
    separator = draw(st.sampled_from(["", " ", "-"]))
    if not separator or len(number) % 4 in (1, 2):  # "4111 1111 1111 1" is not a format
        return number
    return group(number, 4, separator)


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(char, 36)) for char in rearranged))
    return f"{98 - number % 97:02d}"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """A mod-97-valid IBAN without spaces (any country code, 11-30 BBAN characters)."""
    country = draw(st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2))
    bban = draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=11, max_size=30))
    return country + iban_check_digits(country, bban) + bban


@st.composite
def formatted_ibans(draw: st.DrawFn) -> str:
    """A valid IBAN, compact or printed in groups of four."""
    iban = draw(ibans())
    return group(iban, 4, " ") if draw(st.booleans()) else iban


ALNUM = string.ascii_letters + string.digits
# Built from plain text strategies rather than st.from_regex, which is several times
# slower to draw from and would dominate the run time of the suite.
labels = st.builds(
    lambda first, middle: first + middle,
    st.sampled_from(ALNUM),
    st.text(alphabet=ALNUM + "-", max_size=8).map(lambda text: text.rstrip("-")),
)
top_level_domains = st.text(alphabet=string.ascii_letters, min_size=2, max_size=6)
domains = st.builds(
    lambda names, tld: ".".join([*names, tld]),
    st.lists(labels, min_size=1, max_size=2),
    top_level_domains,
)
emails = st.builds(
    lambda first, rest, at, domain: f"{first}{rest}{at}{domain}",
    st.sampled_from(ALNUM),
    st.text(alphabet=ALNUM + "._+-", max_size=15),
    st.sampled_from(["@", "%40"]),
    domains,
)
ip_addresses = st.ip_addresses().map(str).filter(lambda address: address != "::")
uuids = st.uuids().map(str)
personal_data = st.one_of(emails, formatted_card_numbers(), formatted_ibans(), ip_addresses, uuids)

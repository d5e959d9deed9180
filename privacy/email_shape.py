"""Whether a string looks like an email address: the gate that keeps emails out of URLs.

An email in a URL lands in browser history, proxy and access logs, and works
there as a key to a customer's sessions, so every read path refuses one in a
query string (names and values) and points to the search, which takes the
email in a request body.

Deliberately broader than the masking detector (``privacy.detectors``): a false
positive here costs a ``400`` that says where to search instead, a false
negative puts a customer's email in a log. So the test is the shape
``x@y.z`` with anything but whitespace around the at sign, after undoing what
a client can do to hide it: Unicode compatibility forms (the fullwidth and
small at signs U+FF20 and U+FE6B), percent-encoding (``%40``, ``%2540``) and non-ASCII domains
(``kunde@müller.de``). Whatever the masking detector (``privacy.detectors``)
takes for an email is always refused here too: a property test holds the two
together.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from privacy.stable import until_stable

# local@domain.tld: one non-blank character before the at sign, a dot somewhere
# after it, one non-blank character after that dot. Linear: no part can cross
# an at sign or a blank, so each stretch between them is scanned once per at sign.
_EMAIL_SHAPE = re.compile(r"[^\s]@[^\s@]*[^\s@.]\.[^\s@.]")
# Characters without which no email can be written: the at sign and the
# percent sign, and every character NFKC folds into either (fullwidth and small
# forms; a test derives this set from the Unicode database).
_CAN_HOLD_EMAIL = re.compile("[@%\ufe6a\ufe6b\uff05\uff20]")
# "%40", also encoded again ("%2540", "%252540").
_ENCODED_AT = re.compile(r"%(?:25)*40", re.IGNORECASE)


def looks_like_email(text: str) -> bool:
    """True if ``text`` holds something shaped like an email address, however it is written."""
    if _CAN_HOLD_EMAIL.search(text) is None:
        return False
    folded = unicodedata.normalize("NFKC", text)
    # Decoded fully, and with only the encoded at signs decoded: decoding every
    # escape can also hide one ("x%09%40y.io" has a tab before its at sign).
    decoded = unicodedata.normalize("NFKC", until_stable(unquote, folded))
    at_signs_decoded = _ENCODED_AT.sub("@", folded)
    return any(_EMAIL_SHAPE.search(form) for form in (folded, at_signs_decoded, decoded))

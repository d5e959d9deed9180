"""The text detectors on adversarial input: time per input, and how it grows with the length.

    .venv/bin/python bench/detectors.py [--repeat 5]

``privacy.detectors`` is written to run in linear time (see its module
docstring): no pattern retries a failed match from every position of a long
run. This script shows it on inputs built to defeat that (long runs of the
characters each detector starts or continues on): for each, the best of
``--repeat`` runs at 10,000 and at 40,000 characters, and the ratio. Linear
work gives about 4; quadratic work would give about 16. Timings belong here,
not in the test suite (a busy CI machine is no evidence of a regression).
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from privacy.detectors import mask_text


def adversarial(length: int) -> dict[str, str]:
    rng = random.Random(20261128)
    mixed = string.ascii_letters + string.digits + " .:-@%"
    units = {
        "digits and spaces": "1 ",
        "digits and dashes": "1-",
        "card-like groups": "1234 ",
        "dotted words": "a.",
        "percent-encoded at signs": "a%40",
        "at signs and dots": "a@b.",
        "IPv6-like colons": "1:",
        "IPv4-like dots": "1.",
        "token-like words": "ab12 ",
        "one letter": "f",
    }
    texts = {name: (unit * (length // len(unit) + 1))[:length] for name, unit in units.items()}
    texts["random mixed"] = "".join(rng.choice(mixed) for _ in range(length))
    texts["random digits and spaces"] = "".join(rng.choice("0123456789 ") for _ in range(length))
    return texts


def best_of(text: str, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        mask_text(text)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    short, long = adversarial(10_000), adversarial(40_000)
    print(f"{'input':<28} {'10k chars':>10} {'40k chars':>10} {'ratio':>6}")
    for name in short:
        small, large = best_of(short[name], options.repeat), best_of(long[name], options.repeat)
        print(f"{name:<28} {small * 1000:>8.1f}ms {large * 1000:>8.1f}ms {large / small:>6.1f}")


if __name__ == "__main__":
    main()

"""The documentation a user reads is complete and points only at files they have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sessions_app.ingest import validation

ROOT = Path(__file__).resolve().parent.parent
BEACON_FORMAT = ROOT / "docs/beacon-format.md"
# Where a reader or a maintainer follows a reference to another document.
DOCUMENTED_TREES = ("README.md", "docs", "bench", "browser_agent", "config", "dashboard",
                    "demo_shop", "fieldsets", "permissions", "privacy", "sessions_app",
                    "masking_rules", "jobs", "logs", "agents", "tests",
                    "Makefile", "pyproject.toml", ".ci")  # fmt: skip
TEXT_SUFFIXES = {".md", ".py", ".txt", ".toml", ".html", ".sh", ".js", ".mjs", ""}
# Installed packages (the agent's build tool) are not the project's documents.
NOT_DOCUMENTED = "node_modules"
DOCUMENT_REFERENCE = re.compile(r"[\w./-]*\w\.md\b")


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in DOCUMENTED_TREES:
        top = ROOT / name
        candidates = [top] if top.is_file() else top.rglob("*")
        files += [
            path
            for path in candidates
            if path.is_file()
            and path.suffix in TEXT_SUFFIXES
            and "__pycache__" not in path.parts
            and NOT_DOCUMENTED not in path.parts
        ]
    return files


def test_every_document_a_file_refers_to_is_in_the_repository() -> None:
    missing = sorted(
        f"{path.relative_to(ROOT)}: {reference}"
        for path in _text_files()
        for reference in DOCUMENT_REFERENCE.findall(path.read_text(encoding="utf-8"))
        if not (ROOT / reference).is_file() and not (path.parent / reference).is_file()
    )

    assert missing == []


def _table_fields(section: str) -> set[str]:
    """The backticked names in the first column of the table under heading ``section``."""
    text = BEACON_FORMAT.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(section)}\n(.*?)(?=^#)", text, re.M | re.S)
    assert match is not None, f"no section {section!r}"
    return set(re.findall(r"^\| `([a-z_]+)` \|", match.group(1), re.M))


@pytest.mark.parametrize(
    ("section", "accepted"),
    [
        ("Batch", validation.BATCH_KEYS),
        ("Session", validation.SESSION_KEYS),
        ("geo", validation.GEO_KEYS),
        # input_value is accepted (and dropped unread), so it is documented too.
        ("Action", validation.ACTION_KEYS | {"input_value"}),
        ("error", validation.ERROR_KEYS),
        ("product", validation.PRODUCT_KEYS),
    ],
)
def test_beacon_format_documents_exactly_the_fields_ingest_accepts(
    section: str, accepted: frozenset[str]
) -> None:
    assert _table_fields(section) == accepted


def test_beacon_format_lists_every_action_type_and_product_event() -> None:
    text = BEACON_FORMAT.read_text(encoding="utf-8")

    for value in (*validation.ACTION_TYPES, *validation.PRODUCT_EVENTS):
        assert f"`{value}`" in text


def test_the_readme_documents_every_privacy_default() -> None:
    from privacy.defaults import PRIVACY_SETTINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for setting in PRIVACY_SETTINGS:
        assert f"| `{setting.variable}` |" in readme

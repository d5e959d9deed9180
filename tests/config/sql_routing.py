"""Does a SQL statement name the application of every sharded table it reads or writes?

A Citus deployment (``docs/scaling.md``, "Routable by application") distributes
sessions, actions and log records by ``application_id``. A statement reaches
one shard only if each of those tables in it is held to an application by its
condition, or is written with the column. ``unrouted`` answers which
references in a statement are not, from the SQL text alone:

* a reference is a table after ``FROM``, ``JOIN``, ``UPDATE``, ``INSERT INTO``
  or ``COPY``, with its alias; each subquery is its own query, so a condition
  of the outer query does not count for a table of a subquery, nor the reverse;
* a ``SELECT``, ``UPDATE`` or ``DELETE`` reference is routed if a ``WHERE`` or
  ``ON`` condition of its own query compares ``<alias>.application_id`` with
  ``=`` or ``IN`` (``NOT IN`` does not count), outside any ``OR`` (a disjunct
  constrains nothing); the column in the select list, ``GROUP BY`` or a
  ``SET`` does not count;
* an ``INSERT`` or ``COPY`` is routed if its column list holds ``application_id``.

A statement that names one of the tables in a way none of these rules reads
(``TRUNCATE``, ``INSERT ... SELECT`` without columns) is reported, not
passed. DDL (``CREATE``, ``ALTER``, ``DROP``) is schema change, not a read or
write of rows, and is left out. Partitions (``..._p2026_11``) are tables of
their own name: whole-month maintenance is cross-application by design.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>[EeXxBb]?'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<param>%s|\?|\$\d+)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<op><>|!=|<=|>=|::|\|\||->>|->|[=<>,.;*+\-/%:\[\]])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# Words that end a table reference's alias, or a condition.
_CLAUSES = {
    "WHERE", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "JOIN", "ON", "SET", "GROUP",
    "ORDER", "LIMIT", "OFFSET", "FOR", "UNION", "AS", "VALUES", "RETURNING", "USING",
    "HAVING", "WINDOW", "EXCEPT", "INTERSECT", "NATURAL", "DEFAULT", "SELECT", "FROM",
    "OUTER", "LATERAL", "FETCH",
}  # fmt: skip
_CONDITION_ENDS = _CLAUSES - {"AS", "SET", "DEFAULT", "SELECT", "FROM", "OUTER", "VALUES"}
_DDL = {"CREATE", "ALTER", "DROP", "ANALYZE", "VACUUM", "COMMENT", "GRANT", "REVOKE"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> str | None:
        """An identifier's name (quotes removed, unquoted names folded), else None."""
        if self.kind == "quoted":
            return self.text[1:-1].replace('""', '"')
        if self.kind == "word":
            return self.text.lower()
        return None


@dataclass(slots=True)
class _Group:
    items: list[Token | _Group] = field(default_factory=list)

    def first_word(self) -> str:
        for item in self.items:
            return item.word if isinstance(item, Token) else ""
        return ""

    @property
    def is_query(self) -> bool:
        return self.first_word() in {"SELECT", "WITH"}


_OPEN, _CLOSE = Token("open", "("), Token("close", ")")


def _parse(sql: str) -> _Group:
    root = _Group()
    stack = [root]
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
        if kind == "open":
            group = _Group()
            stack[-1].items.append(group)
            stack.append(group)
        elif kind == "close" and len(stack) > 1:
            stack.pop()
        else:
            stack[-1].items.append(Token(kind, match.group()))
    return root


def _queries(group: _Group) -> list[list[Token]]:
    """Each query of the statement (the statement, each subquery) as its own tokens:
    parentheses that group conditions or lists are kept, subqueries left out."""
    found: list[list[Token]] = []

    def flatten(current: _Group, into: list[Token]) -> None:
        for item in current.items:
            if isinstance(item, Token):
                into.append(item)
            elif item.is_query:
                into.append(Token("subquery", "(SELECT ...)"))
                own: list[Token] = []
                flatten(item, own)
                found.append(own)
            else:
                into.append(_OPEN)
                flatten(item, into)
                into.append(_CLOSE)

    top: list[Token] = []
    flatten(group, top)
    found.insert(0, top)
    return found


@dataclass(frozen=True, slots=True)
class Reference:
    table: str
    qualifier: str
    kind: str  # FROM, JOIN, UPDATE, INTO, COPY
    columns: tuple[str, ...] | None = None  # INSERT/COPY column list


def _references(tokens: list[Token], tables: set[str]) -> list[Reference]:
    found = []
    for index, token in enumerate(tokens):
        kind = token.word
        if kind not in {"FROM", "JOIN", "UPDATE", "INTO", "COPY"}:
            continue
        position = index + 1
        while True:
            ref, position = _table_at(tokens, position, kind)
            if ref is None:
                break
            if ref.table in tables:
                found.append(ref)
            if kind == "FROM" and position < len(tokens) and tokens[position].text == ",":
                position += 1
                continue
            break
    return found


def _table_at(tokens: list[Token], position: int, kind: str) -> tuple[Reference | None, int]:
    if position >= len(tokens):
        return None, position
    name = tokens[position].name
    if name is None or tokens[position].word in _CLAUSES:  # a subquery, a clause
        return None, position
    position += 1
    # schema.table
    if position + 1 < len(tokens) and tokens[position].text == "." and tokens[position + 1].name:
        name = tokens[position + 1].name or name
        position += 2
    if kind in {"INTO", "COPY"}:
        columns: list[str] = []
        if position < len(tokens) and tokens[position] == _OPEN:
            position += 1
            while position < len(tokens) and tokens[position] != _CLOSE:
                column = tokens[position].name
                if column is not None:
                    columns.append(column)
                position += 1
            return Reference(name, name, kind, tuple(columns)), position + 1
        return Reference(name, name, kind, None), position
    qualifier = name
    if position < len(tokens) and tokens[position].word == "AS":
        position += 1
    if (
        position < len(tokens)
        and tokens[position].name is not None
        and tokens[position].word not in _CLAUSES
    ):
        qualifier = tokens[position].name or name
        position += 1
    return Reference(name, qualifier, kind), position


def _conditions(tokens: list[Token]) -> list[list[Token]]:
    """The ``WHERE`` and ``ON`` conditions of one query, each as its tokens."""
    zones: list[list[Token]] = []
    current: list[Token] | None = None
    depth = 0
    for token in tokens:
        if token == _OPEN:
            depth += 1
        elif token == _CLOSE:
            depth -= 1
        if depth == 0 and token.word in {"WHERE", "ON"}:
            current = []
            zones.append(current)
            continue
        if depth == 0 and token.word in _CONDITION_ENDS:
            current = None
            continue
        if current is not None:
            current.append(token)
    return zones


def _constrains(zone: list[Token], qualifier: str | None, key: str) -> bool:
    """Whether ``zone`` compares ``qualifier.key`` (or ``key`` unqualified when
    ``qualifier`` is None) with ``=`` or ``IN`` outside any ``OR``."""
    # The groups enclosing each token, and which groups hold an OR of their own.
    chains: list[tuple[int, ...]] = []
    has_or = [False]
    stack = [0]
    for token in zone:
        if token == _OPEN:
            has_or.append(False)
            stack.append(len(has_or) - 1)
        elif token == _CLOSE and len(stack) > 1:
            stack.pop()
        elif token.word == "OR":
            has_or[stack[-1]] = True
        chains.append(tuple(stack))
    for index, token in enumerate(zone):
        if token.name != key or token.word in _CLAUSES:
            continue
        dotted = index >= 2 and zone[index - 1].text == "."
        if qualifier is None:
            if dotted:
                continue
            start = index
        else:
            if not (dotted and zone[index - 2].name == qualifier):
                continue
            start = index - 2
        after = zone[index + 1] if index + 1 < len(zone) else None
        before = zone[start - 1] if start >= 1 else None
        compared = (
            (after is not None and (after.text == "=" or after.word == "IN"))
            or (before is not None and before.text == "=")
        ) and not (before is not None and before.word == "NOT")
        if compared and not any(has_or[group] for group in chains[index]):
            return True
    return False


def unrouted(sql: str, tables: set[str], key: str = "application_id") -> list[str]:
    """Why ``sql`` is not routable by ``key``: one line per reference to one of ``tables``
    that no condition or column list holds to an application; [] when routable or when
    ``sql`` touches none of ``tables``."""
    root = _parse(sql)
    first = root.first_word()
    if first in _DDL:
        return []
    problems = []
    seen = 0
    for tokens in _queries(root):
        references = _references(tokens, tables)
        seen += len(references)
        zones = _conditions(tokens)
        for ref in references:
            if ref.kind in {"INTO", "COPY"}:
                if ref.columns is None or key not in ref.columns:
                    problems.append(f"{ref.kind} {ref.table} without {key} in its columns")
                continue
            only = len(references) == 1 and _single_table(tokens)
            if any(_constrains(zone, ref.qualifier, key) for zone in zones) or (
                only and any(_constrains(zone, None, key) for zone in zones)
            ):
                continue
            problems.append(f"{ref.kind} {ref.table} ({ref.qualifier}) without {key} = / IN")
    if not seen and _mentions(root, tables):
        problems.append(f"names one of {sorted(tables)} in a way not understood")
    return problems


def _single_table(tokens: list[Token]) -> bool:
    """Whether the query reads one table only (an unqualified column is then its own)."""
    return sum(token.word in {"FROM", "JOIN", "UPDATE"} for token in tokens) == 1


def _mentions(group: _Group, tables: set[str]) -> bool:
    return any(
        _mentions(item, tables) if isinstance(item, _Group) else item.name in tables
        for item in group.items
    )

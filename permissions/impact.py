"""Impact preview of a fieldset change: who loses or gains which fields, before it is saved.

Fieldsets fail closed: a field is hidden wherever *any* fieldset containing it
is withheld (``permissions.policy``). Adding ``city`` to a new fieldset hides
``city`` from everyone who does not hold that fieldset, the privacy officer
included, because nobody holds a fieldset that does not exist yet; removing a
field reveals it to everyone whom no other fieldset hides it from. So the
admin and the API show this preview before a change takes effect.

The preview runs the request-time policy itself (``FieldsetPolicy``) over
every principal, once with the fieldsets as stored and once as they would be,
and compares what each hides per readable application. Grants are read for
everyone at once (``permissions.selectors.principal_snapshots``, a fixed
number of queries), and principals holding the same grants share one
evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from permissions.policy import FieldsetPolicy
from permissions.selectors import Principal, PrincipalSnapshot, principal_snapshots

# The permission id a fieldset has before it is saved: nobody holds it.
_UNSAVED = -1


@dataclass(frozen=True)
class FieldsetImpact:
    """What one principal would see differently in one application (``None``: in all)."""

    principal: Principal
    application: str | None  # slug
    lost: tuple[str, ...]  # registry paths newly hidden from the principal
    gained: tuple[str, ...]  # registry paths newly visible to it


_Change = tuple[str | None, tuple[str, ...], tuple[str, ...]]


def fieldset_impact(*, name: str, fields: Sequence[str] | None) -> list[FieldsetImpact]:
    """Who would lose or gain which fields if fieldset ``name`` held ``fields``.

    ``fields`` ``None``: the fieldset is deleted. ``name`` may be new. The
    caller validates ``fields`` first (``Fieldset`` refuses anything else on
    save anyway). Only principals whose view changes are listed, users then
    groups by name; a principal that reads every application and is affected
    alike in each gets one row with ``application`` ``None``. Superusers see
    everything whatever the fieldsets, so they are never listed.
    """
    snapshots = principal_snapshots()
    if not snapshots:
        return []
    stored = next(iter(snapshots.values())).fieldsets
    changed = _with_change(stored, name, fields)
    if changed == stored:
        return []
    evaluated: dict[tuple[frozenset[object], frozenset[object]], list[_Change]] = {}
    rows = []
    for principal, snapshot in sorted(snapshots.items()):
        grants = (snapshot.everywhere, snapshot.per_application)
        if grants not in evaluated:
            evaluated[grants] = _changes(snapshot, replace(snapshot, fieldsets=changed))
        rows += [
            FieldsetImpact(principal, application, lost, gained)
            for application, lost, gained in evaluated[grants]
        ]
    return rows


def _with_change(
    stored: tuple[tuple[str, tuple[str, ...], int], ...],
    name: str,
    fields: Sequence[str] | None,
) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    others = [fieldset for fieldset in stored if fieldset[0] != name]
    if fields is None:
        return tuple(others)
    permission = next((pid for n, _, pid in stored if n == name), _UNSAVED)
    return tuple(sorted([*others, (name, tuple(fields), permission)]))


def _changes(before: PrincipalSnapshot, after: PrincipalSnapshot) -> list[_Change]:
    old, new = FieldsetPolicy.for_grants(before), FieldsetPolicy.for_grants(after)
    per_application = {}
    for application in old.applications.values():
        hidden_before = old.hidden_fields(application.id)
        hidden_after = new.hidden_fields(application.id)
        per_application[application.slug] = (
            tuple(sorted(hidden_after - hidden_before)),
            tuple(sorted(hidden_before - hidden_after)),
        )
    changed = {slug: change for slug, change in per_application.items() if change != ((), ())}
    if not changed:
        return []
    if old.reads_all_applications and len(set(per_application.values())) == 1:
        # A global reader affected alike everywhere: also in applications made later.
        lost, gained = next(iter(changed.values()))
        return [(None, lost, gained)]
    return [(slug, lost, gained) for slug, (lost, gained) in changed.items()]

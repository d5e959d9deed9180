"""``python manage.py seed_demo [--sessions N] [--force] [--seed S]``: a fashion shop to explore.

Creates two applications, four users with one published demo password, their
grants, N sessions of shop traffic and the shop backend's log lines behind them
(a payment gateway timeout behind each failed checkout, Jane's first visit
included). ``fashion-store`` also accepts browser beacons from the demo shop
(``/demo-shop/`` at http://127.0.0.1:8000 or http://localhost:8000), so shopping
there is recorded by ``rum.js``. The sessions go through ``session_ingest``, the
same service the ingest API uses, and the log lines through ``log_ingest``, so the
emails and card numbers planted in URLs, error messages and logs come out masked
exactly as real data would. Re-running reuses what exists (same ``--seed``, same session
ids: nothing is duplicated).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from logs.ingest.records import log_limits
from logs.ingest.validation import validate_log_batch
from logs.services import log_ingest
from permissions.audit import COMMAND_METHOD, Actor, acting_as, command_actor
from sessions_app.applications import application_configure, application_create
from sessions_app.management.commands._demo_logs import backend_logs
from sessions_app.management.commands._demo_traffic import DemoTraffic
from sessions_app.management.commands._privacy_options import operator_name
from sessions_app.models import Application
from sessions_app.services import session_ingest

DEMO_PASSWORD = "rumvault-demo"  # noqa: S105 - a published demo password, refused without DEBUG
BATCH_SIZE = 100
SENSITIVE_FIELDSET = "builtin-sensitive-user-events-and-sessions"
# Two privacy officers, so the two-person rule of data-subject requests can be tried.
PRIVACY_OFFICERS = ("privacy", "privacy2")
DEMO_USERS = ("agent", "lead", *PRIVACY_OFFICERS, "admin")
OFFICER_PERMISSIONS = (
    ("permissions", "view_auditrecord"),
    ("data_subjects", "view_datasubjectrequest"),
    ("data_subjects", "create_request"),
    ("data_subjects", "approve_request"),
    ("data_subjects", "run_request"),
)
APPLICATIONS: dict[str, dict[str, Any]] = {
    "fashion-store": {
        "name": "Fashion Store (web)",
        "user_tag_storage": "raw",
        "allowed_properties": ["loyalty_tier", "ab_variant"],
        # Where `make demo` serves the demo shop.
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
        # The lead sees personal data here only after revealing a session with a reason.
        "reveal_requires_reason": True,
    },
    "fashion-store-app": {
        "name": "Fashion Store (mobile app)",
        # Shows the mode where the database holds only ciphertext of the emails.
        "user_tag_storage": "encrypted",
        "allowed_properties": ["loyalty_tier", "app_version"],
    },
}


class Command(BaseCommand):
    help = "Create demo applications, users, grants and shop sessions (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=2000, metavar="N")
        parser.add_argument("--seed", type=int, default=42, metavar="S")
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (never in production)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users with a published password, so it refuses to run "
                "with DEBUG off. Use `make demo` (DEBUG=true) or pass --force."
            )
        if options["sessions"] < 0:
            raise CommandError("--sessions must not be negative")
        applications = {slug: self._application(slug) for slug in APPLICATIONS}
        with acting_as(command_actor("seed_demo")):  # names who made the grants
            users = _demo_users()
            _grant_demo_access(users=users, applications=applications)
        statuses, actions, logs = self._sessions(
            applications, count=options["sessions"], seed=options["seed"]
        )
        self._summary(users, statuses, actions, logs)

    def _application(self, slug: str) -> Application:
        existing = Application.objects.filter(slug=slug).first()
        if existing is not None:
            self.stdout.write(
                f"Application '{slug}' exists; reusing it (its token is not shown again)."
            )
            origins = APPLICATIONS[slug].get("allowed_origins", [])
            if origins and not existing.allowed_origins:
                # A database seeded before the browser agent existed: let the demo shop in.
                actor = Actor(
                    username=operator_name(), method=COMMAND_METHOD, path="manage.py seed_demo"
                )
                application_configure(application=existing, actor=actor, allowed_origins=origins)
            return existing
        application, token = application_create(slug=slug, **APPLICATIONS[slug])
        self.stdout.write(f"Created application '{slug}'. Ingest token: {token}")
        return application

    def _sessions(
        self, applications: dict[str, Application], *, count: int, seed: int
    ) -> tuple[Counter[str], int, int]:
        traffic = DemoTraffic(rng=random.Random(seed), now=timezone.now(), seed=seed)
        statuses: Counter[str] = Counter()
        actions = logs = 0
        batches: dict[str, list[dict[str, Any]]] = {slug: [] for slug in applications}
        backend: dict[str, list[dict[str, Any]]] = {}  # session id -> its log records

        def flush(slug: str) -> None:
            nonlocal actions, logs
            if batches[slug]:
                results = session_ingest(
                    application=applications[slug], payload={"sessions": batches[slug]}
                )
                statuses.update(result.status for result in results)
                actions += sum(result.actions_added for result in results)
                # Backend logs through the log ingest pipeline, only for new sessions
                # (a re-run stores nothing twice).
                records = [
                    record
                    for result in results
                    if result.status == "created"
                    for record in backend.pop(result.session_id, [])
                ]
                if records:
                    incoming = validate_log_batch({"logs": records}, limits=log_limits())
                    logs += log_ingest(application=applications[slug], records=incoming).accepted
                batches[slug] = []

        for slug, session in traffic.sessions(count):
            backend[session["session_id"]] = backend_logs(
                session, customer=session.get("user_tag", "").strip().lower() or None
            )
            batches[slug].append(session)
            if len(batches[slug]) == BATCH_SIZE:
                flush(slug)
        for slug in batches:
            flush(slug)
        return statuses, actions, logs

    def _summary(
        self, users: dict[str, User], statuses: Counter[str], actions: int, logs: int
    ) -> None:
        self.stdout.write(
            f"Sessions: {statuses['created']} created, {statuses['updated']} already there, "
            f"{statuses['discarded']} discarded (Do-Not-Track); {actions} actions and "
            f"{logs} backend log records added."
        )
        self.stdout.write(f"Users: {', '.join(sorted(users))}; password for all: {DEMO_PASSWORD}")
        self.stdout.write(
            "agent: help desk, sees personal data only in partial forms (j\u2022\u2022\u2022@"
            "example.com) on fashion-store; lead: sees it on fashion-store after revealing a "
            "session with a reason; privacy, privacy2: privacy officers (see it everywhere, "
            "audit log, data-subject requests: one creates, the other approves); admin: superuser."
        )
        self.stdout.write(
            "Try: search the sessions of jane.doe@example.com "
            "(dashboard, or POST /api/v1/sessions/search/)."
        )
        self.stdout.write(
            "Or shop at http://127.0.0.1:8000/demo-shop/ (recorded by rum.js into "
            "fashion-store), then find your own session in the dashboard."
        )


def _demo_users() -> dict[str, User]:
    user_model = get_user_model()
    users: dict[str, User] = {}
    for username in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@rumvault.example"}
        )
        user.is_staff = True
        user.is_superuser = username == "admin"
        user.set_password(DEMO_PASSWORD)
        user.save()
        users[username] = user
    return users


def _grant_demo_access(*, users: dict[str, User], applications: dict[str, Application]) -> None:
    """The demo's access model: who reads which application, who sees personal data.

    - group "help-desk" (agent, lead): record access to both applications;
    - agent: the sensitive fieldset *partially* on fashion-store (to confirm a caller);
    - lead: the sensitive fieldset on fashion-store only (which asks for a reason);
    - privacy, privacy2: record access and the sensitive fieldset everywhere, the audit
      log, and data-subject requests (create, approve the other's, run).
    Grants are idempotent, so re-running changes nothing.
    """
    from permissions.services import grant_fieldset, grant_record_access

    help_desk, _ = Group.objects.get_or_create(name="help-desk")
    for application in applications.values():
        grant_record_access(group=help_desk, application=application)
    help_desk.user_set.add(users["agent"], users["lead"])
    grant_fieldset(
        fieldset_name=SENSITIVE_FIELDSET,
        user=users["agent"],
        application=applications["fashion-store"],
        partial=True,
    )
    grant_fieldset(
        fieldset_name=SENSITIVE_FIELDSET,
        user=users["lead"],
        application=applications["fashion-store"],
    )
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in OFFICER_PERMISSIONS
    ]
    for username in PRIVACY_OFFICERS:
        grant_record_access(user=users[username], application=None)
        grant_fieldset(fieldset_name=SENSITIVE_FIELDSET, user=users[username], application=None)
        users[username].user_permissions.add(*permissions)

"""What honouring a visitor's Do-Not-Track request means for one session."""

from __future__ import annotations

from dataclasses import dataclass

from privacy.choices import LabelledChoices


class DoNotTrack(LabelledChoices):
    """The ``do_not_track`` privacy setting of an application."""

    ANONYMOUS = "anonymous", "Keep the session, drop IP and user tag"
    DISABLE = "disable", "Discard the session"
    IGNORE = "ignore", "Ignore the browser's request"


@dataclass(frozen=True)
class DoNotTrackDecision:
    discard_session: bool = False
    drop_ip: bool = False
    drop_user_tag: bool = False


_DECISIONS = {
    DoNotTrack.ANONYMOUS: DoNotTrackDecision(drop_ip=True, drop_user_tag=True),
    DoNotTrack.DISABLE: DoNotTrackDecision(discard_session=True),
    DoNotTrack.IGNORE: DoNotTrackDecision(),
}


def apply_do_not_track(*, mode: str, requested: bool) -> DoNotTrackDecision:
    """Decide for a session whose client did (or did not) send Do-Not-Track.

    The mode is validated even when DNT was not requested, so a misconfigured
    application fails on its first session rather than on the first DNT visitor.
    """
    decision = _DECISIONS[DoNotTrack(mode)]
    return decision if requested else DoNotTrackDecision()

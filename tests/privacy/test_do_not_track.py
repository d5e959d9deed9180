"""Do-Not-Track: what each setting does to a session that asked for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.do_not_track import DoNotTrack, DoNotTrackDecision, apply_do_not_track


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("anonymous", DoNotTrackDecision(discard_session=False, drop_ip=True, drop_user_tag=True)),
        ("disable", DoNotTrackDecision(discard_session=True, drop_ip=False, drop_user_tag=False)),
        ("ignore", DoNotTrackDecision(discard_session=False, drop_ip=False, drop_user_tag=False)),
    ],
)
def test_requested(mode: str, expected: DoNotTrackDecision) -> None:
    assert apply_do_not_track(mode=mode, requested=True) == expected
    assert apply_do_not_track(mode=DoNotTrack(mode), requested=True) == expected


@pytest.mark.parametrize("mode", [mode.value for mode in DoNotTrack])
def test_not_requested_changes_nothing(mode: str) -> None:
    decision = apply_do_not_track(mode=mode, requested=False)
    assert decision == DoNotTrackDecision(discard_session=False, drop_ip=False, drop_user_tag=False)


@given(
    st.text().filter(lambda text: text not in {mode.value for mode in DoNotTrack}), st.booleans()
)
def test_unknown_mode_raises_value_error(mode: str, requested: bool) -> None:
    with pytest.raises(ValueError, match="DoNotTrack"):
        apply_do_not_track(mode=mode, requested=requested)


def test_decision_is_immutable() -> None:
    decision = apply_do_not_track(mode="anonymous", requested=True)
    with pytest.raises(AttributeError):
        decision.drop_ip = False  # type: ignore[misc]

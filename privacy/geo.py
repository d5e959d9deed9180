"""Coarsening of geo coordinates.

One decimal degree is roughly 11 km: enough for "which city/region" analysis,
too coarse to point at a home. Coordinates are as identifying as the IP they
were derived from, so they follow the IP masking setting.
"""

from __future__ import annotations

from privacy.ip import IpMasking


def round_coordinate(value: float | None, *, decimals: int = 1) -> float | None:
    """Round a latitude or longitude; ``None`` (no data) stays ``None``."""
    if value is None:
        return None
    return float(round(value, decimals))


def mask_geo(
    latitude: float | None, longitude: float | None, *, ip_masking: str
) -> tuple[float | None, float | None]:
    """Round both coordinates unless the application turned IP masking ``off``."""
    if IpMasking(ip_masking) is IpMasking.OFF:
        return latitude, longitude
    return round_coordinate(latitude), round_coordinate(longitude)

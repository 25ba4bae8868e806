"""Distance and check-in verdicts (pure functions: unit-tested without a database)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
#: A fix coarser than this (cell towers, IP) cannot say whether someone is on site.
MAX_USEFUL_ACCURACY_M = 500.0
#: How much of the reported accuracy is given the benefit of the doubt.
ACCURACY_ALLOWANCE_M = 100.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def verdict(
    *,
    site_lat: float | None,
    site_lon: float | None,
    geofence_m: float,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
) -> tuple[str, float | None]:
    """("on_site" | "off_site" | "no_fix", distance in metres or None).

    On site when the fix lies within the geofence, allowing for up to 100 m of the
    reported accuracy (phones indoors rarely do better); a fix worse than 500 m, or
    none, or a site without coordinates, is "no_fix".
    """
    if lat is None or lon is None or site_lat is None or site_lon is None:
        return "no_fix", None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return "no_fix", None
    distance = distance_m(site_lat, site_lon, lat, lon)
    if accuracy_m is not None and accuracy_m > MAX_USEFUL_ACCURACY_M:
        return "no_fix", distance
    allowance = min(accuracy_m or 0.0, ACCURACY_ALLOWANCE_M)
    return ("on_site" if distance <= geofence_m + allowance else "off_site"), distance

"""Run profiles: the same notebook code runs small (``smoke``) in CI and at full size for students."""

from __future__ import annotations

from typing import Any

PROFILES = ("smoke", "full")


def select(profile: str, **settings_by_profile: dict[str, Any]) -> dict[str, Any]:
    """Pick the settings for ``profile`` from keyword arguments named after the profiles.

    >>> select("smoke", smoke={"epochs": 1}, full={"epochs": 20})
    {'epochs': 1}

    A notebook may define extra profiles (e.g. ``paper``); an unknown name raises a clear error.
    """
    if profile not in settings_by_profile:
        known = ", ".join(sorted(settings_by_profile))
        raise ValueError(f"unknown PROFILE {profile!r}; this notebook knows: {known}")
    return dict(settings_by_profile[profile])

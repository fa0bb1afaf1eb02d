"""Helpers shared by the course notebooks: data, devices, profiles, seeding and plots."""

__all__ = ["data", "device", "plots", "profiles", "seeding"]

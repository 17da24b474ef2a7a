"""Builders of the plan layers; each module exposes ``build() -> list[feature dict]``."""

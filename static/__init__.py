"""Vendored front-end assets (package so that wheels carry them)."""

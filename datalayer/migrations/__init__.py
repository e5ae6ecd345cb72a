"""Alembic migrations with per-version validation, audit rows and an advisory lock."""

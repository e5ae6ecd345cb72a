"""Repositories: the query surface application code calls, one module per aggregate.

Each method is one unit of work (its own transaction) unless it says otherwise; inputs are
validated before the database is touched, and every error is from :mod:`datalayer.errors`.
"""

"""Persistence: SQLAlchemy models, the unit of work, the claim queries and migrations."""

"""Database layer: models, sessions and query helpers (query helpers never commit)."""

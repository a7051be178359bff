"""Pydantic request and response models (the schema ladder: Base -> Create / Update / Public)."""

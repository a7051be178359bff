"""HTML pages of citizen budgets: the rounds, one round with its proposals, the ballot (phone-friendly), results."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

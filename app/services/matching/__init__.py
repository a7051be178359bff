"""Matching resources to needs (docs/MATCHING.md): ranked candidates, commitments through their stages, and the
dashboard of what they achieved.

scoring      the documented scoring rule and distance bands (pure functions)
candidates   the resources that fit an open need, ranked, as each reader may see them
commitments  making a commitment without over-committing, its stages and its outcome
dashboard    needs met, open needs, volunteer hours and people helped, by service type and month
"""

from app.services.matching.candidates import RESOURCE_KINDS, MatchQuery, match_need
from app.services.matching.commitments import (
    create_commitment,
    get_commitment,
    list_commitments,
    update_commitment,
)
from app.services.matching.dashboard import dashboard

__all__ = [
    "RESOURCE_KINDS",
    "MatchQuery",
    "create_commitment",
    "dashboard",
    "get_commitment",
    "list_commitments",
    "match_need",
    "update_commitment",
]

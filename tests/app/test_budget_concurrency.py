"""Ballots cast at the same moment by one account (two tabs, a double tap) leave one ballot, never a server error."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import delete, func, select

from app.db.models import BudgetBallot, BudgetProposal, BudgetRound
from app.db.session import session_scope
from app.policy import Principal
from app.services import budget
from tests.conftest import Berlin


def test_simultaneous_ballots_of_one_account_leave_one(berlin: Berlin) -> None:
    now = dt.datetime.now(dt.UTC)
    organiser = Principal(username="test-organiser", role="organiser")
    with session_scope(berlin.settings) as db:
        made = budget.create_round(
            db,
            organiser,
            {
                "city": "Berlin",
                "name": "Race",
                "amount": 100,
                "proposals_at": now - dt.timedelta(hours=1),
                "review_at": now + dt.timedelta(hours=1),
                "voting_at": now + dt.timedelta(hours=2),
                "results_at": now + dt.timedelta(hours=3),
            },
        )
        round_id = made.id
        proposal_ids = [
            budget.add_proposal(db, berlin.settings, organiser, round_id, {"title": t, "cost": 10}).id
            for t in ("A", "B")
        ]
        budget.set_phase(db, organiser, round_id, "voting")
    voter = Principal(user_id=berlin.user_ids["contributor"], username="test-contributor", role="contributor")
    errors: list[BaseException] = []
    try:
        for attempt in range(5):
            start = threading.Barrier(2)

            def cast(approvals: list[int], start: threading.Barrier) -> None:
                try:
                    with session_scope(berlin.settings) as db:
                        start.wait()
                        budget.cast_ballot(db, voter, round_id, approvals)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=cast, args=([pid], start)) for pid in proposal_ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert errors == [], (attempt, errors)
            with session_scope(berlin.settings) as db:
                ballots = db.scalars(
                    select(BudgetBallot.approvals).where(BudgetBallot.round_id == round_id)
                ).all()
                assert len(ballots) == 1 and ballots[0] in ([proposal_ids[0]], [proposal_ids[1]])
                db.execute(delete(BudgetBallot).where(BudgetBallot.round_id == round_id))
                db.commit()
    finally:
        with session_scope(berlin.settings) as db:
            db.execute(delete(BudgetProposal).where(BudgetProposal.round_id == round_id))
            db.execute(delete(BudgetRound).where(BudgetRound.id == round_id))
            db.commit()
            assert db.scalar(select(func.count()).where(BudgetRound.id == round_id)) == 0

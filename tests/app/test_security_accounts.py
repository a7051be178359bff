"""Security review findings on accounts: credentials end when a password, role or rights change, the only admin
stays, and the sign-in lockout stops guessing without letting a stranger lock anyone out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import LoginFailure
from app.errors import Conflict
from app.services import auth
from tests.conftest import TEST_PASSWORD, Berlin

PASSWORD = "long enough pw"


def _sign_in(client: TestClient, username: str, password: str) -> tuple[int, dict[str, Any]]:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    return response.status_code, response.json()


def _account(
    client: TestClient, berlin: Berlin, username: str, role: str
) -> tuple[int, dict[str, str], dict[str, str]]:
    """A new account signed in, with one bearer token and one API key."""
    created = client.post(
        "/api/users",
        json={"username": username, "password": PASSWORD, "role": role},
        headers=berlin.headers("admin"),
    )
    assert created.status_code == 201
    status, body = _sign_in(client, username, PASSWORD)
    assert status == 200
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    key = client.post("/api/auth/api-keys", json={"name": "script"}, headers=bearer).json()["api_key"]
    return created.json()["id"], bearer, {"X-API-Key": key}


def _works(client: TestClient, headers: dict[str, str]) -> bool:
    status = client.get("/api/auth/me", headers=headers).status_code
    assert status in (200, 401)
    return status == 200


# Finding 5: old credentials stop working


@pytest.mark.parametrize("change", [{"password": "a new long password"}, {"role": "contributor"}])
def test_a_new_password_or_role_ends_all_tokens_and_keys(
    client: TestClient, berlin: Berlin, change: dict[str, str]
) -> None:
    user_id, bearer, key = _account(client, berlin, "changing-user", "organiser")
    assert _works(client, bearer) and _works(client, key)
    changed = client.patch(f"/api/users/{user_id}", json=change, headers=berlin.headers("admin"))
    assert changed.status_code == 200
    assert not _works(client, bearer) and not _works(client, key)
    new_password = change.get("password", PASSWORD)
    assert _sign_in(client, "changing-user", new_password)[0] == 200


def test_set_role_from_the_command_line_ends_tokens_too(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    _user_id, bearer, key = _account(client, berlin, "cli-user", "gis")
    auth.set_role(db, "cli-user", "planner")  # what `assetmap user set-role cli-user planner` runs
    assert not _works(client, bearer) and not _works(client, key)


def test_narrowed_neighbourhoods_end_tokens_widened_ones_do_not(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    user_id, bearer, key = _account(client, berlin, "kiez-org", "organiser")
    url = f"/api/users/{user_id}/neighbourhoods"
    assert client.put(url, json={"neighbourhood_ids": berlin.mitte_ids}, headers=admin).status_code == 204
    assert _works(client, bearer) and _works(client, key)  # more rights: nothing to end
    narrowed = client.put(
        url, json={"neighbourhood_ids": berlin.mitte_ids[:1], "replace": True}, headers=admin
    )
    assert narrowed.status_code == 204
    assert not _works(client, bearer) and not _works(client, key)


# Finding 7: the only admin stays


def test_the_only_admin_cannot_be_disabled_or_demoted(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    admin = berlin.headers("admin")
    url = f"/api/users/{berlin.user_ids['admin']}"
    for change in ({"active": False}, {"role": "planner"}):
        refused = client.patch(url, json=change, headers=admin)
        assert refused.status_code == 409, change
        assert "only active admin" in refused.json()["detail"]
    with pytest.raises(Conflict):
        auth.set_role(db, "test-admin", "gis")
    assert client.get("/api/users", headers=admin).status_code == 200  # still an admin, still signed in
    # with a second admin, the first may step down
    _account(client, berlin, "second-admin", "admin")
    assert client.patch(url, json={"role": "planner"}, headers=admin).status_code == 200


# Finding 8: the sign-in lockout is no denial-of-service lever


def _from(client: TestClient, address: str) -> TestClient:
    """Another client of the same app (and the same test transaction), from another address."""
    return TestClient(client.app, client=(address, 40000), raise_server_exceptions=False)


def test_a_stranger_cannot_lock_the_admin_out_but_guessing_is_throttled(client: TestClient) -> None:
    stranger, admin_desk = _from(client, "203.0.113.7"), _from(client, "198.51.100.20")
    statuses = [_sign_in(stranger, "test-admin", f"guess {i}")[0] for i in range(8)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # the stranger is stopped, even with the right password...
    assert _sign_in(stranger, "test-admin", TEST_PASSWORD)[0] == 429
    # ...but the admin signs in from their own desk
    assert _sign_in(admin_desk, "test-admin", TEST_PASSWORD)[0] == 200
    # a whole IPv6 /64 counts as one address
    v6 = [_from(client, f"2001:db8::{i}") for i in range(1, 7)]
    assert [_sign_in(c, "test-gis", "guess")[0] for c in v6][-1] == 429


def test_made_up_names_add_no_rows_and_spraying_names_is_throttled(client: TestClient, db: Session) -> None:
    sprayer = _from(client, "192.0.2.66")
    rows_before = db.scalar(select(func.count()).select_from(LoginFailure))
    statuses = [_sign_in(sprayer, f"nobody-{i}", "guess")[0] for i in range(30)]
    assert 401 in statuses and statuses[-1] == 429  # many names from one address: throttled too
    db.expire_all()
    keys = list(db.scalars(select(LoginFailure.username)))
    assert not [k for k in keys if "nobody" in k]
    assert len(keys) <= (rows_before or 0) + 1  # at most the one address, whatever the number of names

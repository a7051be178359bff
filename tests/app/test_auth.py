"""Sign-in, tokens and API keys, including expired, forged and revoked ones, and rate limiting of failed logins."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import ApiToken
from app.settings import Settings
from tests.conftest import TEST_PASSWORD, Berlin, make_settings


def login(client: TestClient, username: str, password: str) -> tuple[int, dict]:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    return response.status_code, response.json()


def test_password_login_issues_a_token_that_works_and_only_its_hash_is_stored(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    status, body = login(client, "test-planner", TEST_PASSWORD)
    assert status == 200 and body["token_type"] == "bearer" and body["expires_in"] > 0
    token = body["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "planner"
    stored = db.execute(text("SELECT token_hash FROM api_token")).scalars().all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    hashes = db.execute(text("SELECT password_hash FROM app_user WHERE username = 'test-planner'")).scalar()
    assert hashes.startswith("$argon2id$")


def test_wrong_password_is_401_and_repeated_failures_are_429(client: TestClient) -> None:
    statuses = [login(client, "test-gis", "wrong password!")[0] for _ in range(5)]
    assert statuses == [401] * 5
    status, body = login(client, "test-gis", "wrong password!")
    assert status == 429 and "wait" in body["detail"]
    # locked even with the right password, until the lockout passes
    assert login(client, "test-gis", TEST_PASSWORD)[0] == 429
    # unknown users are treated the same way, so names cannot be probed
    assert login(client, "nobody-at-all", "whatever")[0] == 401


def test_forged_malformed_expired_and_revoked_tokens_are_401(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    for header in ["Bearer amt_forged-token-value", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000]:
        response = client.post("/api/assets", json={}, headers={"Authorization": header})
        assert response.status_code == 401, header
    _status, body = login(client, "test-admin", TEST_PASSWORD)
    token = body["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=auth).status_code == 200
    # expire it
    db.execute(
        text("UPDATE api_token SET expires_at = now() - interval '1 minute' WHERE prefix = :p"),
        {"p": token[:10]},
    )
    db.commit()
    expired = client.get("/api/auth/me", headers=auth)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    # a fresh one, revoked by logging out
    _status, body = login(client, "test-admin", TEST_PASSWORD)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.post("/api/auth/logout", headers=auth).status_code == 204
    revoked = client.get("/api/auth/me", headers=auth)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_api_keys_for_scripts_can_be_listed_and_revoked(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    created = client.post("/api/auth/api-keys", json={"name": "nightly sync"}, headers=berlin.headers("gis"))
    assert created.status_code == 201
    key = created.json()["api_key"]
    assert key.startswith("amk_")
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).json()["username"] == "test-gis"
    listed = client.get("/api/auth/api-keys", headers=berlin.headers("gis")).json()["items"]
    assert [k["name"] for k in listed] == ["nightly sync"] and "api_key" not in listed[0]
    row = db.scalar(select(ApiToken).where(ApiToken.prefix == key[:10]))
    assert row is not None and row.expires_at is None
    # another user cannot revoke it (and cannot tell it exists)
    assert client.delete(f"/api/auth/api-keys/{row.id}", headers=berlin.headers("planner")).status_code == 404
    assert client.delete(f"/api/auth/api-keys/{row.id}", headers=berlin.headers("gis")).status_code == 204
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_disabling_a_user_revokes_access(client: TestClient, berlin: Berlin) -> None:
    created = client.post(
        "/api/users",
        json={"username": "temp-org", "password": "long enough pw", "role": "organiser"},
        headers=berlin.headers("admin"),
    )
    assert created.status_code == 201
    _s, body = login(client, "temp-org", "long enough pw")
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/auth/me", headers=auth).status_code == 200
    off = client.patch(
        f"/api/users/{created.json()['id']}", json={"active": False}, headers=berlin.headers("admin")
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/auth/me", headers=auth).status_code == 401
    assert login(client, "temp-org", "long enough pw")[0] == 401


def test_user_administration_validates_input(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    bad_role = client.post(
        "/api/users", json={"username": "x1", "password": "long enough pw", "role": "king"}, headers=admin
    )
    assert bad_role.status_code == 422 and bad_role.json()["field"] == "role"
    short = client.post(
        "/api/users", json={"username": "x2", "password": "short", "role": "planner"}, headers=admin
    )
    assert short.status_code == 422
    dup = client.post(
        "/api/users",
        json={"username": "test-gis", "password": "long enough pw", "role": "gis"},
        headers=admin,
    )
    assert dup.status_code == 409
    users = client.get("/api/users", headers=admin).json()["items"]
    organiser = next(u for u in users if u["username"] == "test-organiser")
    assert organiser["neighbourhood_codes"] == ["0110", "0120"]
    assert all("password" not in key for u in users for key in u)


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValueError, match="ASSETMAP_SECRET_KEY"):
        Settings(environment="production")
    assert make_settings("postgresql+psycopg://x@localhost/y", environment="production", secret_key="s" * 40)


def test_serve_refuses_to_start_in_production_with_default_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {**os.environ, "ASSETMAP_ENVIRONMENT": "production"}
    env.pop("ASSETMAP_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0 and "ASSETMAP_SECRET_KEY" in result.stderr


def test_token_expiry_time_follows_the_setting(client: TestClient, db: Session) -> None:
    _s, body = login(client, "test-planner", TEST_PASSWORD)
    expires_at = db.scalar(select(ApiToken.expires_at).where(ApiToken.prefix == body["access_token"][:10]))
    assert expires_at is not None
    remaining = expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=7, minutes=55) < remaining <= dt.timedelta(hours=8)


def test_browser_session_cookie_reads_and_writes_only_from_the_apps_own_origin(
    client: TestClient, berlin: Berlin
) -> None:
    response = client.post(
        "/api/auth/session",
        data={"username": "test-planner", "password": TEST_PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 200
    assert "access_token" not in response.json()  # page scripts never see the token
    cookie = response.cookies.get("assetmap_session")
    assert cookie and "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    client.cookies.set("assetmap_session", cookie)
    assert client.get("/api/auth/me").json()["role"] == "planner"
    body = {
        "city": "Berlin",
        "name": "x",
        "category": "culture",
        "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
    }
    # a change with only the cookie must show it comes from this app's pages; a forged cross-site one cannot
    assert client.post("/api/assets", json=body).status_code == 403
    assert (
        client.post("/api/assets", json=body, headers={"Origin": "https://elsewhere.example"}).status_code
        == 403
    )
    # from the app's own origin the cookie acts with its owner's rights (a planner may not add assets)
    own = client.post("/api/assets", json=body, headers={"Origin": "http://testserver"})
    assert own.status_code == 403 and "your role (planner)" in own.json()["detail"]
    client.cookies.clear()

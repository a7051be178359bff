"""The edge of the service: odd digits, body sizes and geometry bounds, codecs, a database that goes away, Host
headers, the browser session's origin, 500 answers on a kept-alive connection, and readiness under load.

Everything runs against the real PostGIS of the test session; the database failures are real ones (a port where
nothing listens, backends ended with pg_terminate_backend), and keep-alive behaviour is watched on a real uvicorn.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.main import create_app
from tests.app.helpers import MITTE_POINT, create_asset
from tests.app.test_imports import post_import
from tests.conftest import TEST_PASSWORD, Berlin, make_settings

CSV_ROWS = b"id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"


# ------------------------------------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """An app served by a real uvicorn on a free localhost port."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="critical", lifespan="on", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)


def raw_request(port: int, head: str, body: bytes = b"", timeout: float = 5) -> tuple[int, str, float]:
    """Send a hand-written request (headers may announce more body than is sent); (status, answer, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.find(b"\r\n\r\n") + 4 + _length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    elapsed = time.monotonic() - started
    text_ = answer.decode("latin-1")
    return int(text_.split(" ", 2)[1]), text_, elapsed


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


@pytest.fixture
def live(berlin: Berlin) -> Iterator[LiveServer]:
    """The real app (its own engine, nothing overridden) on the session database."""
    with LiveServer(create_app(berlin.settings)) as server:
        yield server


def polygon(vertices: int, lon: float = 13.40, lat: float = 52.52, r: float = 0.01) -> dict[str, Any]:
    import math

    ring = [
        [lon + r * math.cos(2 * math.pi * i / vertices), lat + r * math.sin(2 * math.pi * i / vertices)]
        for i in range(vertices)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def neighbourhood_body(geometry: dict[str, Any], code: str = "E1") -> dict[str, Any]:
    return {"city": "Berlin", "code": code, "name": "Edge", "level": "area", "geometry": geometry}


# ------------------------------------------------------------------ 1. Unicode digits are not ASCII digits


@pytest.mark.parametrize("value", ["²", "\u0661\u0662", "\u0661", "\u0663", "99999999999", "12\u0660"])
def test_unicode_digits_in_a_city_are_a_name_that_matches_no_city(client: TestClient, value: str) -> None:
    for path in ("/api/assets", "/api/needs", "/api/neighbourhoods", "/api/analysis/runs"):
        response = client.get(path, params={"city": value})
        assert response.status_code == 404, (path, response.text)
        assert "no city" in response.json()["detail"]
    assert client.get(f"/api/cities/{value}").status_code == 404
    assert client.get("/api/analysis/network", params={"city": value}).status_code == 404


def test_a_city_by_ascii_id_still_works(client: TestClient, berlin: Berlin) -> None:
    response = client.get("/api/assets", params={"city": str(berlin.city_id), "limit": 1})
    assert (
        response.status_code == 200
        and response.json()["features"][0]["properties"]["city_id"] == berlin.city_id
    )


def _header_bytes(value: str) -> bytes:
    """A header as a client would send it: Latin-1 where it can be (servers decode headers as Latin-1), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


@pytest.mark.parametrize("tag", ['"²"', '"\u0661"', '"99999999999"', '"1 2"', 'W/"³"', '""'])
def test_if_match_takes_ascii_digits_within_int4_only(client: TestClient, berlin: Berlin, tag: str) -> None:
    feature = create_asset(client, berlin)
    response = client.patch(
        f"/api/assets/{feature['id']}",
        json={"name": "changed"},
        headers={**berlin.headers("admin"), "If-Match": _header_bytes(tag)},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "If-Match" and "ETag" in response.json()["detail"]
    assert client.get(f"/api/assets/{feature['id']}").json()["properties"]["name"] == "Reading group"


def test_crs_codes_in_unicode_digits_are_refused(client: TestClient, berlin: Berlin) -> None:
    response = client.post(
        "/api/cities", json={"name": "Digitstadt", "crs": "EPSG:٢٥٨٣٣"}, headers=berlin.headers("gis")
    )
    assert response.status_code == 422, response.text
    imported = post_import(
        client, berlin, [("places.csv", CSV_ROWS)], city="Berlin", layer="assets", crs="٤٣٢٦"
    )
    assert imported.status_code == 422, imported.text
    assert "--crs" in imported.json()["detail"] or "crs" in imported.json()["detail"]


# ---------------------------------------------------- 2. body limits, authentication first, geometry bounds


def test_an_anonymous_huge_body_is_refused_without_being_read(live: LiveServer) -> None:
    head = (
        "POST /api/assets HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        f"Content-Length: {200 * 1024 * 1024}\n"
    )
    status, answer, seconds = raw_request(live.port, head, b'{"name": ')
    assert status == 401 and seconds < 2, answer
    assert "sign in" in answer


def test_a_signed_in_huge_body_is_413_from_its_content_length(live: LiveServer, berlin: Berlin) -> None:
    head = (
        f"POST /api/assets HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {berlin.tokens['admin']}\n"
        f"Content-Type: application/json\nContent-Length: {200 * 1024 * 1024}\n"
    )
    status, answer, seconds = raw_request(live.port, head, b'{"name": ')
    assert status == 413 and seconds < 2, answer
    assert "ASSETMAP_JSON_BODY_MAX_BYTES" in answer
    # sign-in needs no credentials, but is bounded all the same
    status, answer, _ = raw_request(
        live.port,
        "POST /api/auth/token HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/x-www-form-urlencoded\n"
        f"Content-Length: {200 * 1024 * 1024}\n",
        b"username=",
    )
    assert status == 413, answer


def test_a_chunked_body_is_counted_and_cut_at_the_limit(berlin: Berlin, client: TestClient) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:
        yield b'{"city": "Berlin", "name": "'
        for _ in range(64):
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/assets",
        content=chunks(),
        headers={**berlin.headers("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert "bytes" in response.json()["detail"]


def test_uploads_keep_their_own_larger_limit(berlin: Berlin, connection: Any) -> None:
    settings = make_settings(berlin.url, json_body_max_bytes=16 * 1024)
    app = create_app(settings)
    from app.deps import get_db

    def test_db() -> Iterator[Session]:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session

    app.dependency_overrides[get_db] = test_db
    rows = b"id,name,category,lat,lon\n" + b"".join(
        f"R{i},Place {i} {'x' * 40},culture,52.52,13.41\n".encode() for i in range(1000)
    )
    assert len(rows) > 16 * 1024
    with TestClient(app, raise_server_exceptions=False) as small:
        imported = post_import(
            small, berlin, [("places.csv", rows)], city="Berlin", layer="assets", dry_run=True
        )
        assert imported.status_code == 201, imported.text
        too_big = small.post("/api/cities", json={"name": "x" * 20_000}, headers=berlin.headers("gis"))
        assert too_big.status_code == 413


def test_geometries_are_bounded_in_vertices_parts_and_range(client: TestClient, berlin: Berlin) -> None:
    gis = berlin.headers("gis")
    many = client.post("/api/neighbourhoods", json=neighbourhood_body(polygon(20_000)), headers=gis)
    assert many.status_code == 422, many.text
    assert "10,000 vertices" in many.json()["detail"] and many.json()["field"] == "geometry"
    tiny = [polygon(4, 13.0 + 0.001 * i, 52.0, 0.0001)["coordinates"] for i in range(1200)]
    parts = client.post(
        "/api/neighbourhoods",
        json=neighbourhood_body({"type": "MultiPolygon", "coordinates": tiny}),
        headers=gis,
    )
    assert parts.status_code == 422, parts.text
    assert "1,000 parts" in parts.json()["detail"]
    holes = polygon(8)
    holes["coordinates"] += [polygon(4, 13.40, 52.52, 0.0001)["coordinates"][0]] * 1200
    rings = client.post("/api/neighbourhoods", json=neighbourhood_body(holes), headers=gis)
    assert rings.status_code == 422 and "rings" in rings.json()["detail"], rings.text
    for bad in ([200.0, 52.5], [13.4, 95.0], ["NaN", 52.5]):
        point = client.post(
            "/api/assets",
            json={
                "city": "Berlin",
                "name": "x",
                "category": "culture",
                "geometry": {"type": "Point", "coordinates": bad},
            },
            headers=berlin.headers("admin"),
        )
        assert point.status_code == 422, (bad, point.text)
    fine = client.post("/api/neighbourhoods", json=neighbourhood_body(polygon(5_000)), headers=gis)
    assert fine.status_code == 201, fine.text


# ------------------------------------------------------------------------------ 3. text encodings only


@pytest.mark.parametrize("codec", ["rot13", "rot_13", "base64", "zlib", "hex", "bz2", "uu", "no-such-codec"])
def test_an_import_encoding_must_be_a_text_encoding(client: TestClient, berlin: Berlin, codec: str) -> None:
    response = post_import(
        client, berlin, [("places.csv", CSV_ROWS)], city="Berlin", layer="assets", encoding=codec
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "encoding" in detail and ("utf-8" in detail or "cp1252" in detail), detail


def test_a_cpg_naming_a_non_text_codec_is_refused(client: TestClient, berlin: Berlin, tmp_path: Any) -> None:
    from tests.app.test_imports import shapefile_parts
    from tests.app.test_imports_bad_input import berlin_points

    parts = shapefile_parts(tmp_path / "shp", berlin_points(tmp_path), stem="points")
    files = [(name, data) for name, data in parts if not name.endswith(".cpg")]
    files.append(("points.cpg", b"rot13"))
    response = post_import(client, berlin, files, city="Berlin", layer="assets")
    assert response.status_code == 422, response.text
    assert ".cpg" in response.json()["detail"]


def test_a_text_encoding_still_works(client: TestClient, berlin: Berlin) -> None:
    rows = "id,name,category,lat,lon\nA,Köpenick,culture,52.45,13.57\n".encode("cp1252")
    response = post_import(
        client, berlin, [("places.csv", rows)], city="Berlin", layer="assets", encoding="cp1252", dry_run=True
    )
    assert response.status_code == 201, response.text


# ------------------------------------------------------------------- 4. the database goes away: 503, no half-write


def test_an_unreachable_database_is_503_with_retry_after(berlin: Berlin) -> None:
    url = f"postgresql+psycopg://assetmap@127.0.0.1:{free_port()}/nowhere"
    with TestClient(create_app(make_settings(url)), raise_server_exceptions=False) as down:
        for method, path, kwargs in (
            ("GET", "/api/assets", {}),
            ("POST", "/api/auth/token", {"data": {"username": "a", "password": "b"}}),
            ("POST", "/api/assets", {"json": {}, "headers": berlin.headers("admin")}),
        ):
            response = down.request(method, path, **kwargs)
            assert response.status_code == 503, (path, response.text)
            assert int(response.headers["retry-after"]) >= 1
            assert "database" in response.json()["detail"] and "psycopg" not in response.text
        ready = down.get("/readyz")
        assert ready.status_code == 503


def _wait_for_lock(observer: Any, name: str, timeout: float = 10) -> int:
    """The pid of the app's backend once it waits for a lock (its query mentions `name`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = observer.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar()
        if pid:
            return int(pid)
        time.sleep(0.05)
    raise AssertionError(f"the app never waited on the lock of {name}")


@pytest.mark.parametrize("locked", ["change", "service_type"])
def test_a_backend_killed_mid_write_is_503_and_nothing_committed(
    live: LiveServer, berlin: Berlin, locked: str
) -> None:
    # The backend dies while the write waits for a table lock (`change` is written, `service_type` read, just
    # before the commit): the client must get a 503 it can retry, and nothing may be committed.
    name = f"edge-{uuid.uuid4().hex[:8]}"
    engine = create_engine(berlin.url, isolation_level="AUTOCOMMIT")
    result: dict[str, Any] = {}
    try:
        with engine.connect() as holder, engine.connect() as observer:
            holder.execute(text("BEGIN"))
            holder.execute(text(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE"))

            def write() -> None:
                conn = live.connection(timeout=20)
                body = json.dumps(
                    {
                        "city": str(berlin.city_id),
                        "name": name,
                        "category": "culture",
                        "geometry": MITTE_POINT,
                    }
                )
                conn.request(
                    "POST",
                    "/api/assets",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {berlin.tokens['admin']}",
                        "Content-Type": "application/json",
                    },
                )
                answer = conn.getresponse()
                result.update(status=answer.status, headers=dict(answer.getheaders()), body=answer.read())

            thread = threading.Thread(target=write)
            thread.start()
            pid = _wait_for_lock(observer, locked)
            observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            holder.execute(text("ROLLBACK"))
            thread.join(timeout=20)
            committed = observer.execute(
                text("SELECT count(*) FROM asset WHERE name = :n"), {"n": name}
            ).scalar()
            assert result["status"] == 503, result
            assert int(result["headers"]["retry-after"]) >= 1
            assert "database" in json.loads(result["body"])["detail"]
            assert committed == 0
            # the service recovers by itself once the database is back
            conn = live.connection()
            conn.request("GET", "/api/assets?limit=1")
            assert conn.getresponse().status == 200
    finally:
        with engine.connect() as cleanup:
            cleanup.execute(
                text(
                    "DELETE FROM change WHERE kind = 'assets' AND item_id IN (SELECT id FROM asset WHERE name = :n)"
                ),
                {"n": name},
            )
            cleanup.execute(text("DELETE FROM asset WHERE name = :n"), {"n": name})
        engine.dispose()


# ----------------------------------------------------------------------- 5. Host headers and next links


def test_a_forged_host_is_400_and_never_reaches_a_link(client: TestClient) -> None:
    response = client.get("/api/assets", params={"limit": 1}, headers={"Host": "evil.example"})
    assert response.status_code == 400, response.text
    assert "evil.example" not in response.text or "ASSETMAP_TRUSTED_HOSTS" in response.text


def test_next_links_use_the_public_url(berlin: Berlin) -> None:
    settings = make_settings(berlin.url, public_url="https://maps.example.org/")
    with TestClient(create_app(settings), base_url="https://maps.example.org") as public:
        body = public.get("/api/assets", params={"limit": 1, "city": "Berlin"}).json()
        assert body["next"].startswith("https://maps.example.org/api/assets?"), body["next"]
        assert (
            public.get("/api/assets", params={"limit": 1}, headers={"Host": "evil.example"}).status_code
            == 400
        )


def test_trusted_hosts_come_from_the_setting(berlin: Berlin) -> None:
    settings = make_settings(berlin.url, trusted_hosts=["maps.example.org", "*.example.net"])
    with TestClient(create_app(settings), base_url="http://maps.example.org") as trusted:
        body = trusted.get("/api/assets", params={"limit": 1}).json()
        assert body["next"].startswith("http://maps.example.org/api/assets?")
        assert trusted.get("/healthz", headers={"Host": "a.example.net"}).status_code == 200
        assert trusted.get("/healthz", headers={"Host": "example.org"}).status_code == 400


# ---------------------------------------------------------------- 6. browser session: same origin, cookie writes


def _signed_in_cookie(client: TestClient, origin: str = "http://testserver") -> str:
    response = client.post(
        "/api/auth/session",
        data={"username": "test-admin", "password": TEST_PASSWORD},
        headers={"Origin": origin},
    )
    assert response.status_code == 200, response.text
    assert "access_token" not in response.json()
    cookie = response.cookies.get("assetmap_session")
    assert cookie
    client.cookies.clear()
    return cookie


def test_browser_sign_in_from_another_site_is_403(client: TestClient) -> None:
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        response = client.post(
            "/api/auth/session", data={"username": "test-admin", "password": TEST_PASSWORD}, headers=headers
        )
        assert response.status_code == 403, (headers, response.text)
        assert "assetmap_session" not in response.headers.get("set-cookie", "")


def test_cookie_writes_need_the_apps_own_origin(client: TestClient, berlin: Berlin) -> None:
    cookie = _signed_in_cookie(client)
    body = {"city": "Berlin", "name": "Cookie garden", "category": "culture", "geometry": MITTE_POINT}
    client.cookies.set("assetmap_session", cookie)
    try:
        same = client.post("/api/assets", json=body, headers={"Origin": "http://testserver"})
        assert same.status_code == 201, same.text
        fetch = client.post("/api/assets", json=body, headers={"Sec-Fetch-Site": "same-origin"})
        assert fetch.status_code == 201, fetch.text
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
            refused = client.post("/api/assets", json=body, headers=headers)
            assert refused.status_code == 403, (headers, refused.text)
            assert "origin" in refused.json()["detail"].lower()
        # reading with the cookie from a cross-site context is refused too
        assert client.get("/api/auth/me", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert client.get("/api/auth/me").json()["username"] == "test-admin"
    finally:
        client.cookies.clear()


# ---------------------------------------------------------------- 7. a 500 closes the connection explicitly


def test_an_unhandled_error_is_a_json_500_with_connection_close(berlin: Berlin) -> None:
    app = create_app(berlin.settings)

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM app_user -- Traceback")

    with LiveServer(app) as server:
        conn = server.connection()
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and first.getheader("connection") != "close"
        conn.request("GET", "/test-only/boom")
        answer = conn.getresponse()
        body = answer.read()
        assert answer.status == 500
        assert answer.getheader("content-type") == "application/json"
        assert answer.getheader("connection") == "close"
        detail = json.loads(body)["detail"]
        assert "reference" in detail and "SELECT" not in detail and "Traceback" not in body.decode()
        # the client knows the connection is over; a new one works
        conn.close()
        again = server.connection()
        again.request("GET", "/healthz")
        assert again.getresponse().status == 200


def test_the_real_app_has_no_route_that_fails_on_purpose(client: TestClient) -> None:
    assert client.get("/test-only/boom").status_code == 404


# ----------------------------------------------------------------- 8. readiness answers when the pool is full


def test_readyz_answers_within_a_second_when_every_pool_connection_is_held(berlin: Berlin) -> None:
    settings = make_settings(berlin.url, pool_size=1)
    with TestClient(create_app(settings)) as probe:
        engine = probe.app.state.engine  # type: ignore[attr-defined]
        held = [engine.connect() for _ in range(2)]  # pool_size + max_overflow
        try:
            started = time.monotonic()
            ready = probe.get("/readyz")
            assert time.monotonic() - started < 1.5
            assert ready.status_code == 200, ready.text
        finally:
            for conn in held:
                conn.close()


def test_readyz_is_503_fast_when_the_database_is_gone() -> None:
    url = f"postgresql+psycopg://assetmap@127.0.0.1:{free_port()}/nowhere"
    with TestClient(create_app(make_settings(url))) as probe:
        started = time.monotonic()
        ready = probe.get("/readyz")
        assert ready.status_code == 503 and time.monotonic() - started < 1.5


def test_a_full_pool_is_a_503_with_retry_after_not_a_hung_request(berlin: Berlin) -> None:
    settings = make_settings(berlin.url, pool_size=1, pool_timeout_s=0.5)
    with TestClient(create_app(settings), raise_server_exceptions=False) as busy:
        engine = busy.app.state.engine  # type: ignore[attr-defined]
        held = [engine.connect() for _ in range(2)]  # pool_size + max_overflow
        try:
            started = time.monotonic()
            response = busy.get("/api/assets", params={"limit": 1})
            assert time.monotonic() - started < 5
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
        finally:
            for conn in held:
                conn.close()
        assert busy.get("/api/assets", params={"limit": 1}).status_code == 200


@pytest.mark.parametrize("param", ["neighbourhood", "after"])
def test_id_parameters_beyond_int4_are_a_422_naming_them(client: TestClient, param: str) -> None:
    response = client.get("/api/assets", params={param: "99999999999"})
    assert response.status_code == 422, response.text
    assert param in response.json()["detail"]


def test_an_update_whose_answer_cannot_be_read_is_not_committed(berlin: Berlin) -> None:
    # With neighbourhood blurring, the answer to a gis user's PATCH of a person's asset reads the neighbourhood
    # table, which the update itself does not touch: the old flow committed first and then failed to answer.
    settings = make_settings(berlin.url, privacy_blur="neighbourhood")
    engine = create_engine(berlin.url, isolation_level="AUTOCOMMIT")
    name = f"edge-{uuid.uuid4().hex[:8]}"
    try:
        with (
            LiveServer(create_app(settings)) as live,
            engine.connect() as holder,
            engine.connect() as observer,
        ):
            conn = live.connection()
            body = {"city": "Berlin", "name": name, "category": "individual", "geometry": MITTE_POINT}
            conn.request(
                "POST",
                "/api/assets",
                body=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {berlin.tokens['admin']}",
                    "Content-Type": "application/json",
                },
            )
            created = conn.getresponse()
            asset_id = json.loads(created.read())["id"]
            assert created.status == 201
            holder.execute(text("BEGIN"))
            holder.execute(text("LOCK TABLE neighbourhood IN ACCESS EXCLUSIVE MODE"))
            result: dict[str, Any] = {}

            def patch() -> None:
                client = live.connection(timeout=20)
                client.request(
                    "PATCH",
                    f"/api/assets/{asset_id}",
                    body=json.dumps({"name": name + "-changed"}),
                    headers={
                        "Authorization": f"Bearer {berlin.tokens['gis']}",
                        "Content-Type": "application/json",
                        "If-Match": '"1"',
                    },
                )
                answer = client.getresponse()
                result.update(status=answer.status, body=answer.read())

            thread = threading.Thread(target=patch)
            thread.start()
            pid = _wait_for_lock(observer, "neighbourhood")
            observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            holder.execute(text("ROLLBACK"))
            thread.join(timeout=20)
            stored = observer.execute(
                text("SELECT name, version FROM asset WHERE id = :id"), {"id": asset_id}
            ).one()
            assert result["status"] == 503, result
            assert tuple(stored) == (name, 1)  # an error answer, and nothing committed
    finally:
        with engine.connect() as cleanup:
            ids = "SELECT id FROM asset WHERE name LIKE :n"
            cleanup.execute(
                text(f"DELETE FROM change WHERE kind = 'assets' AND item_id IN ({ids})"), {"n": name + "%"}
            )
            cleanup.execute(text("DELETE FROM asset WHERE name LIKE :n"), {"n": name + "%"})
        engine.dispose()

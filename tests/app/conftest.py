"""Fixtures for API tests: the app on the session database, each test inside a rolled-back transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.deps import get_db
from app.main import create_app
from tests.conftest import Berlin


@pytest.fixture
def client(berlin: Berlin, connection: Connection) -> Iterator[TestClient]:
    """A test client whose requests share the test's transaction, so nothing a test writes outlives it."""
    app = create_app(berlin.settings)

    def test_db() -> Iterator[Session]:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session

    app.dependency_overrides[get_db] = test_db
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client

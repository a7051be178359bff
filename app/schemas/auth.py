"""Answers of sign-in, API keys and user administration (app/routers/auth.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenOut(BaseModel):
    """A bearer token for the Authorization header."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds the token is valid for")


class SessionOut(BaseModel):
    """A browser session: the token came as an HttpOnly cookie, never in the body."""

    token_type: Literal["cookie"]
    expires_in: int = Field(description="seconds the session is valid for")


class Me(BaseModel):
    """The signed-in caller."""

    id: int | None = Field(description="null for a principal without an account")
    username: str | None
    role: str
    neighbourhood_ids: list[int] = Field(description="the neighbourhoods the caller may edit in (organisers)")


class ApiKeyOut(BaseModel):
    """One of the caller's API keys, never the key itself."""

    id: int
    name: str | None
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    revoked: bool


class ApiKeyList(BaseModel):
    """The caller's API keys."""

    items: list[ApiKeyOut]


class ApiKeyCreated(BaseModel):
    """A new API key: shown only in this answer."""

    id: int
    name: str
    api_key: str = Field(description="send it as 'X-API-Key'; it is not shown again")


class UserOut(BaseModel):
    """An account."""

    id: int
    username: str
    full_name: str | None
    role: str
    active: bool


class UserListed(UserOut):
    """An account with the codes of the neighbourhoods assigned to it."""

    neighbourhood_codes: list[str]


class UserList(BaseModel):
    """All accounts, by user name."""

    items: list[UserListed]

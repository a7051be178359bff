"""Sign-in (OAuth2 password flow), API keys and user administration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from app.deps import SESSION_COOKIE, Administer, SessionDep, SettingsDep, SignedIn, require_browser_origin
from app.policy import ROLES
from app.routers.responses import RESTRICTED, SIGNED_IN, errors
from app.schemas.auth import ApiKeyCreated, ApiKeyList, Me, SessionOut, TokenOut, UserList, UserOut
from app.services import auth as service

router = APIRouter(prefix="/api", tags=["auth"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    full_name: str | None = Field(None, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=200)


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    neighbourhood_ids: list[int] = Field(max_length=10_000)
    replace: bool = False


def _user(user: Any, codes: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "active": user.active,
        **({"neighbourhood_codes": codes} if codes is not None else {}),
    }


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/auth/token", response_model=TokenOut, responses=errors(400, 401, 422, 429))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """Exchange a user name and password for a bearer token."""
    issued = service.login(db, settings, form.username, form.password, client=_client(request))
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": settings.token_ttl_minutes * 60,
    }


@router.post(
    "/auth/session",
    response_model=SessionOut,
    dependencies=[Depends(require_browser_origin)],
    responses=errors(400, 401, 403, 422, 429),
)
def start_session(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    settings: SettingsDep,
    response: Response,
    request: Request,
) -> dict[str, Any]:
    """Sign in from the browser (this app's own pages only): the token comes only as an HttpOnly, SameSite=Strict
    cookie that page scripts cannot read; it reads and, from this app's own origin, writes."""
    issued = service.login(db, settings, form.username, form.password, client=_client(request))
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=settings.environment == "production",
        path="/",
    )
    return {"token_type": "cookie", "expires_in": settings.token_ttl_minutes * 60}


@router.post("/auth/logout", status_code=204, responses=errors(401))
def logout(db: SessionDep, principal: SignedIn) -> Response:
    """Revoke the token used for this request."""
    service.logout(db, principal)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me, responses=errors(401))
def me(principal: SignedIn) -> dict[str, Any]:
    """Who the caller is, with role and assigned neighbourhoods."""
    return {
        "id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "neighbourhood_ids": sorted(principal.neighbourhood_ids),
    }


@router.get("/auth/api-keys", response_model=ApiKeyList, responses=errors(401))
def list_api_keys(db: SessionDep, principal: SignedIn) -> dict[str, Any]:
    """The caller's API keys (never the keys themselves)."""
    assert principal.user_id is not None
    return {
        "items": [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }
            for k in service.list_api_keys(db, principal.user_id)
        ]
    }


@router.post(
    "/auth/api-keys", status_code=201, response_model=ApiKeyCreated, responses=errors(400, SIGNED_IN)
)
def create_api_key(
    body: ApiKeyCreate, db: SessionDep, settings: SettingsDep, principal: SignedIn
) -> dict[str, Any]:
    """A long-lived key for scripts; send it as 'X-API-Key'. It is shown only once."""
    issued = service.create_api_key(db, settings, principal, body.name)
    return {"id": issued.token_id, "name": body.name, "api_key": issued.token}


@router.delete("/auth/api-keys/{key_id}", status_code=204, responses=errors(SIGNED_IN, 404))
def revoke_api_key(db: SessionDep, principal: SignedIn, key_id: int = Path(ge=1)) -> Response:
    """Revoke one of your API keys."""
    service.revoke_api_key(db, principal, key_id)
    return Response(status_code=204)


@router.get("/users", response_model=UserList, responses=errors(401, 403))
def list_users(db: SessionDep, principal: Administer) -> dict[str, Any]:
    """All accounts (admins only)."""
    return {"items": [_user(u, codes) for u, codes in service.list_users(db)]}


@router.post("/users", status_code=201, response_model=UserOut, responses=errors(400, RESTRICTED, 409))
def create_user(body: UserCreate, db: SessionDep, principal: Administer) -> dict[str, Any]:
    """Create an account."""
    return _user(service.add_user(db, body.username, body.password, body.role, body.full_name))


@router.patch("/users/{user_id}", response_model=UserOut, responses=errors(400, RESTRICTED, 404, 409))
def update_user(
    body: UserUpdate, db: SessionDep, principal: Administer, user_id: int = Path(ge=1)
) -> dict[str, Any]:
    """Change a user's role, password or active flag."""
    return _user(service.update_user(db, user_id, **body.model_dump(exclude_unset=True)))


@router.put("/users/{user_id}/neighbourhoods", status_code=204, responses=errors(400, RESTRICTED, 404))
def assign_neighbourhoods(
    body: Assignment, db: SessionDep, principal: Administer, user_id: int = Path(ge=1)
) -> Response:
    """Give an organiser edit rights in neighbourhoods."""
    service.assign_neighbourhoods(db, user_id, body.neighbourhood_ids, replace=body.replace)
    return Response(status_code=204)

"""Accounts, sign-in, bearer tokens and API keys, and organisers' neighbourhood assignments."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.models import ApiToken, LoginFailure, Neighbourhood, User, UserNeighbourhood
from app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from app.policy import ROLES, Principal
from app.security import hash_password, new_token, token_digest, verify_password
from app.settings import Settings


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed to the user once; only its digest is kept."""

    token: str
    token_id: int
    expires_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def principal_for_token(db: Session, settings: Settings, token: str) -> Principal:
    """Resolve a bearer token or API key to its user; unknown, expired, revoked or disabled is a 401."""
    digest = token_digest(token, settings.secret_key.get_secret_value())
    row = db.execute(
        select(
            ApiToken.id,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            User.id,
            User.username,
            User.role,
            User.active,
        )
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        raise NotAuthenticated("the token is not valid: sign in again")
    token_id, expires_at, revoked_at, user_id, username, role, active = row
    if revoked_at is not None:
        raise NotAuthenticated("the token was revoked: sign in again or create a new API key")
    if expires_at is not None and expires_at <= _now():
        raise NotAuthenticated("the token has expired: sign in again")
    if not active:
        raise NotAuthenticated("this account is disabled: ask an administrator")
    neighbourhoods = frozenset(
        db.scalars(select(UserNeighbourhood.neighbourhood_id).where(UserNeighbourhood.user_id == user_id))
    )
    return Principal(user_id, username, role, neighbourhoods, token_id)


def _issue(
    db: Session, user_id: int, kind: str, settings: Settings, *, name: str | None = None
) -> IssuedToken:
    token = new_token(kind)
    expires_at = _now() + dt.timedelta(minutes=settings.token_ttl_minutes) if kind == "session" else None
    row = ApiToken(
        user_id=user_id,
        kind=kind,
        name=name,
        token_hash=token_digest(token, settings.secret_key.get_secret_value()),
        prefix=token[:10],
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return IssuedToken(token, row.id, expires_at)


# A client may fail this many times as often as one account allows (on any names, e.g. colleagues behind one
# address mistyping theirs) before all its sign-ins wait.
CLIENT_FAILURE_FACTOR = 4


def _client_address(client: str | None) -> str:
    """The address sign-in failures are counted for; IPv6 by /64 network (one host can take a whole /64)."""
    if not client:
        return "local"
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:60]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _recent_failures(db: Session, settings: Settings, key: str) -> int:
    row = db.get(LoginFailure, key)
    if row is None or row.last_failure_at + dt.timedelta(seconds=settings.login_lockout_seconds) <= _now():
        return 0
    return row.failures


def _count_failure(db: Session, settings: Settings, key: str) -> None:
    """One more failure for `key`; failures older than the lockout period are forgotten (rows too)."""
    window = dt.timedelta(seconds=settings.login_lockout_seconds)
    db.execute(delete(LoginFailure).where(LoginFailure.last_failure_at < func.now() - window))
    db.execute(
        insert(LoginFailure)
        .values(username=key, failures=1, last_failure_at=func.now())
        .on_conflict_do_update(
            index_elements=[LoginFailure.username],
            set_={"failures": LoginFailure.failures + 1, "last_failure_at": func.now()},
        )
    )


def login(
    db: Session, settings: Settings, username: str, password: str, *, client: str | None = None
) -> IssuedToken:
    """Check a password and issue a session token (429 while the caller's address is locked).

    Failures are counted per account and client address, and per address over all names: a stranger cannot lock
    anyone out of signing in from elsewhere, and names that do not exist never get a row of their own.
    """
    address = _client_address(client)
    client_key = f"client:{address}"
    user = db.scalar(select(User).where(User.username == username))
    account_key = f"user:{user.id}:{address}" if user is not None else None
    if _recent_failures(db, settings, client_key) >= settings.login_max_failures * CLIENT_FAILURE_FACTOR or (
        account_key is not None and _recent_failures(db, settings, account_key) >= settings.login_max_failures
    ):
        raise TooManyRequests(
            f"too many failed sign-ins from your address: wait {settings.login_lockout_seconds} seconds and try again"
        )
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.active:
        _count_failure(db, settings, client_key)
        if account_key is not None:
            _count_failure(db, settings, account_key)
        db.commit()
        raise NotAuthenticated("wrong user name or password")
    db.execute(delete(LoginFailure).where(LoginFailure.username == account_key))
    issued = _issue(db, user.id, "session", settings)
    db.commit()
    return issued


def logout(db: Session, principal: Principal) -> None:
    """Revoke the token the caller used."""
    db.execute(update(ApiToken).where(ApiToken.id == principal.token_id).values(revoked_at=func.now()))
    db.commit()


def create_api_key(db: Session, settings: Settings, principal: Principal, name: str) -> IssuedToken:
    """A long-lived key for scripts; it is shown once."""
    assert principal.user_id is not None
    issued = _issue(db, principal.user_id, "api_key", settings, name=name)
    db.commit()
    return issued


def list_api_keys(db: Session, user_id: int) -> list[ApiToken]:
    """The user's API keys (digests are never returned)."""
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.kind == "api_key")))


def revoke_api_key(db: Session, principal: Principal, key_id: int) -> None:
    """Revoke one of the caller's keys (an admin may revoke anyone's)."""
    key = db.get(ApiToken, key_id)
    if (
        key is None
        or key.kind != "api_key"
        or (key.user_id != principal.user_id and principal.role != "admin")
    ):
        raise NotFound(f"no API key {key_id}")
    key.revoked_at = _now()
    db.commit()


def revoke_key_by_prefix(db: Session, username: str, prefix: str | None) -> int:
    """Revoke a user's API keys (all, or those whose key starts with `prefix`); returns how many."""
    user = _user_by_name(db, username)
    stmt = update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.kind == "api_key", ApiToken.revoked_at.is_(None)
    )
    if prefix:
        stmt = stmt.where(ApiToken.prefix == prefix[:10])
    count = db.execute(stmt.values(revoked_at=func.now())).rowcount  # type: ignore[attr-defined]
    db.commit()
    return int(count or 0)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}", field="role")


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput("the password must be at least 10 characters long", field="password")


def _user_by_name(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def add_user(db: Session, username: str, password: str, role: str, full_name: str | None = None) -> User:
    """Create an account."""
    _check_role(role)
    _check_password(password)
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username!r} exists already", field="username")
    user = User(username=username, password_hash=hash_password(password), role=role, full_name=full_name)
    db.add(user)
    db.commit()
    return user


def list_users(db: Session) -> list[tuple[User, list[str]]]:
    """All accounts with the codes of the neighbourhoods assigned to each."""
    users = list(db.scalars(select(User).order_by(User.username)))
    rows = db.execute(
        select(UserNeighbourhood.user_id, Neighbourhood.code)
        .join(Neighbourhood, Neighbourhood.id == UserNeighbourhood.neighbourhood_id)
        .order_by(Neighbourhood.code)
    ).all()
    codes: dict[int, list[str]] = {}
    for user_id, code in rows:
        codes.setdefault(user_id, []).append(code)
    return [(u, codes.get(u.id, [])) for u in users]


def get_user(db: Session, user_id: int) -> User:
    """One account by id."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _revoke_all(db: Session, user_id: int) -> None:
    """End every sign-in token and API key of a user (they sign in again and make new keys)."""
    db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def _keep_an_admin(db: Session, user: User, role: str | None, active: bool | None) -> None:
    """Refuse to demote or disable the only active admin: nobody could administer users any more."""
    demoted = role is not None and role != "admin"
    disabled = active is False
    if user.role != "admin" or not user.active or not (demoted or disabled):
        return
    admins = db.scalars(
        select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
    ).all()
    if set(admins) <= {user.id}:
        raise Conflict(
            f"{user.username} is the only active admin: make another user admin first, then change this one",
            field="role" if demoted else "active",
        )


def update_user(
    db: Session,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a user's role, password or whether the account is active. A new password, a new role or disabling
    revokes all their sign-in tokens and API keys; the only active admin cannot be demoted or disabled."""
    user = get_user(db, user_id)
    if role is not None:
        _check_role(role)
    if password is not None:
        _check_password(password)
    _keep_an_admin(db, user, role, active)
    revoke = False
    if role is not None and role != user.role:
        user.role = role
        revoke = True
    if password is not None:
        user.password_hash = hash_password(password)
        revoke = True
    if active is not None:
        revoke = revoke or (user.active and not active)
        user.active = active
    if revoke:
        _revoke_all(db, user.id)
    db.commit()
    return user


def set_role(db: Session, username: str, role: str) -> User:
    """Change a user's role by name (CLI)."""
    return update_user(db, _user_by_name(db, username).id, role=role)


def assign_neighbourhoods(
    db: Session, user_id: int, neighbourhood_ids: list[int], *, replace: bool = False
) -> None:
    """Give an organiser edit rights in these neighbourhoods; `replace` that takes any away revokes their tokens
    and keys."""
    get_user(db, user_id)
    found = set(db.scalars(select(Neighbourhood.id).where(Neighbourhood.id.in_(neighbourhood_ids))))
    missing = sorted(set(neighbourhood_ids) - found)
    if missing:
        raise InvalidInput(f"no neighbourhood with id {missing}", field="neighbourhood_ids")
    if replace:
        removed = db.execute(
            delete(UserNeighbourhood).where(
                UserNeighbourhood.user_id == user_id,
                UserNeighbourhood.neighbourhood_id.not_in(neighbourhood_ids),
            )
        ).rowcount  # type: ignore[attr-defined]
        if removed:
            _revoke_all(db, user_id)
    if neighbourhood_ids:
        db.execute(
            insert(UserNeighbourhood)
            .values([{"user_id": user_id, "neighbourhood_id": n} for n in neighbourhood_ids])
            .on_conflict_do_nothing()
        )
    db.commit()


def assign_by_code(db: Session, username: str, city_id: int, codes: list[str]) -> list[int]:
    """Assign neighbourhoods by their codes in a city (CLI); returns their ids."""
    user = _user_by_name(db, username)
    rows = dict(
        db.execute(
            select(Neighbourhood.code, Neighbourhood.id).where(
                Neighbourhood.city_id == city_id, Neighbourhood.code.in_(codes)
            )
        ).all()
    )
    missing = [c for c in codes if c not in rows]
    if missing:
        raise InvalidInput(f"no neighbourhood with code {', '.join(missing)} in that city", field="codes")
    ids = [rows[c] for c in codes]
    assign_neighbourhoods(db, user.id, ids)
    return ids

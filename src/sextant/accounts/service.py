"""Accounts rules: authentication, sessions and tokens, API keys, rate limits, users/teams/roles admin,
and turning a user into the `Actor` every service checks."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, case, cast, delete, func, literal, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from sextant.accounts.models import ApiKey, AuthSession, RateLimitBucket, Role, Team, User
from sextant.accounts.security import (
    MIN_PASSWORD_LENGTH,
    digest,
    hash_password,
    needs_rehash,
    new_token,
    verify_password,
)
from sextant.core import fieldtypes as ft
from sextant.core.audit import record_change
from sextant.core.config import get_settings
from sextant.core.db import UTCDateTime, is_postgres, session_scope, utcnow
from sextant.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from sextant.core.metadata import ObjectSetting, load_view, registry
from sextant.core.permissions import (
    ACTIONS,
    FIELD_ACCESS_LEVELS,
    Actor,
    default_role_permissions,
    expand_permissions,
)

TOUCH_EVERY = timedelta(minutes=1)  # write last_seen/last_used at most this often: reads stay reads
MAX_ID = 2**31 - 1  # primary keys are 32-bit: larger ids cannot exist (and overflow SQLite's binding)


# -- bootstrap ---------------------------------------------------------------------------------------------


def ensure_defaults(session: Session) -> None:
    """Default roles and per-object sharing rows; idempotent, run by `sextant migrate` and at start-up."""
    existing = {r.name for r in session.scalars(select(Role))}
    for name, spec in default_role_permissions().items():
        if name not in existing:
            session.add(
                Role(
                    name=name,
                    label=spec["label"],
                    is_admin=spec.get("is_admin", False),
                    permissions=spec["permissions"],
                    field_access={},
                )
            )
    present = {s.object_name for s in session.scalars(select(ObjectSetting))}
    for name in registry.names():
        if name not in present:
            session.add(ObjectSetting(object_name=name, sharing="private"))
    session.flush()


# -- actors ------------------------------------------------------------------------------------------------


def _peers_query() -> Any:
    """Everyone below a user in the manager hierarchy, however deep, and their team-mates: one indexed query
    (the recursive UNION also stops on a cycle) instead of loading every user on every request."""
    below = select(User.id).where(User.manager_id == bindparam("me")).cte("below", recursive=True)
    below = below.union(select(User.id).join(below, User.manager_id == below.c.id))
    return select(below.c.id).union(select(User.id).where(User.team_id == bindparam("team")))


_PEERS = _peers_query()  # built once: a team of NULL matches nobody


def build_actor(
    session: Session, user: User, *, auth_session_id: int | None = None, api_key_id: int | None = None
) -> Actor:
    role = user.role
    return _actor(
        session,
        user.id,
        user.email,
        user.team_id,
        role.name,
        role.is_admin,
        role.permissions,
        role.field_access,
        auth_session_id=auth_session_id,
        api_key_id=api_key_id,
    )


def _actor(
    session: Session,
    user_id: int,
    email: str,
    team_id: int | None,
    role_name: str,
    is_admin: bool,
    permissions: dict[str, Any] | None,
    field_access: dict[str, Any] | None,
    *,
    auth_session_id: int | None = None,
    api_key_id: int | None = None,
) -> Actor:
    peers = {user_id, *session.scalars(_PEERS, {"me": user_id, "team": team_id})}
    return Actor(
        user_id=user_id,
        email=email,
        role_name=role_name,
        is_admin=is_admin,
        permissions=expand_permissions(permissions or {}, registry.names()),
        field_access=field_access or {},
        team_id=team_id,
        peer_ids=frozenset(peers),
        auth_session_id=auth_session_id,
        api_key_id=api_key_id,
    )


# Per request, from a credential: what the Actor needs of the session or key, its user, the user's role and
# their peers (the hierarchy below them and their team-mates, as a comma-separated list), as plain columns of
# one statement built once. Nothing is kept between requests: a logout, a revoked key, a deactivated user, an
# edited role or a new manager is seen by the next request in every process.
def _credential_statement(model: Any, hash_column: Any, *columns: Any) -> Any:
    me = select(model.user_id).where(hash_column == bindparam("digest")).scalar_subquery()
    my_team = select(User.team_id).where(User.id == me).scalar_subquery()
    below = select(User.id).where(User.manager_id == me).cte("below", recursive=True)
    below = below.union(select(User.id).join(below, User.manager_id == below.c.id))
    mates = aliased(User)
    peers = union(select(below.c.id), select(mates.id).where(mates.team_id == my_team)).subquery()
    peer_list = select(func.aggregate_strings(cast(peers.c.id, String), ",")).scalar_subquery()
    return (
        select(
            model.id.label("credential_id"),
            model.expires_at,
            model.revoked_at,
            *columns,
            User.id.label("user_id"),
            User.email,
            User.is_active,
            User.team_id,
            Role.name.label("role_name"),
            Role.is_admin,
            Role.permissions,
            Role.field_access,
            peer_list.label("peers"),
        )
        .join(User, User.id == model.user_id)
        .join(Role, Role.id == User.role_id)
        .where(hash_column == bindparam("digest"))
    )


_SESSION_ACTOR = _credential_statement(
    AuthSession,
    AuthSession.token_hash,
    AuthSession.kind,
    AuthSession.last_seen_at.label("last_used_at"),
    AuthSession.csrf_token,
)
_KEY_ACTOR = _credential_statement(ApiKey, ApiKey.key_hash, ApiKey.last_used_at)


@dataclass(frozen=True)
class Credential:
    actor: Actor
    csrf_token: str | None = None


def session_actor(session: Session, raw: str, kind: str) -> Credential | None:
    """The Actor of a live session token or cookie (and the session's CSRF token), else None."""
    row = session.execute(_SESSION_ACTOR, {"digest": digest(raw)}).first()
    now = utcnow()
    if row is None or row.kind != kind or not _usable(row, now):
        return None
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        _touch_id(session, AuthSession, row.credential_id, "last_seen_at", now)
    return Credential(_row_actor(session, row, auth_session_id=row.credential_id), row.csrf_token)


def key_actor(session: Session, raw: str) -> Actor | None:
    """The Actor of a live API key, else None."""
    row = session.execute(_KEY_ACTOR, {"digest": digest(raw)}).first()
    now = utcnow()
    if row is None or not _usable(row, now):
        return None
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        _touch_id(session, ApiKey, row.credential_id, "last_used_at", now)
    return _row_actor(session, row, api_key_id=row.credential_id)


def _usable(row: Any, now: datetime) -> bool:
    expired = row.expires_at is not None and row.expires_at <= now
    return row.revoked_at is None and not expired and bool(row.is_active)


def _row_actor(session: Session, row: Any, **credential: int) -> Actor:
    return Actor(
        user_id=row.user_id,
        email=row.email,
        role_name=row.role_name,
        is_admin=row.is_admin,
        permissions=expand_permissions(row.permissions or {}, registry.names()),
        field_access=row.field_access or {},
        team_id=row.team_id,
        peer_ids=frozenset({row.user_id, *(int(p) for p in (row.peers or "").split(",") if p)}),
        **credential,
    )


# -- rate limiting -----------------------------------------------------------------------------------------
# Fixed windows counted in the database (rate_limit_buckets), so every server process shares them. A sign-in
# attempt is counted *before* the password is checked, in its own committed transaction, with one atomic
# upsert: parallel guesses cannot all slip past the check, and a failure counts although its request fails.

IP_LIMIT_FACTOR = 4  # one address may fail for a few accounts (an office behind NAT) before it is stopped


def _login_email(raw: str) -> str:
    """The form an email is stored in, so that case or Unicode variants share one account and one counter."""
    try:
        return ft.normalise_email(raw)
    except ft.ValueError_:
        return raw.strip().lower()


def _login_keys(email: str, ip: str | None) -> list[str]:
    # Keys must fit the column whatever the client sent: long values are replaced by their digest.
    def short(value: str) -> str:
        return value if len(value) <= 254 else "sha256:" + digest(value)

    return [f"login:email:{short(email)}"] + ([f"login:ip:{short(ip)}"] if ip else [])


def _limit(key: str) -> int:
    return get_settings().login_max_failures * (IP_LIMIT_FACTOR if key.startswith("login:ip:") else 1)


def _hit(session: Session, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """Count one attempt on `key`, starting a new window if the last is over; return (count, window start)."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stale = RateLimitBucket.window_start < literal(now - window, UTCDateTime())
    fresh_start = literal(now, UTCDateTime())
    stmt = (
        insert(RateLimitBucket)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitBucket.key],
            set_={
                "count": case((stale, 1), else_=RateLimitBucket.count + 1),
                "window_start": case((stale, fresh_start), else_=RateLimitBucket.window_start),
            },
        )
        .returning(RateLimitBucket.count, RateLimitBucket.window_start)
    )
    count, start = session.execute(stmt).one()
    return count, start


def count_login_attempt(email: str, ip: str | None) -> list[str]:
    """Count a sign-in attempt for the account and the client address; 429 once either is over its limit.

    Runs in its own transaction, committed before the password is even checked. Returns the keys counted.
    """
    window = timedelta(seconds=get_settings().login_window_seconds)
    keys = _login_keys(email, ip)
    now = utcnow()
    retry = 0
    with session_scope() as s:
        for key in keys:
            count, start = _hit(s, key, now, window)
            if count > _limit(key):
                retry = max(retry, math.ceil((start + window - now).total_seconds()))
    if retry:
        raise TooManyRequests("Too many failed sign-in attempts; try again later", retry_after=max(retry, 1))
    return keys


def _forget_attempt(session: Session, keys: list[str]) -> None:
    """On a successful sign-in the account's failures are forgiven; the address gets its attempt back."""
    session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == keys[0]))
    if len(keys) > 1:
        session.execute(
            update(RateLimitBucket)
            .where(RateLimitBucket.key == keys[1], RateLimitBucket.count > 0)
            .values(count=RateLimitBucket.count - 1)
        )
    # Housekeeping: windows long over (e.g. counters for made-up emails) are dropped.
    cutoff = utcnow() - 2 * timedelta(seconds=get_settings().login_window_seconds)
    session.execute(delete(RateLimitBucket).where(RateLimitBucket.window_start < cutoff))


# -- login / sessions / tokens -----------------------------------------------------------------------------


@dataclass
class Login:
    user: User
    raw_token: str
    auth_session: AuthSession


def authenticate(session: Session, email: str, password: str, ip: str | None) -> User:
    """The active user with this email and password, else 401 (the same answer whatever was wrong).

    Every attempt is counted first (see count_login_attempt): past the limit the answer is 429, even for the
    right password, until the window is over.
    """
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise Unauthorized("Email and password are required")
    email = _login_email(email)
    keys = count_login_attempt(email, ip)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized("Wrong email or password")
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    _forget_attempt(session, keys)
    user.last_login_at = utcnow()
    return user


def start_session(
    session: Session, user: User, kind: str, user_agent: str | None = None, ip: str | None = None
) -> Login:
    settings = get_settings()
    raw = new_token("sxs_" if kind == "cookie" else "sxt_")
    if kind == "cookie":
        lifetime = timedelta(days=settings.session_days)
    else:
        lifetime = timedelta(hours=settings.token_hours)
    auth = AuthSession(
        token_hash=digest(raw),
        user_id=user.id,
        kind=kind,
        csrf_token=new_token() if kind == "cookie" else None,
        expires_at=utcnow() + lifetime,
        user_agent=(user_agent or "")[:300],
        ip=ip,
    )
    session.add(auth)
    session.flush()
    return Login(user, raw, auth)


def resolve_session_token(
    session: Session, raw: str, kind: str | None = None
) -> tuple[User, AuthSession] | None:
    # One round trip for the session, its user and the user's role and team (joined eagerly).
    found = session.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == digest(raw))
    ).first()
    now = utcnow()
    if found is None:
        return None
    auth, user = found
    if auth.revoked_at is not None or auth.expires_at <= now:
        return None
    if kind and auth.kind != kind:
        return None
    if not user.is_active:
        return None
    if auth.last_seen_at is None or auth.last_seen_at < now - TOUCH_EVERY:
        _touch(session, auth, "last_seen_at", now)
    return user, auth


def _touch(session: Session, row: AuthSession | ApiKey, column: str, now: datetime) -> None:
    if _touch_id(session, type(row), row.id, column, now):
        set_committed_value(row, column, now)


def _touch_id(session: Session, model: Any, row_id: int, column: str, now: datetime) -> bool:
    """Note when a session or key was last used: best effort, never the reason a request fails.

    Many requests carry the same token at once. On SQLite a read transaction that then writes fails at once
    ("database is locked") when another request wrote first; the write is conditional and in a savepoint, so
    a request that loses that race keeps its transaction and leaves the touch to the one that won.
    """
    attr = getattr(model, column)
    try:
        with session.begin_nested():
            stale = or_(attr.is_(None), attr < now - TOUCH_EVERY)
            session.execute(
                update(model)
                .where(model.id == row_id, stale)
                .values({column: now})
                .execution_options(synchronize_session=False)
            )
    except OperationalError:
        return False
    return True


def revoke_session(session: Session, auth_session_id: int) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == auth_session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# -- API keys ----------------------------------------------------------------------------------------------


def create_api_key(
    session: Session, actor: Actor, name: str, expires_at: datetime | None = None
) -> dict[str, Any]:
    """A new personal key; the answer holds the secret, stored only as its SHA-256 and never shown again."""
    if actor.user_id is None:
        raise ValidationFailed([FieldError("user", "API keys belong to a user", "invalid")])
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise ValidationFailed([FieldError("name", "is required (at most 120 characters)", "required")])
    if expires_at is not None:
        try:  # a time without an offset is taken as UTC
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            expires_at = expires_at.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationFailed([FieldError("expires_at", "out of range", "invalid")]) from exc
        if expires_at <= utcnow():
            raise ValidationFailed([FieldError("expires_at", "must be in the future", "invalid")])
    prefix = new_token()[:8].replace("-", "x").replace("_", "x")
    raw = f"sxk_{prefix}_{new_token()}"
    key = ApiKey(
        user_id=actor.user_id, name=name.strip(), prefix=prefix, key_hash=digest(raw), expires_at=expires_at
    )
    session.add(key)
    session.flush()
    return {**api_key_dict(key), "key": raw}


def api_key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": f"sxk_{key.prefix}",
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


def list_api_keys(session: Session, actor: Actor) -> list[dict[str, Any]]:
    keys = session.scalars(select(ApiKey).where(ApiKey.user_id == actor.user_id).order_by(ApiKey.id))
    return [api_key_dict(k) for k in keys]


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> None:
    """The owner (or an administrator) revokes a key; the very next request with it is refused."""
    key = session.get(ApiKey, key_id) if _is_id(key_id) else None
    if key is None or (key.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()


def resolve_api_key(session: Session, raw: str) -> tuple[User, ApiKey] | None:
    found = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == digest(raw))
    ).first()
    now = utcnow()
    if found is None:
        return None
    key, user = found
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    if not user.is_active:
        return None
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        _touch(session, key, "last_used_at", now)
    return user, key


# -- users, teams, roles (admin) ---------------------------------------------------------------------------


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may do this")


def _get(session: Session, model: Any, ident: Any) -> Any:
    return session.get(model, ident) if _is_id(ident) else None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) | {"UTC"}


def user_dict(user: User, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "team_id": user.team_id,
        "is_active": user.is_active,
    }
    if full:
        out.update(
            {
                "role": user.role.name,
                "manager_id": user.manager_id,
                "timezone": user.timezone,
                "created_at": user.created_at,
                "last_login_at": user.last_login_at,
            }
        )
    return out


def _clean_user(session: Session, data: dict[str, Any], user: User | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    allowed = {"email", "full_name", "password", "role", "team_id", "manager_id", "is_active", "timezone"}
    for key in data:
        if key not in allowed:
            errors.append(FieldError(key, f"unknown field '{key}'", "unknown_field"))
    if "email" in data:
        try:
            out["email"] = ft.normalise_email(data["email"]) if isinstance(data["email"], str) else None
            if out["email"] is None:
                raise ft.ValueError_("expected a string")
        except ft.ValueError_ as exc:
            errors.append(FieldError("email", exc.message, exc.code))
    if "full_name" in data:
        if not isinstance(data["full_name"], str) or len(data["full_name"]) > 200:
            errors.append(FieldError("full_name", "expected a string of at most 200 characters", "type"))
        else:
            out["full_name"] = data["full_name"].strip()
    if "password" in data:
        pw = data["password"]
        if not isinstance(pw, str) or len(pw) < MIN_PASSWORD_LENGTH or len(pw) > 1024:
            errors.append(FieldError("password", f"must be {MIN_PASSWORD_LENGTH} to 1024 characters", "weak"))
        else:
            out["password_hash"] = hash_password(pw)
    if "role" in data:
        role = None
        if isinstance(data["role"], str):
            role = session.scalar(select(Role).where(Role.name == data["role"]))
        if role is None:
            errors.append(FieldError("role", "unknown role", "invalid_choice"))
        else:
            out["role_id"] = role.id
    if "team_id" in data:
        tid = data["team_id"]
        if tid is not None and (not _is_id(tid) or session.get(Team, tid) is None):
            errors.append(FieldError("team_id", "unknown team", "invalid_reference"))
        else:
            out["team_id"] = tid
    if "manager_id" in data:
        mid = data["manager_id"]
        if mid is not None and (not _is_id(mid) or session.get(User, mid) is None):
            errors.append(FieldError("manager_id", "unknown user", "invalid_reference"))
        elif mid is not None and user is not None and _would_cycle(session, user.id, mid):
            errors.append(FieldError("manager_id", "would make a user their own manager", "cycle"))
        else:
            out["manager_id"] = mid
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.append(FieldError("is_active", "expected true or false", "type"))
        else:
            out["is_active"] = data["is_active"]
    if "timezone" in data:
        # Checked against the list, never by opening a file named after client input ("America" is a folder).
        if isinstance(data["timezone"], str) and data["timezone"] in _time_zones():
            out["timezone"] = data["timezone"]
        else:
            errors.append(FieldError("timezone", "unknown IANA time zone", "invalid_choice"))
    if errors:
        raise ValidationFailed(errors)
    return out


def _would_cycle(session: Session, user_id: int, manager_id: int) -> bool:
    seen, current = set(), manager_id
    while current is not None and current not in seen:
        if current == user_id:
            return True
        seen.add(current)
        current = session.scalar(select(User.manager_id).where(User.id == current))
    return False


def create_user(session: Session, actor: Actor, data: dict[str, Any]) -> User:
    _require_admin(actor)
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    missing = [FieldError(k, "is required", "required") for k in ("email", "password") if k not in data]
    if missing:
        raise ValidationFailed(missing)
    values = _clean_user(session, {"role": "sales", **data}, None)
    if session.scalar(select(User.id).where(User.email == values["email"])) is not None:
        raise Conflict(
            "A user with this email already exists",
            errors=[{"field": "email", "message": "already used", "code": "duplicate"}],
        )
    user = User(**values)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists") from exc
    record_change(
        session,
        actor,
        "users",
        user.id,
        "create",
        {k: [None, v] for k, v in values.items() if k != "password_hash"},
    )
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: dict[str, Any]) -> User:
    _require_admin(actor)
    user = _get(session, User, user_id)
    if user is None:
        raise NotFound("User")
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    values = _clean_user(session, data, user)
    if (
        "email" in values
        and session.scalar(select(User.id).where(User.email == values["email"], User.id != user.id))
        is not None
    ):
        raise Conflict(
            "A user with this email already exists",
            errors=[{"field": "email", "message": "already used", "code": "duplicate"}],
        )
    _keep_an_admin(session, user, values)
    changes = {}
    for key, value in values.items():
        if getattr(user, key) != value:
            changes[key] = ["***", "***"] if key == "password_hash" else [getattr(user, key), value]
            setattr(user, key, value)
    now = utcnow()
    if values.get("is_active") is False and user.id == actor.user_id:
        keep_session = keep_key = None
    elif user.id == actor.user_id:
        # Changing your own password keeps the credential you are using; every other one ends.
        keep_session, keep_key = actor.auth_session_id, actor.api_key_id
    else:
        keep_session = keep_key = None
    if values.get("is_active") is False or "password_hash" in values:
        # Deactivation and password resets end every open session and API key at once.
        session.execute(
            update(AuthSession)
            .where(
                AuthSession.user_id == user.id,
                AuthSession.revoked_at.is_(None),
                AuthSession.id != (keep_session or 0),
            )
            .values(revoked_at=now)
        )
        session.execute(
            update(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None), ApiKey.id != (keep_key or 0))
            .values(revoked_at=now)
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists") from exc
    session.expire(user, ["role", "team"])  # role_id/team_id may have changed: reload what they point to
    if changes:
        record_change(session, actor, "users", user.id, "update", changes)
    return user


def _keep_an_admin(session: Session, user: User, values: dict[str, Any]) -> None:
    """Refuse to deactivate or demote the last active administrator: nobody could manage accounts any more."""
    if not (user.is_active and user.role.is_admin):
        return
    demoted = "role_id" in values and not session.get(Role, values["role_id"]).is_admin
    if not (values.get("is_active") is False or demoted):
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .join(Role, User.role_id == Role.id)
        .where(Role.is_admin.is_(True), User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        field = "is_active" if values.get("is_active") is False else "role"
        raise ValidationFailed(
            [
                FieldError(
                    field, "the last active administrator cannot be deactivated or demoted", "last_admin"
                )
            ]
        )


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    # Every user sees the directory (owners, assignees); only admins see roles and login times.
    users = session.scalars(select(User).order_by(User.full_name, User.id))
    return [user_dict(u, full=actor.is_admin or u.id == actor.user_id) for u in users]


def get_user(session: Session, user_id: int) -> User:
    user = _get(session, User, user_id)
    if user is None:
        raise NotFound("User")
    return user


def user_exists(session: Session, actor: Actor, user_id: int) -> bool:
    user = _get(session, User, user_id)
    return user is not None and user.is_active


def _flush_unique(session: Session, message: str) -> None:
    """Flush; a unique constraint hit by a concurrent request is a 409 like the checks before it."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc


def team_dict(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "description": team.description}


def _clean_team(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors, out = [], {}
    for key, value in data.items():
        if key == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > 120:
                errors.append(FieldError("name", "is required (at most 120 characters)", "required"))
            else:
                out["name"] = value.strip()
        elif key == "description":
            if value is not None and (not isinstance(value, str) or len(value) > 1000):
                errors.append(FieldError("description", "at most 1000 characters", "too_long"))
            else:
                out["description"] = value
        else:
            errors.append(FieldError(key, f"unknown field '{key}'", "unknown_field"))
    if errors:
        raise ValidationFailed(errors)
    return out


def create_team(session: Session, actor: Actor, data: Any) -> Team:
    _require_admin(actor)
    values = _clean_team(data)
    if "name" not in values:
        raise ValidationFailed([FieldError("name", "is required", "required")])
    if session.scalar(select(Team.id).where(Team.name == values["name"])):
        raise Conflict("A team with this name already exists")
    team = Team(**values)
    session.add(team)
    _flush_unique(session, "A team with this name already exists")
    record_change(session, actor, "teams", team.id, "create", {k: [None, v] for k, v in values.items()})
    return team


def update_team(session: Session, actor: Actor, team_id: int, data: Any) -> Team:
    _require_admin(actor)
    team = _get(session, Team, team_id)
    if team is None:
        raise NotFound("Team")
    values = _clean_team(data)
    if "name" in values and session.scalar(
        select(Team.id).where(Team.name == values["name"], Team.id != team_id)
    ):
        raise Conflict("A team with this name already exists")
    changes = {k: [getattr(team, k), v] for k, v in values.items() if getattr(team, k) != v}
    for key, value in values.items():
        setattr(team, key, value)
    _flush_unique(session, "A team with this name already exists")
    if changes:
        record_change(session, actor, "teams", team.id, "update", changes)
    return team


def delete_team(session: Session, actor: Actor, team_id: int) -> None:
    _require_admin(actor)
    team = _get(session, Team, team_id)
    if team is None:
        raise NotFound("Team")
    session.execute(update(User).where(User.team_id == team_id).values(team_id=None))
    session.delete(team)
    record_change(session, actor, "teams", team_id, "delete", {})


def role_dict(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "label": role.label,
        "is_admin": role.is_admin,
        "permissions": role.permissions or {},
        "field_access": role.field_access or {},
    }


def _clean_role(session: Session, data: Any, creating: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    objects = set(registry.names())
    for key, value in data.items():
        if key == "name" and creating:
            if not isinstance(value, str) or not ft_identifier(value):
                errors.append(
                    FieldError(
                        "name", "lowercase letters, digits and _ (2-64), starting with a letter", "invalid"
                    )
                )
            else:
                out["name"] = value
        elif key == "label":
            if not isinstance(value, str) or not value.strip() or len(value) > 120:
                errors.append(FieldError("label", "is required (at most 120 characters)", "required"))
            else:
                out["label"] = value.strip()
        elif key == "permissions":
            if not isinstance(value, dict):
                errors.append(FieldError("permissions", "expected {object: [actions]}", "type"))
                continue
            bad = len(errors)
            for obj, actions in value.items():
                if obj != "*" and obj not in objects:
                    errors.append(FieldError(f"permissions.{obj}", "unknown object", "unknown_object"))
                elif not isinstance(actions, list) or any(
                    not isinstance(a, str) or a not in ACTIONS for a in actions
                ):
                    errors.append(
                        FieldError(
                            f"permissions.{obj}",
                            f"actions must be among {', '.join(ACTIONS)}",
                            "invalid_choice",
                        )
                    )
            if len(errors) == bad:
                out["permissions"] = {k: sorted(set(v)) for k, v in value.items()}
        elif key == "field_access":
            if not isinstance(value, dict):
                errors.append(FieldError("field_access", "expected {object: {field: level}}", "type"))
                continue
            for obj, fields in value.items():
                if obj not in objects:
                    errors.append(FieldError(f"field_access.{obj}", "unknown object", "unknown_object"))
                    continue
                if not isinstance(fields, dict):
                    errors.append(FieldError(f"field_access.{obj}", "expected {field: level}", "type"))
                    continue
                known = load_view(session, obj).fields
                for fname, level in fields.items():
                    where = f"field_access.{obj}.{fname}"
                    if fname not in known:
                        errors.append(FieldError(where, "unknown field", "unknown_field"))
                    elif fname in ("id", "version"):
                        errors.append(FieldError(where, "cannot be restricted", "invalid"))
                    elif not isinstance(level, str) or level not in FIELD_ACCESS_LEVELS:
                        errors.append(
                            FieldError(
                                where, f"must be one of {', '.join(FIELD_ACCESS_LEVELS)}", "invalid_choice"
                            )
                        )
            out["field_access"] = value
        else:
            errors.append(FieldError(key, f"unknown field '{key}'", "unknown_field"))
    if errors:
        raise ValidationFailed(errors)
    return out


def ft_identifier(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z][a-z0-9_]{1,63}", value))


def create_role(session: Session, actor: Actor, data: Any) -> Role:
    _require_admin(actor)
    values = _clean_role(session, data, creating=True)
    if "name" not in values:
        raise ValidationFailed([FieldError("name", "is required", "required")])
    if session.scalar(select(Role.id).where(Role.name == values["name"])):
        raise Conflict("A role with this name already exists")
    role = Role(
        label=values.get("label", values["name"]),
        permissions=values.get("permissions", {}),
        field_access=values.get("field_access", {}),
        name=values["name"],
        is_admin=False,
    )
    session.add(role)
    _flush_unique(session, "A role with this name already exists")
    record_change(session, actor, "roles", role.id, "create", {k: [None, v] for k, v in values.items()})
    return role


def update_role(session: Session, actor: Actor, role_id: int, data: Any) -> Role:
    _require_admin(actor)
    role = _get(session, Role, role_id)
    if role is None:
        raise NotFound("Role")
    if role.is_admin:
        raise ValidationFailed([FieldError("role", "the administrator role cannot be changed", "read_only")])
    values = _clean_role(session, data, creating=False)
    changes = {k: [getattr(role, k), v] for k, v in values.items() if getattr(role, k) != v}
    for key, value in values.items():
        setattr(role, key, value)
    session.flush()
    if changes:
        record_change(session, actor, "roles", role.id, "update", changes)
    return role


def list_roles(session: Session) -> list[dict[str, Any]]:
    return [role_dict(r) for r in session.scalars(select(Role).order_by(Role.id))]

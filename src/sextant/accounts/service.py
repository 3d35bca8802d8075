"""Accounts rules: authentication, sessions and tokens, API keys, rate limits, users/teams/roles admin,
and turning a user into the `Actor` every service checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
from sextant.core.db import utcnow
from sextant.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from sextant.core.metadata import ObjectSetting, load_view, registry
from sextant.core.permissions import (
    ACTIONS,
    FIELD_ACCESS_LEVELS,
    SHARING_MODELS,
    Actor,
    default_role_permissions,
    expand_permissions,
)

TOUCH_EVERY = timedelta(minutes=1)  # write last_seen/last_used at most this often: reads stay reads


# -- bootstrap ---------------------------------------------------------------------------------------------

def ensure_defaults(session: Session) -> None:
    """Default roles and per-object sharing rows; idempotent, run by `sextant migrate` and at start-up."""
    existing = {r.name for r in session.scalars(select(Role))}
    for name, spec in default_role_permissions().items():
        if name not in existing:
            session.add(Role(name=name, label=spec["label"], is_admin=spec.get("is_admin", False),
                             permissions=spec["permissions"], field_access={}))
    present = {s.object_name for s in session.scalars(select(ObjectSetting))}
    for name in registry.names():
        if name not in present:
            session.add(ObjectSetting(object_name=name, sharing="private"))
    session.flush()


# -- actors ------------------------------------------------------------------------------------------------

def build_actor(session: Session, user: User, *, auth_session_id: int | None = None,
                api_key_id: int | None = None) -> Actor:
    role = user.role
    peers = {user.id}
    rows = session.execute(select(User.id, User.manager_id, User.team_id)).all()
    if user.team_id is not None:
        peers.update(uid for uid, _m, team in rows if team == user.team_id)
    reports: dict[int, list[int]] = {}
    for uid, manager, _t in rows:
        if manager is not None:
            reports.setdefault(manager, []).append(uid)
    below: set[int] = set()
    stack = [user.id]
    while stack:  # everyone below me in the manager hierarchy, however deep
        for sub in reports.get(stack.pop(), []):
            if sub not in below and sub != user.id:
                below.add(sub)
                stack.append(sub)
    peers |= below
    return Actor(
        user_id=user.id,
        email=user.email,
        role_name=role.name,
        is_admin=role.is_admin,
        permissions=expand_permissions(role.permissions or {}, registry.names()),
        field_access=role.field_access or {},
        team_id=user.team_id,
        peer_ids=frozenset(peers),
        auth_session_id=auth_session_id,
        api_key_id=api_key_id,
    )


# -- rate limiting -----------------------------------------------------------------------------------------

def _bucket(session: Session, key: str, window: int) -> RateLimitBucket:
    now = utcnow()
    bucket = session.get(RateLimitBucket, key, with_for_update=True)
    if bucket is None:
        bucket = RateLimitBucket(key=key, window_start=now, count=0)
        session.add(bucket)
    elif bucket.window_start < now - timedelta(seconds=window):
        bucket.window_start, bucket.count = now, 0
    return bucket


def _check_login_allowed(session: Session, keys: list[str]) -> None:
    settings = get_settings()
    now = utcnow()
    for key in keys:
        bucket = session.get(RateLimitBucket, key)
        if bucket and bucket.window_start >= now - timedelta(seconds=settings.login_window_seconds):
            limit = settings.login_max_failures * (4 if key.startswith("login:ip:") else 1)
            if bucket.count >= limit:
                retry = int((bucket.window_start + timedelta(seconds=settings.login_window_seconds) - now)
                            .total_seconds()) + 1
                raise TooManyRequests("Too many failed sign-in attempts; try again later", retry_after=retry)


def _login_keys(email: str, ip: str | None) -> list[str]:
    return [f"login:email:{email.strip().lower()}"] + ([f"login:ip:{ip}"] if ip else [])


def record_failed_login(email: str, ip: str | None) -> None:
    """In its own transaction: the failure must count even though the login request fails."""
    from sextant.core.db import session_scope

    window = get_settings().login_window_seconds
    with session_scope() as s:
        for key in _login_keys(email, ip):
            _bucket(s, key, window).count += 1


# -- login / sessions / tokens -----------------------------------------------------------------------------

@dataclass
class Login:
    user: User
    raw_token: str
    auth_session: AuthSession


def authenticate(session: Session, email: str, password: str, ip: str | None) -> User:
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise Unauthorized("Email and password are required")
    keys = _login_keys(email, ip)
    _check_login_allowed(session, keys)
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized("Wrong email or password")
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == keys[0]))
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, user: User, kind: str, user_agent: str | None = None,
                  ip: str | None = None) -> Login:
    settings = get_settings()
    raw = new_token("sxs_" if kind == "cookie" else "sxt_")
    lifetime = timedelta(days=settings.session_days) if kind == "cookie" else timedelta(hours=settings.token_hours)
    auth = AuthSession(token_hash=digest(raw), user_id=user.id, kind=kind,
                       csrf_token=new_token() if kind == "cookie" else None, expires_at=utcnow() + lifetime,
                       user_agent=(user_agent or "")[:300], ip=ip)
    session.add(auth)
    session.flush()
    return Login(user, raw, auth)


def resolve_session_token(session: Session, raw: str, kind: str | None = None) -> tuple[User, AuthSession] | None:
    auth = session.scalar(select(AuthSession).where(AuthSession.token_hash == digest(raw)))
    now = utcnow()
    if auth is None or auth.revoked_at is not None or auth.expires_at <= now:
        return None
    if kind and auth.kind != kind:
        return None
    user = session.get(User, auth.user_id)
    if user is None or not user.is_active:
        return None
    if auth.last_seen_at is None or auth.last_seen_at < now - TOUCH_EVERY:
        auth.last_seen_at = now
    return user, auth


def revoke_session(session: Session, auth_session_id: int) -> None:
    session.execute(update(AuthSession).where(AuthSession.id == auth_session_id, AuthSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


# -- API keys ----------------------------------------------------------------------------------------------

def create_api_key(session: Session, actor: Actor, name: str, expires_at: datetime | None = None) -> dict[str, Any]:
    if actor.user_id is None:
        raise ValidationFailed([FieldError("user", "API keys belong to a user", "invalid")])
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise ValidationFailed([FieldError("name", "is required (at most 120 characters)", "required")])
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed([FieldError("expires_at", "must be in the future", "invalid")])
    prefix = new_token()[:8].replace("-", "x").replace("_", "x")
    raw = f"sxk_{prefix}_{new_token()}"
    key = ApiKey(user_id=actor.user_id, name=name.strip(), prefix=prefix, key_hash=digest(raw), expires_at=expires_at)
    session.add(key)
    session.flush()
    return {**api_key_dict(key), "key": raw}


def api_key_dict(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": f"sxk_{key.prefix}", "created_at": key.created_at,
            "last_used_at": key.last_used_at, "expires_at": key.expires_at, "revoked_at": key.revoked_at}


def list_api_keys(session: Session, actor: Actor) -> list[dict[str, Any]]:
    keys = session.scalars(select(ApiKey).where(ApiKey.user_id == actor.user_id).order_by(ApiKey.id))
    return [api_key_dict(k) for k in keys]


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or (key.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()


def resolve_api_key(session: Session, raw: str) -> tuple[User, ApiKey] | None:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(raw)))
    now = utcnow()
    if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    user = session.get(User, key.user_id)
    if user is None or not user.is_active:
        return None
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        key.last_used_at = now
    return user, key


# -- users, teams, roles (admin) ---------------------------------------------------------------------------

def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        from sextant.core.errors import Forbidden

        raise Forbidden("Only administrators may do this")


def user_dict(user: User, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.id, "email": user.email, "full_name": user.full_name,
                           "team_id": user.team_id, "is_active": user.is_active}
    if full:
        out.update({"role": user.role.name, "manager_id": user.manager_id, "timezone": user.timezone,
                    "created_at": user.created_at, "last_login_at": user.last_login_at})
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
        role = session.scalar(select(Role).where(Role.name == data["role"])) if isinstance(data["role"], str) else None
        if role is None:
            errors.append(FieldError("role", "unknown role", "invalid_choice"))
        else:
            out["role_id"] = role.id
    if "team_id" in data:
        tid = data["team_id"]
        if tid is not None and (isinstance(tid, bool) or not isinstance(tid, int) or session.get(Team, tid) is None):
            errors.append(FieldError("team_id", "unknown team", "invalid_reference"))
        else:
            out["team_id"] = tid
    if "manager_id" in data:
        mid = data["manager_id"]
        if mid is not None and (isinstance(mid, bool) or not isinstance(mid, int) or session.get(User, mid) is None):
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
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            if not isinstance(data["timezone"], str) or not data["timezone"]:
                raise ValueError
            ZoneInfo(data["timezone"])
            out["timezone"] = data["timezone"]
        except (ValueError, ZoneInfoNotFoundError):
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
        raise Conflict("A user with this email already exists", errors=[{"field": "email", "message":
                                                                          "already used", "code": "duplicate"}])
    user = User(**values)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists") from exc
    record_change(session, actor, "users", user.id, "create",
                  {k: [None, v] for k, v in values.items() if k != "password_hash"})
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: dict[str, Any]) -> User:
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User")
    values = _clean_user(session, data, user)
    changes = {}
    for key, value in values.items():
        if getattr(user, key) != value:
            changes[key] = ["***", "***"] if key == "password_hash" else [getattr(user, key), value]
            setattr(user, key, value)
    if values.get("is_active") is False or "password_hash" in values:
        # Deactivation and password resets end every open session and key at once.
        session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    if values.get("is_active") is False:
        session.execute(update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists") from exc
    if changes:
        record_change(session, actor, "users", user.id, "update", changes)
    return user


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    # Every user sees the directory (owners, assignees); only admins see roles and login times.
    users = session.scalars(select(User).order_by(User.full_name, User.id))
    return [user_dict(u, full=actor.is_admin or u.id == actor.user_id) for u in users]


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User")
    return user


def user_exists(session: Session, actor: Actor, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and user.is_active


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
    session.flush()
    record_change(session, actor, "teams", team.id, "create", {k: [None, v] for k, v in values.items()})
    return team


def update_team(session: Session, actor: Actor, team_id: int, data: Any) -> Team:
    _require_admin(actor)
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("Team")
    values = _clean_team(data)
    if "name" in values and session.scalar(select(Team.id).where(Team.name == values["name"], Team.id != team_id)):
        raise Conflict("A team with this name already exists")
    changes = {k: [getattr(team, k), v] for k, v in values.items() if getattr(team, k) != v}
    for key, value in values.items():
        setattr(team, key, value)
    session.flush()
    if changes:
        record_change(session, actor, "teams", team.id, "update", changes)
    return team


def delete_team(session: Session, actor: Actor, team_id: int) -> None:
    _require_admin(actor)
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("Team")
    session.execute(update(User).where(User.team_id == team_id).values(team_id=None))
    session.delete(team)
    record_change(session, actor, "teams", team_id, "delete", {})


def role_dict(role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "label": role.label, "is_admin": role.is_admin,
            "permissions": role.permissions or {}, "field_access": role.field_access or {}}


def _clean_role(session: Session, data: Any, creating: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    objects = set(registry.names())
    for key, value in data.items():
        if key == "name" and creating:
            if not isinstance(value, str) or not ft_identifier(value):
                errors.append(FieldError("name", "lowercase letters, digits and _ (2-64), starting with a letter",
                                         "invalid"))
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
            for obj, actions in value.items():
                if obj != "*" and obj not in objects:
                    errors.append(FieldError(f"permissions.{obj}", "unknown object", "unknown_object"))
                elif not isinstance(actions, list) or any(a not in ACTIONS for a in actions):
                    errors.append(FieldError(f"permissions.{obj}", f"actions must be among {', '.join(ACTIONS)}",
                                             "invalid_choice"))
            out["permissions"] = {k: sorted(set(v)) for k, v in value.items() if isinstance(v, list)}
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
                    if fname not in known:
                        errors.append(FieldError(f"field_access.{obj}.{fname}", "unknown field", "unknown_field"))
                    elif fname in ("id", "version"):
                        errors.append(FieldError(f"field_access.{obj}.{fname}", "cannot be restricted", "invalid"))
                    elif level not in FIELD_ACCESS_LEVELS:
                        errors.append(FieldError(f"field_access.{obj}.{fname}",
                                                 f"must be one of {', '.join(FIELD_ACCESS_LEVELS)}", "invalid_choice"))
            out["field_access"] = value
        else:
            errors.append(FieldError(key, f"unknown field '{key}'", "unknown_field"))
    if errors:
        raise ValidationFailed(errors)
    return out


def ft_identifier(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z][a-z0-9_]{1,63}", value))


def create_role(session: Session, actor: Actor, data: Any) -> Role:
    _require_admin(actor)
    values = _clean_role(session, data, creating=True)
    if "name" not in values:
        raise ValidationFailed([FieldError("name", "is required", "required")])
    if session.scalar(select(Role.id).where(Role.name == values["name"])):
        raise Conflict("A role with this name already exists")
    role = Role(label=values.get("label", values["name"]), permissions=values.get("permissions", {}),
                field_access=values.get("field_access", {}), name=values["name"], is_admin=False)
    session.add(role)
    session.flush()
    record_change(session, actor, "roles", role.id, "create", {k: [None, v] for k, v in values.items()})
    return role


def update_role(session: Session, actor: Actor, role_id: int, data: Any) -> Role:
    _require_admin(actor)
    role = session.get(Role, role_id)
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

"""Accounts endpoints: login/logout, OAuth2 token, me, API keys, users, teams, roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response, status

from sextant.accounts import service
from sextant.accounts.auth import CSRF_COOKIE, SESSION_COOKIE
from sextant.accounts.models import AuthSession
from sextant.accounts.schemas import (
    MAX_ID,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    LoginOut,
    MeOut,
    RoleIn,
    RoleOut,
    TeamIn,
    TeamOut,
    TokenOut,
    UserIn,
    UserOut,
    set_fields,
)
from sextant.core.config import get_settings
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.permissions import Actor

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=STANDARD_PROBLEMS)

# Ids in paths are 32-bit primary keys; anything else is a 422 naming the parameter, never a database error.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _me(session: SessionDep, actor: Actor, csrf: str | None = None) -> dict:
    user = service.get_user(session, actor.user_id) if actor.user_id else None
    assert user is not None
    return {
        "user": service.user_dict(user),
        "role": actor.role_name,
        "is_admin": actor.is_admin,
        "permissions": {k: sorted(v) for k, v in actor.permissions.items()},
        "field_access": actor.field_access,
        "csrf_token": csrf,
    }


@router.post("/auth/login", response_model=LoginOut, summary="Sign in (browser): sets a session cookie")
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> dict:
    """Sets an HttpOnly, SameSite=Lax session cookie. Requests with it that change anything must send the
    `csrf_token` of this answer (also in the `sextant_csrf` cookie) in the X-CSRF-Token header.

    Wrong email, wrong password and deactivated account get the same 401. Failed attempts are counted per
    account and per client address; past the limit the answer is 429 with Retry-After, whatever the password.
    """
    ip = _client_ip(request)
    user = service.authenticate(session, body.email, body.password, ip)
    started = service.start_session(session, user, "cookie", request.headers.get("user-agent"), ip)
    settings = get_settings()
    max_age = settings.session_days * 86400
    response.set_cookie(
        SESSION_COOKIE,
        started.raw_token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    # Readable by the page's own script (not by other sites): the SPA echoes it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE,
        started.auth_session.csrf_token or "",
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    return _me(session, service.build_actor(session, user), started.auth_session.csrf_token)


@router.post("/auth/token", response_model=TokenOut, summary="OAuth2 password flow for API clients")
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=254)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> dict:
    """Form fields `username` (the email) and `password`; answers a bearer token, revocable with logout.
    Same 401/429 rules as the browser sign-in."""
    ip = _client_ip(request)
    user = service.authenticate(session, username, password, ip)
    started = service.start_session(session, user, "token", request.headers.get("user-agent"), ip)
    return {
        "access_token": started.raw_token,
        "token_type": "bearer",
        "expires_in": get_settings().token_hours * 3600,
    }


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session or token now")
def logout(response: Response, session: SessionDep, actor: ActorDep) -> Response:
    if actor.auth_session_id is not None:
        service.revoke_session(session, actor.auth_session_id)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeOut)
def me(session: SessionDep, actor: ActorDep) -> dict:
    csrf = None
    if actor.auth_session_id is not None:
        auth = session.get(AuthSession, actor.auth_session_id)
        csrf = auth.csrf_token if auth else None
    return _me(session, actor, csrf)


@router.get("/api-keys", response_model=list[ApiKeyOut], tags=["api keys"])
def list_keys(session: SessionDep, actor: ActorDep) -> list[dict]:
    return service.list_api_keys(session, actor)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201, tags=["api keys"])
def create_key(body: ApiKeyIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.create_api_key(session, actor, body.name, body.expires_at)


@router.delete("/api-keys/{key_id}", status_code=204, tags=["api keys"])
def revoke_key(key_id: PathId, session: SessionDep, actor: ActorDep) -> Response:
    service.revoke_api_key(session, actor, key_id)
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut], tags=["users"])
def users(session: SessionDep, actor: ActorDep) -> list[dict]:
    return service.list_users(session, actor)


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(body: UserIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.user_dict(service.create_user(session, actor, set_fields(body)))


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
def get_user(user_id: PathId, session: SessionDep, actor: ActorDep) -> dict:
    user = service.get_user(session, user_id)
    return service.user_dict(user, full=actor.is_admin or user.id == actor.user_id)


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
def update_user(user_id: PathId, body: UserIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.user_dict(service.update_user(session, actor, user_id, set_fields(body)))


@router.get("/teams", response_model=list[TeamOut], tags=["teams"])
def teams(session: SessionDep, actor: ActorDep) -> list[dict]:
    from sqlalchemy import select

    from sextant.accounts.models import Team

    return [service.team_dict(t) for t in session.scalars(select(Team).order_by(Team.name))]


@router.post("/teams", response_model=TeamOut, status_code=201, tags=["teams"])
def create_team(body: TeamIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.team_dict(service.create_team(session, actor, set_fields(body)))


@router.patch("/teams/{team_id}", response_model=TeamOut, tags=["teams"])
def update_team(team_id: PathId, body: TeamIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.team_dict(service.update_team(session, actor, team_id, set_fields(body)))


@router.delete("/teams/{team_id}", status_code=204, tags=["teams"])
def delete_team(team_id: PathId, session: SessionDep, actor: ActorDep) -> Response:
    service.delete_team(session, actor, team_id)
    return Response(status_code=204)


@router.get("/roles", response_model=list[RoleOut], tags=["roles"])
def roles(session: SessionDep, actor: ActorDep) -> list[dict]:
    return service.list_roles(session)


@router.post("/roles", response_model=RoleOut, status_code=201, tags=["roles"])
def create_role(body: RoleIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.role_dict(service.create_role(session, actor, set_fields(body)))


@router.patch("/roles/{role_id}", response_model=RoleOut, tags=["roles"])
def update_role(role_id: PathId, body: RoleIn, session: SessionDep, actor: ActorDep) -> dict:
    return service.role_dict(service.update_role(session, actor, role_id, set_fields(body)))

"""How a request's credentials become an Actor: session cookie (with CSRF check), bearer token, API key."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from sextant.accounts import service
from sextant.accounts.security import same
from sextant.core.errors import Forbidden, Unauthorized
from sextant.core.permissions import Actor

SESSION_COOKIE = "sextant_session"
CSRF_COOKIE = "sextant_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_actor(request: Request, session: Session) -> Actor | None:
    raw = bearer(request) or request.headers.get("x-api-key")
    if raw:
        if raw.startswith("sxk_"):
            found = service.resolve_api_key(session, raw)
            if found is None:
                raise Unauthorized("Invalid, expired or revoked API key")
            return service.build_actor(session, found[0], api_key_id=found[1].id)
        found_s = service.resolve_session_token(session, raw, kind="token")
        if found_s is None:
            raise Unauthorized("Invalid, expired or revoked token")
        return service.build_actor(session, found_s[0], auth_session_id=found_s[1].id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found_c = service.resolve_session_token(session, cookie, kind="cookie")
    if found_c is None:
        return None
    user, auth = found_c
    if request.method not in SAFE_METHODS:
        # Synchroniser token: a cross-site form cannot read it, so it cannot send it.
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not auth.csrf_token or not same(sent, auth.csrf_token):
            raise Forbidden("Missing or wrong CSRF token (send the X-CSRF-Token header)")
    return service.build_actor(session, user, auth_session_id=auth.id)

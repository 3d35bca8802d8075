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
            actor = service.key_actor(session, raw)
            if actor is None:
                raise Unauthorized("Invalid, expired or revoked API key")
            return actor
        found = service.session_actor(session, raw, kind="token")
        if found is None:
            raise Unauthorized("Invalid, expired or revoked token")
        return found.actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = service.session_actor(session, cookie, kind="cookie")
    if found is None:
        return None
    if request.method not in SAFE_METHODS:
        # Synchroniser token: a cross-site form cannot read it, so it cannot send it.
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not found.csrf_token or not same(sent, found.csrf_token):
            raise Forbidden("Missing or wrong CSRF token (send the X-CSRF-Token header)")
    return found.actor

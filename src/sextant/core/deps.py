"""FastAPI dependencies shared by every router: the request's database session and the acting user.

The request owns the transaction: services flush, the session commits once the handler returns
(scope="function" runs the commit before the response is sent, so a failed commit is an error response,
never a 200 for lost data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sextant.core.db import new_session
from sextant.core.errors import Unauthorized
from sextant.core.permissions import Actor

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_db(request: Request) -> Iterator[Session]:
    session = new_session(write=request.method not in SAFE_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db, scope="function")]

ActorResolver = Callable[[Request, Session], Actor | None]
_resolver: ActorResolver | None = None


def set_actor_resolver(resolver: ActorResolver) -> None:
    """accounts registers how credentials become an Actor; core stays free of any user table."""
    global _resolver
    _resolver = resolver


def current_actor(request: Request, session: SessionDep) -> Actor:
    actor = _resolver(request, session) if _resolver else None
    if actor is None:
        raise Unauthorized()
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]

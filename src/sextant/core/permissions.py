"""Who may do what: object permissions, record visibility (owner/team/hierarchy/sharing) and field access.

core knows nothing about how users are stored; the accounts package builds an `Actor` once per request and
every service asks this module. Rules, in one place:

* a role grants actions per object: read, create, edit, delete, export (admins: everything);
* each object has an organisation-wide default (OWD): ``private``, ``read_only`` or ``read_write``;
* under ``private`` a user reaches records owned by their *peers*: themselves, everyone below them in the
  manager hierarchy (transitively) and their team-mates. ``read_only`` lets everyone read, only peers edit;
  ``read_write`` lets everyone read and edit. Records of non-peers are invisible: a 404, never a 403;
* per role, a field is ``hidden`` (never returned, filtered, sorted, searched, exported or shown in history)
  or ``read_only`` (returned, never written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sextant.core.errors import Forbidden

Action = Literal["read", "create", "edit", "delete", "export"]
ACTIONS: tuple[str, ...] = ("read", "create", "edit", "delete", "export")
SHARING_MODELS: tuple[str, ...] = ("private", "read_only", "read_write")
FIELD_ACCESS_LEVELS: tuple[str, ...] = ("hidden", "read_only")


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    email: str
    role_name: str
    is_admin: bool = False
    permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    field_access: dict[str, dict[str, str]] = field(default_factory=dict)
    team_id: int | None = None
    peer_ids: frozenset[int] = frozenset()
    auth_session_id: int | None = None
    api_key_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def can(self, object_name: str, action: str) -> bool:
        if self.is_admin:
            return True
        return action in self.permissions.get(object_name, frozenset())

    def require(self, object_name: str, action: str) -> None:
        if not self.can(object_name, action):
            raise Forbidden(f"Your role may not {action} {object_name}")

    def field_level(self, object_name: str, field_name: str) -> str:
        """'edit', 'read_only' or 'hidden' for this role."""
        if self.is_admin:
            return "edit"
        return self.field_access.get(object_name, {}).get(field_name, "edit")

    def hidden_fields(self, object_name: str) -> set[str]:
        if self.is_admin:
            return set()
        return {f for f, lvl in self.field_access.get(object_name, {}).items() if lvl == "hidden"}


SYSTEM = Actor(user_id=None, email="system", role_name="system", is_admin=True)


def visibility_clause(actor: Actor, owner_column: Any, sharing: str, mode: Literal["read", "write"]) -> Any:
    """SQL clause restricting rows to those the actor may read or write; None means no restriction."""
    if actor.is_admin:
        return None
    if sharing == "read_write" or (sharing == "read_only" and mode == "read"):
        return None
    return owner_column.in_(sorted(actor.peer_ids)) if actor.peer_ids else owner_column.is_(None) & False


def can_reach_owner(actor: Actor, owner_id: int | None, sharing: str, mode: Literal["read", "write"]) -> bool:
    if actor.is_admin or sharing == "read_write" or (sharing == "read_only" and mode == "read"):
        return True
    return owner_id is not None and owner_id in actor.peer_ids


def default_role_permissions() -> dict[str, dict[str, Any]]:
    """The roles every installation starts with; admins may edit all but `admin` itself."""
    everything = list(ACTIONS)
    crud = ["read", "create", "edit", "delete"]
    return {
        "admin": {"label": "Administrator", "is_admin": True, "permissions": {}},
        "manager": {
            "label": "Sales manager",
            "permissions": {"*": everything},
        },
        # Reps work their own pipeline: people, companies, leads, deals and the activities and tasks on them.
        "sales": {
            "label": "Sales rep",
            "permissions": {
                "contacts": crud,
                "companies": crud,
                "leads": crud,
                "deals": crud,
                "activities": crud,
                "tasks": crud,
                "*": ["read"],
            },
        },
        "marketing": {
            "label": "Marketing",
            "permissions": {
                "contacts": [*crud, "export"],
                "companies": ["read", "create", "edit", "export"],
                "leads": [*crud, "export"],
                "activities": crud,
                "tasks": crud,
                "*": ["read"],
            },
        },
        "support": {
            "label": "Support agent",
            "permissions": {
                "contacts": ["read", "create", "edit"],
                "companies": ["read"],
                "activities": crud,
                "tasks": crud,
            },
        },
        "read_only": {"label": "Read only", "permissions": {"*": ["read"]}},
    }


def expand_permissions(raw: dict[str, list[str]], object_names: list[str]) -> dict[str, frozenset[str]]:
    """`*` in a role's permissions applies to every object not listed explicitly (custom objects included)."""
    default = frozenset(raw.get("*", []))
    out = {name: frozenset(raw.get(name, default)) for name in object_names}
    return out

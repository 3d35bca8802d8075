"""Imports every module that defines tables, so metadata is complete for Alembic and tests."""

from __future__ import annotations


def import_all_models() -> None:
    import sextant.accounts.models  # noqa: F401
    import sextant.contacts.models  # noqa: F401
    import sextant.contacts.objects  # noqa: F401
    import sextant.core.audit  # noqa: F401
    import sextant.core.metadata  # noqa: F401
    import sextant.core.search  # noqa: F401

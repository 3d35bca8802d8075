"""Imports every module that defines tables, so metadata is complete for Alembic and tests."""

from __future__ import annotations


def import_all_models() -> None:
    import sextant.accounts.models
    import sextant.activities.models
    import sextant.activities.objects
    import sextant.analytics.models
    import sextant.automation.models
    import sextant.collaboration.models
    import sextant.contacts.models
    import sextant.contacts.objects
    import sextant.core.audit
    import sextant.core.jobs
    import sextant.core.metadata
    import sextant.core.scheduler
    import sextant.core.search
    import sextant.dataquality.models
    import sextant.deals.models
    import sextant.deals.objects
    import sextant.leads.models
    import sextant.leads.objects
    import sextant.views.models  # noqa: F401

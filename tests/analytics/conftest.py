"""Fixtures of the analytics tests."""

from tests.analytics.support import world  # noqa: F401 - the sales world fixture

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from sextant.core.config import get_settings
from tests.automation.support import Receiver, receiver


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    yield from receiver()


class Inbox(Message):
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that Sextant is configured to send through."""
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SEXTANT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SEXTANT_SMTP_PORT", str(controller.port))
    get_settings.cache_clear()
    try:
        yield inbox
    finally:
        controller.stop()
        get_settings.cache_clear()

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _import_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploaded files of each test in its own folder."""
    monkeypatch.setenv("SEXTANT_IMPORT_DIR", str(tmp_path / "imports"))

"""`sextant import`: a progress bar, and a `kill -9` in the middle loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.dataquality.support import csv_bytes

ROOT = Path(__file__).resolve().parents[2]


def _cli(db: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": db}
    return subprocess.Popen(
        [sys.executable, "-m", "sextant.cli", "import", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _state(import_id: int | None = None) -> tuple[int, int, int]:
    from sextant.contacts.models import Contact
    from sextant.core.db import session_scope
    from sextant.dataquality.models import ImportJob

    with session_scope() as s:
        contacts = s.scalar(select(func.count()).select_from(Contact)) or 0
        emails = s.scalar(select(func.count(func.distinct(Contact.email)))) or 0
        done = s.scalar(select(func.max(ImportJob.rows_done))) or 0
        return contacts, emails, done


def test_the_cli_imports_with_a_progress_bar(crm, db, tmp_path):
    crm.admin  # noqa: B018 - an admin to import as
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([["Email", "Last name"], *[[f"p{i}@ex.com", f"P{i}"] for i in range(50)]]))
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Email": "email", "Last name": "last_name"}))
    proc = _cli(db, str(path), "--object", "contacts", "--map", str(mapping))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "succeeded: created=50 updated=0 unchanged=0 rejected=0 rows=50" in out
    assert _state()[:2] == (50, 50)


def test_a_kill_9_mid_import_resumes_from_the_checkpoint_without_duplicates(crm, db, tmp_path):
    crm.admin  # noqa: B018
    n = 60_000
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([["Email", "Last name"], *[[f"k{i}@ex.com", f"K{i}"] for i in range(n)]]))
    mapping = tmp_path / "map.json"
    mapping.write_text(
        json.dumps({"mapping": {"Email": "email", "Last name": "last_name"}, "options": {"chunk_size": 500}})
    )
    proc = _cli(db, str(path), "--object", "contacts", "--map", str(mapping))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _state()[2] < 1000 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    contacts, emails, done = _state()
    assert done < n, "the import finished before it could be killed"
    assert contacts == emails == done  # what was committed is exactly the checkpointed rows
    proc = _cli(db, str(path), "--object", "contacts", "--resume", "1")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert _state() == (n, n, n)

"""One settings class for the whole process; read once from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEXTANT_", env_file=".env", extra="ignore")

    # Plain DATABASE_URL (no prefix) because every hosting platform sets it that way.
    database_url: str = Field(
        default="sqlite:///./data/sextant.db",
        validation_alias="DATABASE_URL",
    )
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    secret_key: str = "dev-insecure-change-me"  # noqa: S105 - a dev default; production sets SEXTANT_SECRET_KEY
    session_days: int = 14
    token_hours: int = 12
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 900
    max_page_size: int = 500
    default_page_size: int = 50
    default_phone_region: str = "US"
    run_dispatcher: bool = True
    # Jobs: `sqlite` (embedded, a queue file beside the database, worked by threads in `sextant serve`) or
    # `redis` (REDIS_URL; worked by `sextant worker` processes). run_worker=false leaves the work to those.
    jobs_backend: Literal["sqlite", "redis"] = "sqlite"
    jobs_path: str | None = None
    jobs_queue: str = "sextant"
    run_worker: bool = True
    worker_threads: int = 2
    # Outgoing email (workflow emails, later campaigns and digests).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "sextant@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 20.0
    # Outgoing HTTP (webhooks, workflow webhook actions).
    http_timeout: float = 10.0
    # Extra modules to import at start-up (comma-separated): jobs, subscribers or objects of a plugin.
    plugins: str = ""
    sql_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        # Accept the URLs people paste (postgres://, postgresql://) and pin the psycopg 3 driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite", "postgresql+psycopg")):
            raise ValueError("DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://...")
        return value

    def plugin_modules(self) -> list[str]:
        return [m.strip() for m in self.plugins.split(",") if m.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None


@lru_cache
def get_settings() -> Settings:
    return Settings()

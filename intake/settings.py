"""One settings object, built once and injected (no ``os.getenv`` elsewhere)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACK = "demo"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Deployment settings; names and defaults follow ``CONTRACT.md``."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    # Seconds allowed for each call to the LINE API (the SDK's own default is 300 s).
    line_request_timeout: float = 10.0

    redis_url: str | None = None
    database_url: str = "sqlite:///./var/intake.db"

    intake_pack: str = DEFAULT_PACK
    intake_knowledge_dir: Path = Path("knowledge")
    # Seconds between checks of the knowledge files' content hash (published edits load without a restart; 0: off).
    intake_knowledge_poll_seconds: float = Field(default=3.0, ge=0)

    # Secret used to sign web-chat and staff-desk cookies and to hash LINE user ids.
    # Unset: a random one is generated per process and stored under var/ (fine for `make run`).
    intake_secret_key: SecretStr | None = None
    # Days a closed consultation's transcript is kept before `intake db purge` removes it (相談記録の保存期間).
    intake_retention_days: int = Field(default=1825, ge=1)
    # Seconds a resident's dialog session lives in the store without activity.
    intake_session_ttl: int = Field(default=24 * 3600, ge=60)
    # Seconds a staff-desk login lasts without activity (the desk also ends every session after 12 hours).
    intake_staff_session_ttl: int = Field(default=3600, ge=60)
    # Log level for the structured (JSON) log.
    intake_log_level: str = "INFO"

    @field_validator(
        "line_channel_secret", "line_channel_access_token", "redis_url", "intake_secret_key", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `LINE_CHANNEL_SECRET=` copied from .env.example means "not configured", not an empty secret.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("intake_log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return level

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None

    def knowledge_dir(self) -> Path:
        """The knowledge directory; a relative default falls back to the repository's own."""
        path = self.intake_knowledge_dir
        if path.is_absolute() or path.exists():
            return path
        return REPO_ROOT / path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

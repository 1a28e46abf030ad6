"""Settings: the names and defaults of the contract, read from the environment and from ``.env``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from intake.settings import REPO_ROOT, Settings

CONTRACT_VARS = (
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "LINE_API_BASE_URL",
    "LINE_DATA_API_BASE_URL",
    "REDIS_URL",
    "DATABASE_URL",
    "INTAKE_PACK",
    "INTAKE_KNOWLEDGE_DIR",
    "INTAKE_SECRET_KEY",
    "INTAKE_RETENTION_DAYS",
    "INTAKE_LOG_LEVEL",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in CONTRACT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


def test_defaults_are_the_contracts(clean_env: Path) -> None:
    s = Settings()
    assert s.line_channel_secret is None and s.line_channel_access_token is None
    assert s.line_enabled is False
    assert s.line_api_base_url == "https://api.line.me"
    assert s.line_data_api_base_url == "https://api-data.line.me"
    assert s.redis_url is None
    assert s.database_url == "sqlite:///./var/intake.db"
    assert s.intake_pack == "demo"
    assert s.intake_knowledge_dir == Path("knowledge")
    assert s.intake_retention_days == 1825


def test_environment_overrides(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s3cret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/1")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("INTAKE_PACK", "nomi")
    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "30")
    monkeypatch.setenv("INTAKE_LOG_LEVEL", "debug")
    s = Settings()
    assert s.line_enabled is True
    assert s.redis_url == "redis://127.0.0.1:6390/1"
    assert s.database_url == "postgresql://u@127.0.0.1/db"
    assert s.intake_pack == "nomi"
    assert s.intake_retention_days == 30
    assert s.intake_log_level == "DEBUG"


def test_secrets_do_not_show_in_repr(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s3cret-value")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "k3y-value")
    s = Settings()
    assert "s3cret-value" not in repr(s) and "k3y-value" not in repr(s)
    assert s.line_channel_secret is not None
    assert s.line_channel_secret.get_secret_value() == "s3cret-value"


def test_dotenv_file_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "INTAKE_PACK=chuo\nREDIS_URL=redis://127.0.0.1:6391/0\n", encoding="utf-8"
    )
    s = Settings()
    assert s.intake_pack == "chuo"
    assert s.redis_url == "redis://127.0.0.1:6391/0"


def test_env_example_copied_as_is_gives_a_working_local_setup(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        (REPO_ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8"
    )
    s = Settings()
    # Blank values in the example mean "unset": LINE stays off, the embedded store is used.
    assert s.line_enabled is False
    assert s.redis_url is None
    assert s.intake_secret_key is None
    assert s.database_url.startswith("sqlite:///")
    assert s.intake_pack == "demo"


def test_env_example_documents_every_setting() -> None:
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if name.upper() + "=" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("INTAKE_RETENTION_DAYS", "0"), ("INTAKE_RETENTION_DAYS", "many"), ("INTAKE_LOG_LEVEL", "LOUD")],
)
def test_bad_values_are_refused_with_the_setting_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()


def test_relative_knowledge_dir_falls_back_to_the_repository(clean_env: Path) -> None:
    s = Settings()
    assert s.knowledge_dir() == REPO_ROOT / "knowledge"
    (clean_env / "knowledge").mkdir()
    assert s.knowledge_dir() == Path("knowledge")

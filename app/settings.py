"""Settings, read from the environment with the ASSETMAP_ prefix; built by the caller, never at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "development-secret-change-me"  # noqa: S105 - a known placeholder the validator refuses outside development
DEFAULT_DATABASE_URL = "postgresql+psycopg://assetmap:assetmap@127.0.0.1:5432/assetmap"


class Settings(BaseSettings):
    """Every setting of the service; environment variables use the ASSETMAP_ prefix."""

    model_config = SettingsConfigDict(env_prefix="ASSETMAP_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    statement_timeout_ms: int = Field(30_000, ge=100, le=3_600_000)
    pool_size: int = Field(5, ge=1, le=100)
    pool_timeout_s: float = Field(10, gt=0, le=300)
    readiness_timeout_ms: int = Field(1000, ge=100, le=30_000)

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    token_ttl_minutes: int = Field(8 * 60, ge=1, le=60 * 24 * 30)
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lockout_seconds: int = Field(60, ge=1, le=86_400)

    anonymous_read: bool = True
    privacy_blur: Literal["h3", "neighbourhood"] = "h3"
    privacy_h3_resolution: int = Field(8, ge=5, le=10)
    small_count_threshold: int = Field(5, ge=0, le=1000)

    page_size_default: int = Field(100, ge=1, le=10_000)
    page_size_max: int = Field(1000, ge=1, le=10_000)

    data_dir: Path = PROJECT_ROOT / "data"
    upload_max_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    json_body_max_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    geometry_max_vertices: int = Field(10_000, ge=4)
    geometry_max_parts: int = Field(1_000, ge=1)

    public_url: str | None = None
    trusted_hosts: Annotated[list[str], NoDecode] = ["localhost", "127.0.0.1", "::1"]
    tiles_url: str | None = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tiles_attribution: str = "&copy; OpenStreetMap contributors"
    # the organiser page and the gap map draw a layer from vector tiles (/tiles) once it has more features than this
    vector_tiles_threshold: int = Field(5_000, ge=0, le=100_000_000)

    # Coverage-gap analysis: bounds on the work one request or run may cause (README, Configuration).
    analysis_max_resolution: int = Field(10, ge=5, le=15)
    analysis_max_cells_per_run: int = Field(200_000, ge=1, le=50_000_000)
    analysis_run_time_limit_s: float = Field(600.0, gt=0, le=86_400)
    analysis_scenario_time_limit_s: float = Field(60.0, gt=0, le=3600)
    analysis_concurrent_runs_per_user: int = Field(2, ge=1, le=100)
    analysis_max_sites: int = Field(20, ge=1, le=100)
    analysis_max_candidates: int = Field(20_000, ge=1, le=1_000_000)
    analysis_runs_kept: int = Field(3, ge=1, le=1000)

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        """ASSETMAP_TRUSTED_HOSTS is a comma-separated list (`maps.example.org,*.example.org`)."""
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        """The address users reach the service at: http(s)://host[:port][/prefix], nothing else."""
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("ASSETMAP_PUBLIC_URL must look like https://maps.example.org (scheme and host)")
        return value.rstrip("/")

    def allowed_hosts(self) -> list[str]:
        """Host names this service answers to: the trusted hosts, the public URL's host, and in tests the
        TestClient's `testserver`."""
        hosts = list(self.trusted_hosts)
        if self.public_url:
            hosts.append((urlsplit(self.public_url).hostname or "").lower())
        if self.environment == "test":
            hosts.append("testserver")
        return hosts

    def public_origin(self) -> str | None:
        """scheme://host[:port] of the public URL, when one is set."""
        if not self.public_url:
            return None
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        """Outside development and tests, a placeholder secret is an error, not a warning."""
        if self.environment == "production" and self.secret_key.get_secret_value() in {DEFAULT_SECRET, ""}:
            raise ValueError(
                "ASSETMAP_SECRET_KEY is the development placeholder: set a long random value "
                "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) before running in production"
            )
        if len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("ASSETMAP_SECRET_KEY must be at least 16 characters long")
        return self


def get_settings() -> Settings:
    """Build settings from the environment (called by the CLI and the app factory, never at import time)."""
    return Settings()

"""Settings read from the environment (and a `.env` file), validated at start-up."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("es", "pt", "en", "fr")
# uvicorn's log levels: it fails with a KeyError on any other.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Below AnyIO's 40 worker threads: see service.main.AdmissionLimit.
MAX_IN_FLIGHT_CEILING = 32


def sqlite_in_memory(url: str) -> bool:
    """Whether a SQLite URL names a database held in memory: none named, `:memory:`, or as a
    `file:` URI (`file::memory:`, `mode=memory`, or the `memdb` VFS)."""
    database, _, query = url.partition("://")[2].removeprefix("/").partition("?")
    if database in ("", ":memory:") or "mode=memory" in query:
        return True
    options = query.split("&")
    return "uri=true" in options and (database == "file::memory:" or "vfs=memdb" in options)


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs; refuse other databases, and
    an in-memory SQLite database: the service opens several connections (a reader and a
    writer, a command's steps), and each would see its own empty database.

    Raises:
        ValueError: the URL is neither SQLite nor PostgreSQL (through psycopg 3), or names
            an in-memory SQLite database.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    scheme = url.partition("://")[0]
    if scheme.split("+")[0] != "sqlite" and scheme != "postgresql+psycopg":
        raise ValueError(f"use sqlite:///FILE or postgresql://USER@HOST:PORT/DB, not {scheme!r}")
    if scheme.startswith("sqlite") and sqlite_in_memory(url):
        raise ValueError("an in-memory SQLite database cannot be shared by the service's "
                         "connections; name a file: sqlite:///./sscmatch.db")
    return url


class DatabaseSetting(BaseSettings):
    """DATABASE_URL alone, read as the service reads it: what a command that uses no database
    (`rank`) still protects from being overwritten, whatever the other settings say."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./sscmatch.db",
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL via postgresql://...",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value)


class Settings(DatabaseSetting):
    """Service configuration; every field can be set by an environment variable of its name."""

    languages: tuple[str, ...] = Field(
        default=SUPPORTED_LANGUAGES, description="Working languages accepted for offers and needs"
    )
    max_page_size: int = Field(default=200, ge=1, le=1000)
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body")
    cors_origins: tuple[str, ...] = Field(default=(), description="Allowed CORS origins")
    encode_on_write: bool = Field(
        default=True, description="Encode text vectors when an offer or need is written"
    )
    warm_index_on_start: bool = Field(
        default=True,
        description="Read the published offers and needs into each server worker's matching "
                    "index when it starts, in the background, rather than on its first matches")
    plan_time_limit_s: float = Field(
        default=20.0, gt=0, le=3600,
        description="Longest time the plan's exact selection may search; past it the best "
                    "plan found is returned, flagged `optimal: false` with a bound")
    max_requests_in_flight: int = Field(
        default=4, ge=1, le=MAX_IN_FLIGHT_CEILING,
        description="API requests one worker process runs at once; the others wait their turn "
                    "in the event loop. Requests share one interpreter lock, so a few at a "
                    "time serve more and more evenly than many (bench/load.py)")
    log_level: str = "info"

    @field_validator("default_page_size")
    @classmethod
    def _default_page_fits(cls, value: int, info: ValidationInfo) -> int:
        largest = info.data.get("max_page_size")
        if largest is not None and value > largest:
            raise ValueError(f"{value} is above MAX_PAGE_SIZE ({largest}): every list asked "
                             "for without a limit would be refused")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.lower()


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()

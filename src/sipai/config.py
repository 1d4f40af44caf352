"""Settings: every knob of Sip, read from the environment and `.env`, validated at start.

Variable names are the environment names (case-insensitive): `GROQ_MODEL` is `groq_model`.
A bad value raises :class:`sipai.errors.ConfigError` with one line naming the variable;
the API key is a :class:`~pydantic.SecretStr`, so no repr, log or error shows it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sipai.errors import ConfigError

log = logging.getLogger(__name__)

#: Bare aliases the guide uses, which Groq answers with 404; normalised to the real ids.
MODEL_ALIASES = {
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "gpt-oss-20b": "openai/gpt-oss-20b",
}

ReasoningEffort = Literal["low", "medium", "high"]


def normalise_model(name: str) -> str:
    """Return Groq's model id for `name`, mapping the guide's bare aliases."""
    name = name.strip()
    return MODEL_ALIASES.get(name, name)


class Settings(BaseSettings):
    """Sip's configuration (see the README's table)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        hide_input_in_errors=True,
    )

    # Groq / provider
    groq_api_key: SecretStr | None = None
    groq_base_url: str = "https://api.groq.com/openai/v1"
    groq_model: str = "openai/gpt-oss-120b"
    groq_fallback_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["openai/gpt-oss-20b"]
    )
    groq_summary_model: str = "openai/gpt-oss-20b"
    groq_temperature: float = Field(0.7, ge=0.0, le=2.0)
    groq_max_tokens: int = Field(1000, ge=1, le=65536)
    groq_top_p: float = Field(0.95, ge=0.0, le=1.0)
    groq_timeout: float = Field(15.0, gt=0.0, le=600.0)
    groq_reasoning_effort: ReasoningEffort = "low"
    groq_rpm: int = Field(30, ge=1)
    groq_tpm: int = Field(8000, ge=1)
    groq_rpd: int = Field(1000, ge=1)
    groq_tpd: int = Field(200_000, ge=1)
    groq_max_retries: int = Field(2, ge=0, le=10)
    groq_max_retry_wait: float = Field(20.0, ge=0.0, le=600.0)
    groq_stream_stall_timeout: float = Field(10.0, gt=0.0, le=600.0)
    #: Compress the limiter's minute and day this many times (load tests against
    #: `sip dev fake-groq --time-scale N`); 1 in production.
    sip_limits_time_scale: float = Field(1.0, gt=0.0, le=100_000.0)
    #: Seconds between the limiter admitting a call and Groq counting it; the limiter
    #: charges the refill a full Groq bucket loses meanwhile.
    sip_limits_lag: float = Field(0.1, ge=0.0, le=10.0)
    sip_prices: Annotated[dict[str, tuple[float, float]], NoDecode] = Field(default_factory=dict)

    # Sip
    sip_data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("sip")))
    sip_database_url: str | None = None
    sip_redis_url: str | None = None
    #: Namespace of every Redis key Sip writes (two deployments may share one Redis).
    sip_redis_prefix: str = Field("sip", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    sip_language: Literal["es", "en"] = "es"
    sip_kb_dir: Path | None = None
    sip_max_input_chars: int = Field(4000, ge=1, le=100_000)
    sip_user_rpm: int = Field(10, ge=1)
    sip_user_daily_tokens: int | None = Field(None, ge=1)
    sip_retention_days: int = Field(90, ge=1)
    sip_cache_ttl: float = Field(3600.0, ge=0.0)
    sip_context_tokens: int = Field(6000, ge=500)
    sip_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sip_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    sip_admin_key: SecretStr | None = None
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(8000, ge=1, le=65535)
    #: HTTP requests per minute per API key, and per client address on the web chat
    #: (0 turns the limit off, e.g. behind a proxy that limits already).
    sip_http_key_rpm: int = Field(600, ge=0)
    sip_http_client_rpm: int = Field(60, ge=0)

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str | None = None
    sip_admin_chat_id: int | None = None

    @field_validator("groq_api_key", "sip_admin_key", "telegram_bot_token",
                     "telegram_webhook_secret", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("groq_model", "groq_summary_model")
    @classmethod
    def _normalise_model(cls, value: str) -> str:
        value = normalise_model(value)
        if not value:
            raise ValueError("must name a model")
        return value

    @field_validator("groq_fallback_models", mode="before")
    @classmethod
    def _split_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [normalise_model(str(part)) for part in value]
        return value

    @field_validator("sip_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sip_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: Any) -> Any:
        """`SIP_PRICES` is JSON: {"model": [input_usd_per_1m, output_usd_per_1m]}."""
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError("must be JSON like {\"model\": [0.15, 0.6]}") from exc
        if isinstance(value, dict):
            return {normalise_model(k): v for k, v in value.items()}
        return value

    @field_validator("groq_base_url", "telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value.endswith("/v1/") else value

    @property
    def is_configured(self) -> bool:
        """True when a Groq API key is set (otherwise Sip answers from the offline brain)."""
        return self.groq_api_key is not None

    @property
    def key_looks_valid(self) -> bool:
        """Groq keys start with `gsk_`; anything else is most likely a paste error."""
        key = self.groq_api_key
        return key is not None and key.get_secret_value().startswith("gsk_")

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: `SIP_DATABASE_URL`, or a SQLite file in the data directory."""
        if self.sip_database_url:
            return self.sip_database_url
        return f"sqlite+aiosqlite:///{self.sip_data_dir / 'sip.db'}"

    @property
    def models(self) -> list[str]:
        """The primary model followed by the fallbacks, without repeats."""
        chain = [self.groq_model, *self.groq_fallback_models]
        return list(dict.fromkeys(chain))

    def secrets(self) -> list[str]:
        """Every secret value configured, for the log redaction filter."""
        values = [self.groq_api_key, self.sip_admin_key, self.telegram_bot_token,
                  self.telegram_webhook_secret, *self.sip_api_keys]
        return [v.get_secret_value() for v in values if v is not None]


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise ConfigError with one line naming the variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None
    if settings.groq_api_key is not None and not settings.key_looks_valid:
        log.warning("config.key_format", extra={"variable": "GROQ_API_KEY",
                                                 "hint": "Groq keys start with gsk_"})
    return settings


def _first_problem(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
        problems.append(f"{variable}: {error['msg']}")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid setting {problems[0]}{more}"

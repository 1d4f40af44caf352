"""Settings: BRIEF's ranges enforced with one line naming the variable, the guide's model
alias normalised, lists split, and the API key never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sipai.config import Settings, load_settings
from sipai.errors import ConfigError

from .conftest import KEY


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GROQ_/SIP_ variable from the outside, and a cwd without a `.env`."""
    import os

    for name in list(os.environ):
        if name.upper().startswith(("GROQ_", "SIP_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIP_DATA_DIR", str(tmp_path / "data"))


def load() -> Settings:
    return load_settings(_env_file=None)


def problem(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load()
    text = str(caught.value)
    assert "\n" not in text
    assert text == caught.value.message
    return text


OUT_OF_RANGE = [
    ("GROQ_TEMPERATURE", "2.5"), ("GROQ_TEMPERATURE", "-0.1"), ("GROQ_TEMPERATURE", "warm"),
    ("GROQ_MAX_TOKENS", "0"), ("GROQ_MAX_TOKENS", "-5"), ("GROQ_MAX_TOKENS", "many"),
    ("GROQ_TOP_P", "1.5"), ("GROQ_TOP_P", "-0.01"),
    ("GROQ_TIMEOUT", "0"), ("GROQ_TIMEOUT", "-1"), ("GROQ_TIMEOUT", "soon"),
    ("GROQ_REASONING_EFFORT", "extreme"), ("GROQ_REASONING_EFFORT", "LOW!"),
    ("GROQ_RPM", "0"), ("GROQ_TPM", "0"), ("GROQ_RPD", "-1"), ("GROQ_TPD", "0"),
    ("GROQ_BASE_URL", "api.groq.com/openai/v1"), ("GROQ_MODEL", "  "),
    ("SIP_LANGUAGE", "fr"), ("SIP_PRICES", "{not json"),
]


@pytest.mark.parametrize(("variable", "value"), OUT_OF_RANGE,
                         ids=[f"{v}={x}" for v, x in OUT_OF_RANGE])
def test_out_of_range_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
) -> None:
    text = problem(monkeypatch, variable, value)
    assert text.startswith(f"invalid setting {variable}: ")
    assert "pydantic" not in text and "errors.pydantic.dev" not in text


@pytest.mark.parametrize(("variable", "value"), [
    ("GROQ_TEMPERATURE", "0"), ("GROQ_TEMPERATURE", "2"), ("GROQ_TOP_P", "0"),
    ("GROQ_TOP_P", "1"), ("GROQ_MAX_TOKENS", "1"), ("GROQ_TIMEOUT", "0.5"),
    ("GROQ_REASONING_EFFORT", "high"), ("GROQ_RPM", "1"),
])
def test_range_edges_are_accepted(monkeypatch: pytest.MonkeyPatch, variable: str,
                                  value: str) -> None:
    monkeypatch.setenv(variable, value)
    loaded = getattr(load(), variable.lower())
    assert loaded == (value if isinstance(loaded, str) else type(loaded)(value))


def test_defaults_follow_the_brief() -> None:
    settings = load()
    assert settings.groq_base_url == "https://api.groq.com/openai/v1"
    assert settings.groq_model == "openai/gpt-oss-120b"
    assert settings.groq_fallback_models == ["openai/gpt-oss-20b"]
    assert (settings.groq_temperature, settings.groq_max_tokens, settings.groq_top_p) == (
        0.7, 1000, 0.95)
    assert (settings.groq_timeout, settings.groq_reasoning_effort) == (15.0, "low")
    assert (settings.groq_rpm, settings.groq_tpm, settings.groq_rpd, settings.groq_tpd) == (
        30, 8000, 1000, 200_000)
    assert settings.sip_language == "es"
    assert not settings.is_configured


def test_several_problems_name_the_first_and_count_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROQ_TOP_P", "3")
    text = problem(monkeypatch, "GROQ_TEMPERATURE", "9")
    assert "(and 1 more)" in text
    assert "GROQ_TEMPERATURE" in text or "GROQ_TOP_P" in text


@pytest.mark.parametrize("alias", ["gpt-oss-120b", " gpt-oss-120b ", "openai/gpt-oss-120b"])
def test_guide_alias_is_normalised(monkeypatch: pytest.MonkeyPatch, alias: str) -> None:
    monkeypatch.setenv("GROQ_MODEL", alias)
    assert load().groq_model == "openai/gpt-oss-120b"


def test_fallback_models_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_FALLBACK_MODELS",
                       "gpt-oss-20b, meta-llama/llama-4-scout-17b-16e-instruct,,")
    monkeypatch.setenv("GROQ_MODEL", "gpt-oss-120b")
    settings = load()
    assert settings.groq_fallback_models == ["openai/gpt-oss-20b",
                                             "meta-llama/llama-4-scout-17b-16e-instruct"]
    assert settings.models == ["openai/gpt-oss-120b", "openai/gpt-oss-20b",
                               "meta-llama/llama-4-scout-17b-16e-instruct"]


def test_fallback_chain_has_no_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_FALLBACK_MODELS", "openai/gpt-oss-120b,gpt-oss-20b,gpt-oss-20b")
    assert load().models == ["openai/gpt-oss-120b", "openai/gpt-oss-20b"]


def test_empty_fallback_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_FALLBACK_MODELS", "")
    assert load().groq_fallback_models == []


def test_key_never_in_repr_str_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    settings = load()
    shown = [repr(settings), str(settings), f"{settings}", settings.model_dump_json(),
             repr(settings.groq_api_key), str(settings.model_dump())]
    for text in shown:
        assert KEY not in text
    assert settings.groq_api_key is not None
    assert settings.groq_api_key.get_secret_value() == KEY
    assert KEY in settings.secrets()


def test_key_never_in_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    text = problem(monkeypatch, "GROQ_TEMPERATURE", "7")
    assert KEY not in text
    # A key pasted into the wrong variable is not echoed back either.
    for variable in ("GROQ_TIMEOUT", "GROQ_RPM", "GROQ_REASONING_EFFORT", "GROQ_BASE_URL"):
        monkeypatch.delenv("GROQ_TEMPERATURE", raising=False)
        text = problem(monkeypatch, variable, KEY)
        assert KEY not in text and KEY[4:] not in text
        monkeypatch.delenv(variable)


def test_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load().is_configured
    monkeypatch.setenv("GROQ_API_KEY", "   ")
    assert not load().is_configured
    monkeypatch.setenv("GROQ_API_KEY", f"  {KEY}\n")
    settings = load()
    assert settings.is_configured and settings.key_looks_valid
    assert settings.groq_api_key is not None
    assert settings.groq_api_key.get_secret_value() == KEY


def test_a_key_that_is_not_groq_s_warns_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "sk-proj-notgroq0123456789")
    with caplog.at_level(logging.WARNING, logger="sipai.config"):
        settings = load()
    assert settings.is_configured and not settings.key_looks_valid
    assert [r.getMessage() for r in caplog.records] == ["config.key_format"]
    assert "sk-proj-notgroq0123456789" not in caplog.text


def test_dotenv_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"GROQ_API_KEY={KEY}\nGROQ_MODEL=gpt-oss-120b\n"
                                   "GROQ_FALLBACK_MODELS=gpt-oss-20b\n", encoding="utf-8")
    settings = load_settings()
    assert settings.is_configured and settings.groq_model == "openai/gpt-oss-120b"
    assert settings.groq_fallback_models == ["openai/gpt-oss-20b"]
    assert not load().is_configured  # _env_file=None ignores it


def test_bad_value_in_dotenv_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GROQ_TOP_P=2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^invalid setting GROQ_TOP_P: "):
        load_settings()


def test_keyword_overrides_are_validated_too() -> None:
    with pytest.raises(ConfigError, match="GROQ_MAX_TOKENS"):
        load_settings(_env_file=None, groq_max_tokens=0)
    assert load_settings(_env_file=None, groq_model="gpt-oss-20b").groq_model == (
        "openai/gpt-oss-20b")

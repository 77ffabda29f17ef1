from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.settings import LLMSettings, Settings, load_settings


def test_defaults_are_the_offline_path() -> None:
    s = Settings()
    assert (s.llm.parser, s.llm.explainer, s.data.dataset, s.ui.host) == (
        "rules", "template", "demo", "127.0.0.1")


def test_env_nested_and_toml(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "encore.toml"
    cfg.write_text('bundle_dir = "b"\n[llm]\nbase_url = "http://127.0.0.1:9/v1"\ntimeout_s = 4\n'
                   '[ui]\nport = 9000\n')
    monkeypatch.setenv("ENCORE_LLM__TIMEOUT_S", "2.5")
    s = load_settings(cfg)
    assert s.llm.timeout_s == 2.5  # the environment beats the file
    assert s.llm.base_url == "http://127.0.0.1:9/v1"
    assert s.ui.port == 9000 and str(s.bundle_dir) == "b"
    monkeypatch.setenv("ENCORE_CONFIG", str(cfg))
    assert Settings().ui.port == 9000


def test_keyword_overrides_win(monkeypatch) -> None:
    monkeypatch.setenv("ENCORE_RETRIEVAL__N_CANDIDATES", "50")
    assert load_settings(retrieval={"n_candidates": 7}).retrieval.n_candidates == 7


def test_typos_and_bad_values_are_errors(tmp_path) -> None:
    with pytest.raises(ValidationError, match="n_candidatez"):
        Settings(retrieval={"n_candidatez": 3})
    with pytest.raises(ValidationError, match="timeout_s"):
        Settings(llm={"timeout_s": -1})
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm\n")
    with pytest.raises(ValueError, match="bad.toml: not valid TOML"):
        load_settings(bad)
    with pytest.raises(ValueError, match="settings file not found"):
        load_settings(tmp_path / "missing.toml")


def test_every_field_has_a_docstring() -> None:
    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                walk(ann)

    walk(Settings)
    assert "falls back" in LLMSettings.model_fields["timeout_s"].description


# -- secrets ----------------------------------------------------------------------------------

_PLANTED = {"ENCORE_LLM__API_KEY": "sk-planted-key-0001",
            "ENCORE_UI__AUTH": "admin:planted-ui-pass",
            "ENCORE_STORE__URL": "postgresql://u:planted-db-pass@127.0.0.1/x"}
_SECRETS = ("sk-planted-key-0001", "planted-ui-pass", "planted-db-pass")


def test_secret_settings_never_show_in_repr_str_or_dumps(tmp_path, monkeypatch) -> None:
    for key, value in _PLANTED.items():
        monkeypatch.setenv(key, value)
    from_env = Settings()
    cfg = tmp_path / "encore.toml"
    cfg.write_text('[llm]\napi_key = "sk-planted-key-0001"\n[ui]\nauth = "admin:planted-ui-pass"\n'
                   '[store]\nurl = "postgresql://u:planted-db-pass@127.0.0.1/x"\n')
    for key in _PLANTED:
        monkeypatch.delenv(key)
    from_toml = load_settings(cfg)
    from_kwargs = Settings(llm={"api_key": "sk-planted-key-0001"},
                           ui={"auth": "admin:planted-ui-pass"},
                           store={"url": "postgresql://u:planted-db-pass@127.0.0.1/x"})
    for s in (from_env, from_toml, from_kwargs):
        shown = [repr(s), str(s), s.model_dump_json(), str(s.model_dump()),
                 str(s.model_dump(mode="json")), repr(s.llm), repr(s.ui), repr(s.store),
                 f"{s.store.url}", f"{s.llm.api_key}"]
        for text in shown:
            for secret in _SECRETS:
                assert secret not in text
        # what is shown still says which database, and the values are there to be used
        assert "postgresql://u:***@127.0.0.1/x" in s.model_dump_json()
        assert s.llm.api_key.get_secret_value() == "sk-planted-key-0001"
        assert s.ui.auth is not None and s.ui.auth.get_secret_value() == "admin:planted-ui-pass"
        assert s.store.url.get_secret_value() == _PLANTED["ENCORE_STORE__URL"]


def test_a_settings_error_does_not_echo_a_secret() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(llm={"api_key": "sk-planted-key-0001", "timeout_s": -1})
    assert "sk-planted-key-0001" not in str(info.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://me:pw@db:5432/encore", "postgresql://me:***@db:5432/encore"),
    ("postgres://me:p@ss:w/rd@db/encore", "postgres://me:***@db/encore"),
    ("postgresql://db/encore?user=me&password=pw&sslmode=require",
     "postgresql://db/encore?user=me&password=***&sslmode=require"),
    ("postgresql://me@db/encore", "postgresql://me@db/encore"),
    ("sqlite:///.encore/history.sqlite3", "sqlite:///.encore/history.sqlite3"),
])
def test_urls_are_shown_without_their_password(url, shown) -> None:
    from assistant.settings import SecretURL, redact_url

    assert redact_url(url) == shown
    assert str(SecretURL(url)) == shown and SecretURL(url).get_secret_value() == url


def test_session_age_is_a_setting(monkeypatch) -> None:
    assert Settings().store.session_max_age_s == 30 * 86_400
    monkeypatch.setenv("ENCORE_STORE__SESSION_MAX_AGE_S", "3600")
    assert Settings().store.session_max_age_s == 3600
    with pytest.raises(ValidationError, match="session_max_age_s"):
        Settings(store={"session_max_age_s": 0})

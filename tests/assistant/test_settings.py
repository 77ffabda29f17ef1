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

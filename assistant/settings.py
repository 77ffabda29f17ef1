"""Encore's one typed configuration, shared by the CLI and the Python API.

Values come from (highest first): keyword arguments, ``ENCORE_*`` environment variables
(nested sections with ``__``, e.g. ``ENCORE_LLM__BASE_URL``), a TOML file (``--config``
or ``ENCORE_CONFIG``), then the defaults below.

Example:
    >>> s = Settings(retrieval={"n_candidates": 100})
    >>> s.retrieval.n_candidates, s.llm.parser
    (100, 'rules')
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "DataSettings", "RetrievalSettings", "RankerSettings", "LLMSettings",
           "UISettings", "StoreSettings", "load_settings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class DataSettings(_Section):
    dataset: str = "demo"
    """Data set reference: 'demo', 'movielens:PATH', or a catalog file / data folder."""
    skip_bad_rows: bool = False
    """Load the good rows and report the bad ones instead of stopping at the first."""
    encoding: str | None = None
    """Text encoding of catalog and interaction files (default: UTF-8, or the format's own)."""
    demo_users: int = Field(default=1500, ge=1, le=1_000_000)
    """Number of synthetic users the demo generates."""
    seed: int = 0
    """Seed of every random choice (demo generation, splits, training)."""


class RetrievalSettings(_Section):
    encoder_model: str = "all-MiniLM-L6-v2"
    """Sentence-transformers model: the packaged offline MiniLM by default, or any Hugging Face
    name or local folder."""
    index_factory: str | None = None
    """FAISS factory string ('Flat', 'HNSW32,Flat', 'IVF4096,PQ48'); None picks Flat up to
    50k items and HNSW32,Flat above."""
    n_candidates: int = Field(default=200, ge=1, le=100_000)
    """How many candidates retrieval hands to the ranker."""
    request_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    """Weight of the request embedding in the query vector when there is also a history."""
    dislike_weight: float = Field(default=0.2, ge=0.0, le=5.0)
    """How strongly disliked items push the profile away (chosen on ml-100k's validation split)."""
    dislike_rating: float = 2.0
    """Ratings at or below this count as dislikes."""
    recency_half_life: float = Field(default=5.0, gt=0)
    """Half-life, in history positions, of the recency weighting of the user profile (chosen
    on ml-100k's validation split)."""
    max_history: int = Field(default=200, ge=1)
    """Only the most recent history entries shape the profile."""
    popularity_weight: float = Field(default=0.03, ge=0.0)
    """Weight of the popularity prior added to the cosine: score = cosine + w * log(1 + count).
    Contrastive fine-tuning learns likelihood given the history, not overall popularity;
    this puts it back (Recall@200 0.42 -> 0.60 on ml-100k)."""


class RankerSettings(_Section):
    kind: str = "lightgbm"
    """Ranker implementation: 'lightgbm' (LambdaMART) or 'blend' (untrained weighted blend)."""
    mmr_lambda: float = Field(default=0.8, ge=0.0, le=1.0)
    """Relevance weight of maximal-marginal-relevance diversification (1 = no diversity)."""


class LLMSettings(_Section):
    parser: Literal["rules", "llm"] = "rules"
    """Request parser: 'rules' (offline, deterministic) or 'llm'."""
    explainer: Literal["template", "llm"] = "template"
    """Explanation writer: 'template' (offline) or 'llm'."""
    backend: Literal["openai", "vllm"] = "openai"
    """'openai': an OpenAI-compatible server such as `vllm serve`; 'vllm': in-process vllm.LLM."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """Base URL of the OpenAI-compatible server."""
    model: str = ""
    """Model name served at base_url (or the model folder for the in-process backend)."""
    api_key: str = "EMPTY"
    """API key sent to the server (vLLM accepts any unless started with --api-key)."""
    timeout_s: float = Field(default=20.0, gt=0)
    """Seconds before an LLM call is abandoned and the turn falls back to rules/templates."""
    max_tokens: int = Field(default=512, ge=16, le=32_768)
    """Upper bound on generated tokens per call."""
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature (0 = greedy)."""


class UISettings(_Section):
    host: str = "127.0.0.1"
    """Address the chat page listens on (loopback unless you choose otherwise)."""
    port: int = Field(default=7860, ge=1, le=65535)
    """Port of the chat page."""
    auth: str | None = None
    """Optional 'user:password' for the chat page."""


class StoreSettings(_Section):
    url: str = "sqlite:///.encore/history.sqlite3"
    """History store: a SQLite file (sqlite:///PATH) or Postgres (postgresql://...)."""


class Settings(BaseSettings):
    """Everything Encore can be told. Build it once; pass it to the CLI or the API."""

    model_config = SettingsConfigDict(
        env_prefix="ENCORE_", env_nested_delimiter="__", extra="forbid",
        use_attribute_docstrings=True, validate_default=True,
    )

    bundle_dir: Path = Path(".encore/bundle")
    """Folder of the built bundle (manifest, catalog, encoder, index, ranker)."""
    data: DataSettings = Field(default_factory=DataSettings)
    """Which data set to load and how."""
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    """Encoder, vector index and candidate retrieval."""
    ranker: RankerSettings = Field(default_factory=RankerSettings)
    """The learned reranker and diversification."""
    llm: LLMSettings = Field(default_factory=LLMSettings)
    """Request parsing, explanations and the LLM server."""
    ui: UISettings = Field(default_factory=UISettings)
    """The Gradio chat page."""
    store: StoreSettings = Field(default_factory=StoreSettings)
    """Where feedback and history are kept."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _CONFIG_FILE.get() or os.environ.get("ENCORE_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml)))
        return tuple(sources)


# The TOML file of the load_settings() call in progress (a context variable, so threads
# building settings at once do not see each other's file).
_CONFIG_FILE: ContextVar[str | None] = ContextVar("encore_config_file", default=None)


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from an optional TOML file, the environment and overrides.

    Raises:
        ValueError: the TOML file is missing or invalid (the message names the file and the
            field).
    """
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ValueError(f"{path}: settings file not found. Fix: check the --config path")
        import tomllib

        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not valid TOML ({exc}). Fix: correct the file") from None
    token = _CONFIG_FILE.set(str(config) if config is not None else None)
    try:
        return Settings(**overrides)
    finally:
        _CONFIG_FILE.reset(token)

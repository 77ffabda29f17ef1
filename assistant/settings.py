"""Encore's one typed configuration, shared by the CLI and the Python API.

Values come from (highest first): keyword arguments, ``ENCORE_*`` environment variables
(nested sections with ``__``, e.g. ``ENCORE_LLM__BASE_URL``), a TOML file (``--config``
or ``ENCORE_CONFIG``), then the defaults below.

The sections ``retrieval``, ``stats``, ``features``, ``ranker`` and ``training`` are the
pipeline's (:class:`~retrieval.config.PipelineConfig`, e.g. ``ENCORE_RETRIEVAL__N_CANDIDATES``,
``ENCORE_RANKER__MMR_LAMBDA``, ``ENCORE_FEATURES__LAST_K``). ``encore build`` records them in
the bundle; serving a bundle uses what it was built with, except the fields set explicitly
here (keyword, environment or TOML), which win (:meth:`Settings.pipeline_config`).

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

from retrieval.config import (
    DEFAULT_ENCODER,
    BuildConfig,
    FeatureConfig,
    PipelineConfig,
    RankerConfig,
    RetrievalConfig,
    StatsConfig,
    TrainingListsConfig,
)

__all__ = ["Settings", "DataSettings", "RetrievalSettings", "RankerSettings", "LLMSettings",
           "UISettings", "StoreSettings", "load_settings"]

# The Settings sections that are PipelineConfig sections (the rest never reach a bundle).
PIPELINE_SECTIONS = tuple(PipelineConfig.model_fields)


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


class RetrievalSettings(RetrievalConfig):
    """Section ``retrieval``: the encoder, the vector index, the dense query and the
    candidate set (:class:`~retrieval.config.RetrievalConfig`)."""

    encoder_model: str = DEFAULT_ENCODER
    """Sentence-transformers model: the packaged offline MiniLM by default, or any Hugging Face
    name or local folder."""
    index_factory: str | None = None
    """FAISS factory string ('Flat', 'HNSW32,Flat', 'IVF4096,PQ48'); None picks Flat up to
    50k items and HNSW32,Flat above."""
    encoder_threads: int = Field(default=1, ge=0, le=256)
    """Threads the encoder uses when serving (torch.set_num_threads, set when a bundle is
    loaded for serving). One request text is tiny: one thread encodes it in milliseconds,
    while torch's default (every core) makes a turn 10-30x slower when other processes load
    the CPU. 0 leaves torch's default."""


class RankerSettings(RankerConfig):
    """Section ``ranker``: the learned ranker, its LightGBM parameters and MMR
    (:class:`~retrieval.config.RankerConfig`)."""


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
    """Seconds one turn may wait on the LLM, its parser and explainer calls together (one
    deadline per turn); past it the call is abandoned and the turn falls back to
    rules/templates."""
    breaker_failures: int = Field(default=3, ge=1, le=1000)
    """Consecutive LLM calls that got no answer (time-outs, refused or broken connections,
    HTTP errors) after which turns skip the LLM for breaker_cooldown_s."""
    breaker_cooldown_s: float = Field(default=30.0, gt=0, le=86_400)
    """Seconds turns skip the LLM once the circuit breaker opened; then one turn probes it."""
    max_connections: int = Field(default=8, ge=1, le=1024)
    """HTTP connections to the LLM server at most (backend 'openai')."""
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
    stats: StatsConfig = Field(default_factory=StatsConfig)
    """The interaction statistics the features read (built with the bundle)."""
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    """The ranker's features."""
    ranker: RankerSettings = Field(default_factory=RankerSettings)
    """The learned reranker and diversification."""
    training: TrainingListsConfig = Field(default_factory=TrainingListsConfig)
    """How the ranker's training lists are made (encore build, encore train-ranker)."""
    llm: LLMSettings = Field(default_factory=LLMSettings)
    """Request parsing, explanations and the LLM server."""
    ui: UISettings = Field(default_factory=UISettings)
    """The Gradio chat page."""
    store: StoreSettings = Field(default_factory=StoreSettings)
    """Where feedback and history are kept."""

    def pipeline_overrides(self) -> dict[str, dict[str, Any]]:
        """The pipeline fields set explicitly (keyword, environment or TOML), by section."""
        out: dict[str, dict[str, Any]] = {}
        for name, field in PipelineConfig.model_fields.items():
            if name not in self.model_fields_set:
                continue
            section = getattr(self, name)
            known = field.annotation.model_fields  # type: ignore[union-attr]
            values = {f: getattr(section, f) for f in section.model_fields_set if f in known}
            if values:
                out[name] = values
        return out

    def pipeline_config(self, base: PipelineConfig | None = None) -> PipelineConfig:
        """The pipeline configuration these settings describe.

        Args:
            base: A configuration to start from (a bundle's, as it was built): only the
                fields set explicitly here replace its values. ``None``: every pipeline
                field comes from these settings (defaults included), the training seed from
                ``data.seed`` unless ``training.seed`` is set.
        """
        if base is not None:
            return base.merged(self.pipeline_overrides())
        data = {name: getattr(self, name).model_dump(include=set(field.annotation.model_fields))  # type: ignore[union-attr]
                for name, field in PipelineConfig.model_fields.items()}
        if "seed" not in self.pipeline_overrides().get("training", {}):
            data["training"]["seed"] = self.data.seed
        return PipelineConfig.model_validate(data)

    def build_config(self) -> BuildConfig:
        """What ``encore build`` needs from these settings (no llm, ui or store values)."""
        return BuildConfig(encoder_model=self.retrieval.encoder_model,
                           index_factory=self.retrieval.index_factory, seed=self.data.seed,
                           pipeline=self.pipeline_config())

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

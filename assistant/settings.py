"""Encore's one typed configuration, shared by the CLI and the Python API.

Values come from (highest first): keyword arguments, ``ENCORE_*`` environment variables
(nested sections with ``__``, e.g. ``ENCORE_LLM__BASE_URL``), a TOML file (``--config``
or ``ENCORE_CONFIG``), then the defaults below.

The sections ``retrieval``, ``stats``, ``features``, ``ranker`` and ``training`` are the
pipeline's (:class:`~retrieval.config.PipelineConfig`, e.g. ``ENCORE_RETRIEVAL__N_CANDIDATES``,
``ENCORE_RANKER__MMR_LAMBDA``, ``ENCORE_FEATURES__LAST_K``). ``encore build`` records them in
the bundle; serving a bundle uses what it was built with, except the fields set explicitly
here (keyword, environment or TOML), which win (:meth:`Settings.pipeline_config`).

Secrets (``llm.api_key``, ``ui.auth`` and the password in ``store.url``) are pydantic
``SecretStr`` values: ``repr``, ``str`` and ``model_dump_json`` show them as ``**********`` (the
store URL as ``postgresql://user:***@host/db``), and only the code that must send one calls
``.get_secret_value()`` (or :func:`reveal`). A bundle never records the llm, ui or store
sections.

Example:
    >>> s = Settings(retrieval={"n_candidates": 100})
    >>> s.retrieval.n_candidates, s.llm.parser
    (100, 'rules')
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer
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
           "UISettings", "StoreSettings", "SecretURL", "load_settings", "redact_url", "reveal"]

DEFAULT_SESSION_MAX_AGE_S = 30 * 86_400
"""How long a conversation is kept after its last turn, unless store.session_max_age_s says."""

# The Settings sections that are PipelineConfig sections (the rest never reach a bundle).
PIPELINE_SECTIONS = tuple(PipelineConfig.model_fields)


# A password in a URL's query ("?password=pw"; libpq reads it there too).
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|pass|pwd)=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (user, host and database stay visible).

    A password holding an unescaped ``@``, ``/``, ``?`` or ``#`` is hidden too: the user info
    is taken to end at the last ``@``, so an odd URL loses more than its password, never less.

    Example:
        >>> redact_url("postgresql://me:s3cret@db:5432/encore?password=x&sslmode=require")
        'postgresql://me:***@db:5432/encore?password=***&sslmode=require'
        >>> redact_url("sqlite:///.encore/history.sqlite3")
        'sqlite:///.encore/history.sqlite3'
    """
    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@")
    if sep and at >= 0 and ":" in rest[:at]:
        rest = f"{rest[:at].split(':', 1)[0]}:***{rest[at:]}"
    return scheme + sep + _QUERY_PASSWORD.sub(r"\g<head>***", rest)


class SecretURL(SecretStr):
    """A URL that may hold a password: shown (``repr``, ``str``, JSON) without it.

    Example:
        >>> u = SecretURL("postgresql://me:s3cret@db/encore")
        >>> u, u.get_secret_value()
        (SecretURL('postgresql://me:***@db/encore'), 'postgresql://me:s3cret@db/encore')
    """

    def _display(self) -> str:
        return redact_url(self.get_secret_value())


def reveal(secret: SecretStr | str | None) -> str | None:
    """The plain value of a secret setting, for the one place that must send it (a
    connection, a login check); never for logs or output.

    Example:
        >>> reveal(SecretStr("k")), reveal(None), reveal("plain")
        ('k', None, 'plain')
    """
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


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
    encoder_backend: Literal["torch", "onnx", "onnx-int8", "static"] = "torch"
    """What runs the encoder in a build: 'torch', 'onnx' (float32), 'onnx-int8' or 'static'
    (token vectors distilled from the model: far faster, lower quality; for very large
    catalogs) (retrieval.config.BuildConfig.encoder_backend). Serving encodes requests with
    the backend the bundle was built with, whatever this says."""
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
    api_key: SecretStr = SecretStr("EMPTY")
    """API key sent to the server (vLLM accepts any unless started with --api-key). A secret:
    shown as ``**********``, never written to a bundle or printed."""
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
    auth: SecretStr | None = None
    """Optional 'user:password' for the chat page: one account, not an admin (prefer
    accounts_file). A secret: shown as ``**********``, never written to a bundle or printed."""
    accounts_file: Path = Path(".encore/accounts.json")
    """Sign-in accounts (argon2 hashes), written by `encore users add`; used when it exists."""
    trusted_header: str | None = None
    """Header naming the signed-in person, set by a reverse proxy in front (e.g.
    X-Forwarded-User); honoured only when set."""
    demo_mode: bool = False
    """Serve the page open: anyone may pick any user (the page says so)."""
    login_max_failures: int = Field(default=10, ge=1, le=10_000)
    """Failed sign-ins (per name, per client address) that lock it out for login_lockout_s;
    after 3 failures each try waits twice as long as the last (1 s, 2 s, 4 s...)."""
    login_lockout_s: float = Field(default=300.0, gt=0, le=86_400)
    """Cool-down of a sign-in lock-out, in seconds."""


class StoreSettings(_Section):
    url: SecretURL = SecretURL("sqlite:///.encore/history.sqlite3")
    """History store: a SQLite file (sqlite:///PATH) or Postgres (postgresql://...). Shown
    without its password; ``url.get_secret_value()`` is the full URL."""
    session_max_age_s: int = Field(default=DEFAULT_SESSION_MAX_AGE_S, ge=1,
                                   le=100 * 365 * 86_400)
    """Seconds a conversation is kept after its last turn (default 30 days); an older one
    is forgotten (it loads as a new conversation) and purged from the store."""

    @field_serializer("url", when_used="json")
    def _url_without_password(self, url: SecretURL) -> str:
        return str(url)


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
                           encoder_backend=self.retrieval.encoder_backend,
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

"""Encore on Ray Serve: the assistant's JSON API (:mod:`assistant.serve.api`) as a Serve
deployment of stateless replicas, beside vLLM replicas (``ray.serve.llm``).

The configuration lives in ``assistant/serve/ray_serve.yaml`` (replicas, autoscaling, the
LLM application); run it with Ray's own command::

    pip install 'encore-rec[ray]'
    serve run assistant/serve/ray_serve.yaml          # or: serve deploy, on a cluster

Each replica loads the bundle memory-mapped (replicas on one node share the vectors and
the index pages) and keeps no conversation in memory: sessions, history and likes are in
the shared history store (``store_url``: Postgres when replicas run on several nodes), so
any replica answers any turn of any session. The access rules are the page's
(:func:`assistant.commands.serve.choose_access`): open only when the proxy listens on a
loopback address, else accounts or a trusted header from a signing-in proxy.

:func:`application_from_config` builds the application of one entry of that file, with the
file's deployment options applied (what ``serve run`` does), for tests and scripts that
start Serve from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ray.serve import Application

    from assistant.core import Assistant

__all__ = ["CONFIG", "DEPLOYMENT", "EncoreAssistant", "RayAppArgs", "application_from_config",
           "build_app"]

CONFIG = Path(__file__).with_name("ray_serve.yaml")
"""The Ray Serve configuration in the repository."""
DEPLOYMENT = "EncoreAssistant"
"""The deployment's name (the key of its options in the configuration's ``deployments``)."""


class RayAppArgs(BaseModel):
    """The ``args`` of the Encore application in the Serve configuration."""

    model_config = ConfigDict(extra="forbid")

    bundle: str
    """The bundle folder, readable from every node (a shared or copied path)."""
    store_url: str | None = None
    """The shared history store (default: the ``store.url`` setting, ENCORE_STORE__URL)."""
    host: str = "127.0.0.1"
    """The address the Serve proxy listens on (``http_options.host``): open access is
    refused on any other address, as ``encore serve`` refuses it."""
    trusted_header: str | None = None
    """Trust this header from a signing-in reverse proxy (as ``--trusted-header``)."""
    accounts_file: str | None = None
    """Accounts for HTTP Basic sign-in (as ``--accounts``; default: ``ui.accounts_file``)."""
    demo_mode: bool = False
    """Open to anyone, on any address (as ``--demo-mode``)."""
    verify: bool = True
    """Check the bundle's checksums as each replica loads it."""
    settings: dict[str, Any] = {}
    """Further settings (``{"llm": {"parser": "llm", ...}}``) over the ENCORE_* variables."""


class EncoreAssistant:
    """One replica of the assistant (wrapped as a Serve ingress deployment by
    :func:`build_app`): loads the bundle in its constructor, serves the JSON API."""

    def __init__(self, args: dict[str, Any]) -> None:
        from assistant.commands.serve import choose_access
        from assistant.serve.workers import check_shared_store, load_worker_assistant
        from assistant.settings import Settings

        opts = RayAppArgs.model_validate(args)
        extra = dict(opts.settings)
        if opts.store_url:
            extra["store"] = {**extra.get("store", {}), "url": opts.store_url}
        settings = Settings(**extra)
        # replicas are separate processes, often more than one: each must see every session
        check_shared_store(settings.store.url.get_secret_value(), workers=2)
        self.access = choose_access(
            settings.ui, host=opts.host, trusted_header=opts.trusted_header,
            demo_mode=opts.demo_mode, say=lambda _m: None,
            accounts_file=Path(opts.accounts_file) if opts.accounts_file else None)
        if opts.verify:
            from retrieval.bundle_store import check_folder, resolve

            if (problem := check_folder(resolve(opts.bundle).folder, hashes=True)) is not None:
                raise ValueError(f"{problem}. Fix: rebuild the bundle with `encore build`")
        self.assistant: Assistant = load_worker_assistant(Path(opts.bundle), settings)

    def __serve_build_asgi_app__(self) -> Any:
        """The replica's ASGI app (Serve calls it after the constructor)."""
        from assistant.serve.api import build_api

        return build_api(self.assistant, access=self.access)

    def __del__(self) -> None:
        bot = getattr(self, "assistant", None)
        if bot is not None:
            bot.close()


def _application(args: dict[str, Any], options: dict[str, Any]) -> Application:
    from ray import serve

    RayAppArgs.model_validate(args)  # a bad key fails here, before any replica starts
    ingress = serve.ingress()(EncoreAssistant)
    deployment = serve.deployment(name=DEPLOYMENT)(ingress)
    if options:
        deployment = deployment.options(**options)
    return deployment.bind(args)


def build_app(args: dict[str, Any]) -> Application:
    """The application builder named in the configuration's ``import_path``
    (``serve run`` applies the file's deployment options itself)."""
    return _application(dict(args), {})


def application_from_config(path: str | Path = CONFIG, name: str = "encore", *,
                            args: dict[str, Any] | None = None,
                            options: dict[str, Any] | None = None
                            ) -> tuple[Application, str, dict[str, Any]]:
    """The application ``name`` of the Serve configuration at ``path``, validated by Ray's
    own schema, with its deployment options applied and ``args`` / ``options`` laid over
    the file's (e.g. ``{"num_replicas": 2, "autoscaling_config": None}``).

    Returns:
        The application, its route prefix and the file's ``http_options``.

    Raises:
        ValueError: the file is not a valid Serve configuration, or has no such application.
    """
    import yaml
    from ray.serve.schema import ServeDeploySchema

    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    ServeDeploySchema.model_validate(doc)
    apps = {a["name"]: a for a in doc.get("applications", [])}
    if name not in apps:
        raise ValueError(f"{path}: no application {name!r} (has {', '.join(apps)}). "
                         "Fix: pass one of those names")
    entry = apps[name]
    found = {d["name"]: d for d in entry.get("deployments", [])}.get(DEPLOYMENT, {})
    merged = {k: v for k, v in found.items() if k != "name"} | dict(options or {})
    if merged.get("num_replicas") is not None:
        merged.pop("autoscaling_config", None)
    merged = {k: v for k, v in merged.items() if v is not None}
    app = _application({**entry.get("args", {}), **(args or {})}, merged)
    return app, entry.get("route_prefix", "/"), dict(doc.get("http_options", {}))

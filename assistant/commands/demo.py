"""`encore demo`: the bundled demo, end to end."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        user: Annotated[str | None, typer.Option("--user", help="Demo user id (default: the first).")] = None,
        k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many recommendations.")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    ) -> None:
        """Recommend for a demo user (real titles, SYNTHETIC interactions)."""
        from assistant.cli import emit_json, settings
        from assistant.quickstart import demo_recommendations

        s = settings()
        result = demo_recommendations(s, user_id=user, k=k)
        if as_json:
            emit_json(result)
            return
        typer.echo(result["dataset"])
        typer.echo(f"\nUser {result['user_id']} (synthetic; taste: {result['taste']}). Recent history:")
        for h in result["history"]:
            typer.echo(f"  {h['event']:>7}  {h['title']} ({h['media_type']}, {h['year']})")
        typer.echo(f"\nRecommended by {result['method']}:")
        for i, r in enumerate(result["recommendations"], 1):
            typer.echo(f"  {i:2d}. {r['title']} ({r['media_type']}, {r['year']}) - {r['why']}")

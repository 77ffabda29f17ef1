"""The `encore` command line."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Encore: conversational recommendations.")


@app.command()
def version() -> None:
    """Print Encore's version."""
    from assistant import __version__

    typer.echo(__version__)


def main() -> None:
    app()

"""The ``byoi`` command line."""

from __future__ import annotations

import logging
import sys

import click
from pydantic import ValidationError

from byoi.settings import Settings


def load_settings(**overrides) -> Settings:
    """Settings from BYOI_* variables, with explicit (non-None) overrides; exits with a clear message if invalid."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise click.UsageError("invalid settings (flags or BYOI_* variables):\n" + "\n".join(lines)) from None


@click.group()
@click.version_option(package_name="byoi")
def main() -> None:
    """byoi: a self-hostable SageMaker Studio custom-image control plane."""


@main.command()
@click.option("--host", help="Listen address (BYOI_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (BYOI_PORT, default 8080).")
@click.option("--data-dir", help="State directory (BYOI_DATA_DIR, default ~/.local/share/byoi).")
@click.option("--database-url", help="SQLAlchemy URL (BYOI_DATABASE_URL; default SQLite in the data dir).")
@click.option("--docker", type=click.Choice(["auto", "on", "off"]), help="Docker engine use (BYOI_DOCKER).")
@click.option("--log-level", help="debug, info, warning or error (BYOI_LOG_LEVEL).")
def serve(**options) -> None:
    """Serve the SageMaker API on http://HOST:PORT/."""
    import uvicorn

    from byoi.app import StartupError, create_app

    settings = load_settings(**options)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except (StartupError, ValueError) as exc:
        click.echo(f"byoi: cannot start: {exc}", err=True)
        sys.exit(2)
    click.echo(f"byoi: serving SageMaker on http://{settings.host}:{settings.port}/ "
               f"(store: {app.state.db.url.render_as_string(hide_password=True)})", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False)


if __name__ == "__main__":
    main()

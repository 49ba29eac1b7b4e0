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


@main.group()
def image() -> None:
    """Build container images for byoi."""


@image.command("build-base")
@click.option("--tag", default="byoi/debian-python:bookworm", show_default=True, help="Tag of the image to build.")
@click.option("--release", default="bookworm", show_default=True, help="Debian release to bootstrap.")
@click.option("--mirror", default=None, help="Debian mirror URL (default: the one apt uses here).")
@click.option("--rebuild", is_flag=True, help="Build even if the tag exists.")
def build_base(tag: str, release: str, mirror: str | None, rebuild: bool) -> None:
    """Build a Debian+Python base image offline: debootstrap, then docker import (needs root)."""
    import docker

    from byoi.images.debian import ImageBuildError, build_debian_python_image

    try:
        image_id = build_debian_python_image(docker.from_env(), tag, release, mirror=mirror, rebuild=rebuild)
    except (ImageBuildError, docker.errors.DockerException) as exc:
        click.echo(f"byoi: cannot build {tag}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{tag} {image_id}")


if __name__ == "__main__":
    main()

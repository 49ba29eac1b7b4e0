"""The ``byoi`` command line."""

from __future__ import annotations

import logging
import sys

import click
from pydantic import ValidationError

from byoi.settings import Settings
from byoi.vocabulary import CUSTOM_IMAGE_APPS, SPACE_APPS


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
@click.option("--auth", type=click.Choice(["auto", "on", "off"]),
              help="SigV4 authentication (BYOI_AUTH): 'auto' is on unless --host is loopback; 'off' for local use.")
@click.option("--credentials-file", help="AWS shared-credentials file whose keys may sign requests (BYOI_CREDENTIALS_FILE).")
@click.option("--log-level", help="debug, info, warning or error (BYOI_LOG_LEVEL).")
def serve(**options) -> None:
    """Serve the SageMaker API on http://HOST:PORT/."""
    import uvicorn

    from byoi.app import StartupError, create_app

    settings = load_settings(**options)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "debug":  # HTTP clients log every request (readiness probes, the Kubernetes API)
        for client_log in ("httpx", "httpx2"):
            logging.getLogger(client_log).setLevel(logging.WARNING)
    try:
        app = create_app(settings)
    except (StartupError, ValueError) as exc:
        click.echo(f"byoi: cannot start: {exc}", err=True)
        sys.exit(2)
    click.echo(f"byoi: serving SageMaker on http://{settings.host}:{settings.port}/ "
               f"(store: {app.db.url.render_as_string(hide_password=True)}; "
               f"authentication {'on' if settings.auth_enabled() else 'off'})", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False)


@main.command()
@click.argument("image")
@click.option("--app-image-config", "config_file", type=click.Path(exists=True, dir_okay=False), help="AppImageConfig as JSON (CreateAppImageConfig input or DescribeAppImageConfig output).")
@click.option("--app-image-config-name", "config_name", help="Read the AppImageConfig from a SageMaker endpoint (see --endpoint-url).")
@click.option("--endpoint-url", default="http://127.0.0.1:8080", show_default=True, help="SageMaker endpoint for --app-image-config-name.")
@click.option("--region", default="us-east-1", show_default=True, help="Region for --app-image-config-name.")
@click.option("--app-type", type=click.Choice(list(CUSTOM_IMAGE_APPS)), help="Default: the config's mode, else KernelGateway.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-live", is_flag=True, help="Only the static checks: do not run the image.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds each live step may take.")
def check(image, config_file, config_name, endpoint_url, region, app_type, as_json, no_live, timeout) -> None:
    """Tell whether IMAGE and its AppImageConfig will work in Studio, and why not.

    Exit status: 0 when nothing would fail, 1 when something would, 2 when the check itself could not run.
    """
    import json as json_module
    import tempfile
    from pathlib import Path

    import docker
    from rich.console import Console

    from byoi.check.report import as_json as report_json
    from byoi.check.report import print_table
    from byoi.check.runner import run_check
    from byoi.runtime.kgw.bundle import ensure_bundle

    if config_file and config_name:
        raise click.UsageError("give --app-image-config or --app-image-config-name, not both")
    err = Console(stderr=True)
    try:
        config = None
        if config_file:
            config = json_module.loads(Path(config_file).read_text())
            if not isinstance(config, dict):
                raise click.UsageError(f"{config_file} must hold a JSON object")
        elif config_name:
            config = fetch_config(config_name, endpoint_url, region)
        client = docker.from_env()
        client.ping()
        settings = load_settings()
        with tempfile.TemporaryDirectory(prefix="byoi-check-") as tmp, err.status("checking") as status:
            report = run_check(
                client, image, config, app_type,
                bundle=lambda: str(ensure_bundle(settings.data_dir / "runtime")),
                workdir=Path(tmp), live=not no_live, timeout=timeout,
                progress=lambda message: status.update(message),
            )
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        click.echo(f"byoi check: cannot check {image}: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(report_json(report))
    else:
        print_table(report, Console())
    sys.exit(0 if report.ok else 1)


def fetch_config(name: str, endpoint_url: str, region: str) -> dict:
    """DescribeAppImageConfig from a SageMaker endpoint (byoi's, or AWS's with your credentials)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    session = botocore.session.get_session()
    if session.get_credentials() is None:
        session.set_credentials("byoi", "byoi")
    client = session.create_client("sagemaker", region_name=region, endpoint_url=endpoint_url)
    try:
        described = client.describe_app_image_config(AppImageConfigName=name)
    except (BotoCoreError, ClientError) as exc:
        raise ValueError(f"could not read AppImageConfig {name}: {exc}") from None
    described.pop("ResponseMetadata", None)
    return described


@main.command("quickstart")
@click.argument("image")
@click.option("--user", default="me", show_default=True, help="User profile to make (or reuse) and sign in as.")
@click.option("--space", help="Private space of that user to run the app in.  [default: my-space; my-editor for CodeEditor]")
@click.option("--app-type", type=click.Choice(list(SPACE_APPS)), default="JupyterLab", show_default=True,
              help="The space's app: IMAGE serves it on 8888 under /jupyterlab/default or /codeeditor/default.")
@click.option("--endpoint-url", default="http://127.0.0.1:8080", show_default=True, help="The running byoi.")
@click.option("--region", default="us-east-1", show_default=True)
@click.option("--timeout", default=600.0, show_default=True, help="Seconds each wait (image version, app start) may take.")
def quickstart_command(image, user, space, app_type, endpoint_url, region, timeout) -> None:
    """Run IMAGE (a local JupyterLab or Code Editor image) as a space's app and print a URL that opens it.

    It makes, or reuses, the image and a version of it, an AppImageConfig for the app type, a
    domain named quickstart that attaches the image, the user profile, a private space and its app.
    """
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    from byoi.quickstart import QuickstartError, quickstart

    session = botocore.session.get_session()
    if session.get_credentials() is None:
        session.set_credentials("byoi", "byoi")
    sm = session.create_client("sagemaker", region_name=region, endpoint_url=endpoint_url)
    try:
        url = quickstart(sm, image, user, space, say=lambda message: click.echo(f"byoi quickstart: {message}", err=True),
                         timeout=timeout, app_type=app_type)
    except (QuickstartError, BotoCoreError, ClientError) as exc:
        click.echo(f"byoi quickstart: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Open this in a browser on this machine within 5 minutes (it signs you in once):\n{url}", err=True)
    click.echo(url)


@main.group()
def keys() -> None:
    """Manage the access keys that may sign requests (stored in byoi's database)."""


def _access_keys():
    from byoi.auth.keys import AccessKeys
    from byoi.clock import SystemClock
    from byoi.store.database import Database

    settings = load_settings()
    db = Database(settings.resolved_database_url())
    db.migrate()
    return AccessKeys(db, SystemClock())


@keys.command("create")
@click.option("--description", default="", help="A note to tell keys apart in 'byoi keys list'.")
@click.option("--profile", help="Print the key as a credentials-file section with this name instead.")
def keys_create(description: str, profile: str | None) -> None:
    """Create an access key and print it (the secret is shown only here)."""
    key = _access_keys().create(description)
    if profile:
        click.echo(f"[{profile}]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret_access_key}")
    else:
        click.echo(f"AWS_ACCESS_KEY_ID={key.access_key_id}\nAWS_SECRET_ACCESS_KEY={key.secret_access_key}")


@keys.command("list")
def keys_list() -> None:
    """List the access keys in the database (ids only, never secrets)."""
    from datetime import UTC, datetime

    for row in _access_keys().list():
        created = datetime.fromtimestamp(row.created_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(f"{row.access_key_id}\t{created}\t{row.description}")


@keys.command("delete")
@click.argument("access_key_id")
def keys_delete(access_key_id: str) -> None:
    """Delete an access key; requests signed with it are refused within seconds."""
    if not _access_keys().delete(access_key_id):
        click.echo(f"byoi keys: no access key {access_key_id}", err=True)
        sys.exit(1)
    click.echo(f"deleted {access_key_id}")


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

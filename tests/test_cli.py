"""``byoi serve`` refuses bad settings with a clear message, never a traceback."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "env, flags, expected",
    [
        ({"BYOI_PORT": "http"}, [], "port"),
        ({"BYOI_ACCOUNT_ID": "12"}, [], "account_id"),
        ({}, ["--docker", "sometimes"], "'sometimes' is not one of"),
        ({"BYOI_TRANSITION_SECONDS": "-1"}, [], "transition_seconds"),
        ({"BYOI_LOG_LEVEL": "loud"}, [], "log_level"),
        ({"BYOI_DATABASE_URL": "nonsense://"}, [], "unusable database URL"),
        ({"BYOI_DATABASE_URL": "postgresql+psycopg://u:secret@127.0.0.1:1/db"}, [], "cannot open the database"),
        ({"BYOI_REGISTRY_URL": "ftp://registry.example.com"}, [], "registry_url"),
        ({"BYOI_REGISTRY_URL": "https://registry.example.com/v2/"}, [], "must be http(s)://host[:port] of a registry"),
        (
            {"BYOI_RUNTIME": "kubernetes", "BYOI_REGISTRY_PASSWORD": "secret"},
            [],
            "set both BYOI_REGISTRY_USERNAME and BYOI_REGISTRY_PASSWORD, or neither",
        ),
        ({"BYOI_RUNTIME": "kubernetes", "BYOI_REGISTRY_AUTH_FILE": "/nonexistent/config.json"}, [], "(BYOI_REGISTRY_AUTH_FILE)"),
        ({"BYOI_RUNTIME": "kubernetes", "BYOI_REGISTRY_CA_FILE": "/nonexistent/ca.pem"}, [], "(BYOI_REGISTRY_CA_FILE)"),
    ],
)
def test_bad_settings_exit_with_a_message(tmp_path, env, flags, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "byoi", "serve", *flags],
        env={**os.environ, "BYOI_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "secret" not in proc.stderr


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "byoi", "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--database-url" in out.stdout

#!/usr/bin/env bash
# Install everything byoi's tests need on a fresh Debian machine, then run them all.
# The Docker tests build their images offline (debootstrap + docker import; see
# DEVELOPERS.md), so a Debian mirror (the one apt uses) must be reachable.
#
#   bash scripts/test.sh            # the whole suite, then the API suite again on PostgreSQL
#   bash scripts/test.sh -k tags    # extra arguments go to the first pytest run
#
# Installs (via apt) and starts a Docker engine and a PostgreSQL server, and
# installs debootstrap, Chromium (for the browser tests), what the code-server test image
# compiles against, docker-registry, apache2-utils and kubernetes-client, when they are missing, creates .venv with byoi and its test dependencies, and fails
# loudly if any of it cannot be done. Needs root or sudo for the apt/daemon steps.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

log() { printf '\n== %s\n' "$*"; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# The code-server test image (a real Code Editor for the browser test) is installed with npm
# on this machine: its native modules compile against these, and Debian's ripgrep replaces a
# download from outside the registries (tests/images/build.py).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# The registry tests run Debian's docker-registry (the reference distribution server) on loopback,
# with a bcrypt htpasswd file made by apache2-utils' htpasswd and certificates made by openssl
# (tests/registry.py); the deployment tests render deploy/kubernetes with kubectl kustomize.
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
for dev in libkrb5-dev libxkbfile-dev libsecret-1-dev; do
  dpkg -s "$dev" >/dev/null 2>&1 || missing+=("$dev")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  as_root sh -c 'nohup dockerd >/tmp/byoi-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { cat /tmp/byoi-dockerd.log; echo "dockerd did not start" >&2; exit 1; }
fi

PG_PASSWORD=byoi-test
if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  log "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
fi
as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD '$PG_PASSWORD'\"" >/dev/null

log "installing byoi with its test dependencies into .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

log "installing the AWS SDK for JavaScript for tests/js (from its lockfile)"
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error

log "lint (ruff)"
.venv/bin/ruff check src tests benchmarks

export BYOI_TEST_DOCKER=1
log "all tests (SQLite store, real Docker engine)"
.venv/bin/python -m pytest "$@"

log "benchmarks, quick smoke run (they must run; figures are not asserted)"
BYOI_TEST_POSTGRES_URL="postgresql+psycopg://postgres:${PG_PASSWORD}@127.0.0.1:5432/postgres" \
  .venv/bin/python benchmarks/run_all.py --quick

log "API, store and Cloud Control request tests again on PostgreSQL (the replica races run here)"
BYOI_TEST_POSTGRES_URL="postgresql+psycopg://postgres:${PG_PASSWORD}@127.0.0.1:5432/postgres" \
  .venv/bin/python -m pytest -q tests/api tests/store tests/cloudcontrol -m "not docker"

#!/usr/bin/env bash
# Build byoi's gateway image (images/gateway/Dockerfile) from this byoi's kernel gateway bundle:
#   scripts/build-gateway-image.sh [TAG]        (default: byoi/gateway:<byoi's version>)
# then push it where the cluster pulls from and set BYOI_KUBERNETES_GATEWAY_IMAGE to it. The
# bundle must come from the same byoi (and Python) as the byoi that runs the cluster's apps.
# Uses .venv/bin/python when there is one (else python3) and the Docker CLI, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
tag=${1:-byoi/gateway:$("$python" -c 'import importlib.metadata as m; print(m.version("byoi"))')}
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
bundle=$("$python" -c 'import sys; from pathlib import Path; from byoi.runtime.kgw.bundle import ensure_bundle; print(ensure_bundle(Path(sys.argv[1])))' "$context/cache")
cp -a "$bundle" "$context/bundle"
cp images/gateway/Dockerfile "$context/Dockerfile"
docker build --network none --tag "$tag" "$context"
echo "built $tag"

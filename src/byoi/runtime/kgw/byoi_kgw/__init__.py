"""byoi's kernel gateway launcher, run *inside* app containers.

It runs on the Python that byoi injects at /opt/.sagemakerinternal (never the
image's), so it may use only the standard library and the kernel gateway's
own dependencies. ``start-kernel-gateway`` (the container's command) starts it
with the bundle's library path; ``main`` then:

1. restores the image's own environment (LD_LIBRARY_PATH, PYTHONHOME, ...),
   so the kernels it starts run exactly as the image defines them; the dynamic
   linker read the bundle's paths at start-up and keeps them for this process;
2. finds kernels as Studio does (``StudioKernelSpecManager``): Jupyter
   kernelspecs under the image's Python prefix and the standard Jupyter paths,
   and conda environments that have ipykernel, as ``conda-env-<env>-py``;
3. serves Jupyter Kernel Gateway on 0.0.0.0:8888, with kernel listing on, to
   requests carrying ``Authorization: token <t>`` for a token whose SHA-256
   digest is in /opt/ml/metadata/gateway-tokens (written by byoi; only byoi's
   gateway, and a JupyterServer app of the same user, hold such tokens). Without
   that file it refuses to start.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import os
import re
import sys

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import default

#: Variables the launcher sets for the bundle; saved originals are BYOI_ORIG_<name>.
BUNDLE_VARIABLES = ("LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONPATH")

#: Where conda installations usually live in images.
CONDA_ROOTS = ("/opt/conda", "/opt/miniconda3", "/opt/miniconda", "/opt/miniforge3", "/opt/mambaforge", "/usr/local/conda")


def restore_image_environment(environ=os.environ) -> None:
    """Put back the image's values of the variables the launcher changed."""
    for name in BUNDLE_VARIABLES:
        saved = environ.pop(f"BYOI_ORIG_{name}", None)
        if saved is None:
            environ.pop(name, None)
        else:
            environ[name] = saved


def image_kernel_dirs(environ=os.environ) -> list[str]:
    """Kernel directories under the image's Python prefixes (found by the launcher)."""
    prefixes = [p for p in environ.get("BYOI_IMAGE_PREFIXES", "").split(":") if p]
    return [os.path.join(p, "share", "jupyter", "kernels") for p in prefixes]


def conda_roots(environ=os.environ) -> list[str]:
    roots = [environ.get("CONDA_DIR"), environ.get("CONDA_ROOT"), *CONDA_ROOTS]
    home = environ.get("HOME")
    if home:
        roots += [os.path.join(home, d) for d in ("miniconda3", "anaconda3", "miniforge3")]
    seen, result = set(), []
    for root in roots:
        if root and root not in seen and (os.path.isdir(os.path.join(root, "envs")) or os.path.isdir(os.path.join(root, "conda-meta"))):
            seen.add(root)
            result.append(root)
    return result


def has_ipykernel(env_path: str) -> bool:
    return bool(glob.glob(os.path.join(env_path, "lib", "python*", "site-packages", "ipykernel")))


def conda_kernel_specs(environ=os.environ) -> dict[str, KernelSpec]:
    """``conda-root-py`` / ``conda-env-<env>-py`` for each conda environment with ipykernel."""
    specs: dict[str, KernelSpec] = {}
    for root in conda_roots(environ):
        envs = [("root", root)] + [(os.path.basename(p), p) for p in sorted(glob.glob(os.path.join(root, "envs", "*")))]
        for env_name, path in envs:
            python = os.path.join(path, "bin", "python")
            if not (os.path.exists(python) and has_ipykernel(path)):
                continue
            name = "conda-root-py" if env_name == "root" else f"conda-env-{env_name}-py"
            specs.setdefault(
                name,
                KernelSpec(
                    argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name=f"Python [conda env:{env_name}]",
                    language="python",
                    resource_dir=path,
                ),
            )
    return specs


class StudioKernelSpecManager(KernelSpecManager):
    """Kernelspecs on the image's Jupyter paths, plus conda environments."""

    @default("kernel_dirs")
    def _kernel_dirs_default(self) -> list[str]:
        return image_kernel_dirs() + super()._kernel_dirs_default()

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        try:
            return super().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            spec = conda_kernel_specs().get(kernel_name)
            if spec is None:
                raise
            return spec

    def get_all_specs(self) -> dict:
        specs = super().get_all_specs()
        for name, spec in conda_kernel_specs().items():
            specs.setdefault(name, {"resource_dir": spec.resource_dir, "spec": spec.to_dict()})
        return specs


TOKENS_FILE = "/opt/ml/metadata/gateway-tokens"


def load_token_digests(path: str = TOKENS_FILE) -> frozenset[str]:
    """The digests of the tokens to accept; exits if there are none (never serve unauthenticated)."""
    try:
        with open(path) as f:
            digests = frozenset(line.strip() for line in f if re.fullmatch(r"[0-9a-f]{64}", line.strip()))
    except OSError as exc:
        raise SystemExit(f"byoi kernel gateway: cannot read {path} ({exc}); refusing to serve without authentication") from None
    if not digests:
        raise SystemExit(f"byoi kernel gateway: {path} holds no token digest; refusing to serve without authentication")
    return digests


def token_accepted(authorization: str, digests: frozenset[str]) -> bool:
    """Whether an ``Authorization: token <t>`` header carries a token whose digest is accepted."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "token" or not token.strip():
        return False
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    return any(hmac.compare_digest(digest, accepted) for accepted in digests)


def require_tokens(digests: frozenset[str]) -> None:
    """Replace Kernel Gateway's own token check (its ``TokenAuthorizationMixin.prepare``, which
    every kernel, session, kernelspec and API handler runs) with a check against ``digests``.
    Only the header counts: a ``?token=`` query parameter would end up in logs and histories."""
    from kernel_gateway import mixins

    def prepare(self):
        if self.request.method != "OPTIONS" and not token_accepted(self.request.headers.get("Authorization", ""), digests):
            return self.send_error(401)
        return super(mixins.TokenAuthorizationMixin, self).prepare()

    mixins.TokenAuthorizationMixin.prepare = prepare


def ensure_runtime_dir(environ=os.environ) -> None:
    """Use a private temporary runtime directory when the home is not writable.

    An image without a passwd entry for the app's uid gets HOME=/, where Jupyter
    cannot keep its runtime files; only then is JUPYTER_RUNTIME_DIR set.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    try:
        os.makedirs(jupyter_runtime_dir(), exist_ok=True)
        if os.access(jupyter_runtime_dir(), os.W_OK):
            return
    except OSError:
        pass
    import tempfile

    fallback = os.path.join(tempfile.gettempdir(), f"byoi-jupyter-runtime-{os.getuid()}")
    os.makedirs(fallback, mode=0o700, exist_ok=True)
    environ["JUPYTER_RUNTIME_DIR"] = fallback


def main(argv: list[str] | None = None) -> None:
    require_tokens(load_token_digests())
    restore_image_environment()
    ensure_runtime_dir()
    from kernel_gateway.gatewayapp import KernelGatewayApp

    args = [
        "--KernelGatewayApp.ip=0.0.0.0",
        "--KernelGatewayApp.port=8888",
        "--KernelGatewayApp.kernel_spec_manager_class=byoi_kgw.StudioKernelSpecManager",
        # Studio's Jupyter server lists a KernelGateway app's running kernels; byoi's gateway authenticates.
        "--JupyterWebsocketPersonality.list_kernels=True",
        *(sys.argv[1:] if argv is None else argv),
    ]
    KernelGatewayApp.launch_instance(argv=args)

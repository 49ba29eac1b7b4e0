"""byoi's kernel gateway launcher, run *inside* app containers.

It runs on the Python that byoi injects at /opt/.sagemakerinternal (never the
image's), so it may use only the standard library and the kernel gateway's
own dependencies. The container's entrypoint (``contract.gateway_command``)
starts it through the bundle's loader, with the bundle's library path as the
loader's option, isolated (``python -I``) from the image's Python settings; the
environment is the image's, untouched, and needs nothing of the image (no
shell, no C library). ``main`` then:

1. asks the image's own ``python3``/``python`` for their prefixes (where
   ``ipykernel install`` puts kernelspecs); kernels inherit the image's
   environment as it is, and never the bundle's loader or libraries;
2. finds kernels as Studio does (``StudioKernelSpecManager``): Jupyter
   kernelspecs in the order ``jupyter kernelspec list`` in the image uses
   (JUPYTER_PATH, the user's data directory, the image's Python prefixes,
   /usr/local/share, /usr/share; never the bundle's own), and conda
   environments that have ipykernel, as ``conda-env-<env>-py``; starts a
   kernelspec whose argv[0] is a bare ``python``/``python3`` with that name
   found on the image's PATH (jupyter_client would use the bundle's Python);
   answers 404 for a kernel name it does not know, and 500 with the exit code
   for a kernel that dies before it answers (its output is in the app's log);
   kernels get the image's environment, also when the start request carries
   ``env`` (Jupyter Server's GatewayClient always sends one): the request's
   KERNEL_* variables are added to it, not put in its place;
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
import shutil
import subprocess
import sys

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import default

#: Where conda installations usually live in images.
CONDA_ROOTS = ("/opt/conda", "/opt/miniconda3", "/opt/miniconda", "/opt/miniforge3", "/opt/mambaforge", "/usr/local/conda")

#: The image's Python prefixes (sys.prefix of its python3 and python), found at start.
IMAGE_PREFIXES: list[str] = []
SYSTEM_KERNEL_DIRS = ("/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels")


def image_prefixes(environ=os.environ) -> list[str]:
    """sys.prefix of each of the image's ``python3`` and ``python`` on its PATH, as each reports it
    in the image's environment (kernelspecs installed there are on Jupyter's path)."""
    prefixes = []
    for name in ("python3", "python"):
        program = shutil.which(name, path=environ.get("PATH"))
        if program is None:
            continue
        try:
            out = subprocess.run([program, "-c", "import sys; print(sys.prefix)"], env=dict(environ),
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip():
            prefixes.append(out.stdout.strip().splitlines()[-1])
    return list(dict.fromkeys(prefixes))


def image_kernel_dirs(prefixes: list[str]) -> list[str]:
    """Kernel directories under the image's Python prefixes."""
    return [os.path.join(p, "share", "jupyter", "kernels") for p in prefixes]


def kernel_dirs(prefixes: list[str], environ=os.environ) -> list[str]:
    """Where kernelspecs are looked for, first match wins, in Jupyter's own order as the image's
    ``jupyter kernelspec list`` would see it: JUPYTER_PATH, the user's data directory, the
    image's Python prefixes, then the system directories. The bundle's prefix is never one."""
    dirs = [os.path.join(p, "kernels") for p in environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    data_dir = environ.get("JUPYTER_DATA_DIR") or os.path.join(
        environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME") or "/", ".local", "share"), "jupyter")
    # As jupyter_core does, a prefix's directory that is also a system one keeps the system's place.
    env = [d for d in image_kernel_dirs(prefixes) if os.path.normpath(d) not in SYSTEM_KERNEL_DIRS]
    dirs += [os.path.join(data_dir, "kernels"), *env, *SYSTEM_KERNEL_DIRS]
    return list(dict.fromkeys(os.path.normpath(d) for d in dirs))


def resolve_argv0(cmd: list[str], spec_argv0: str | None, path: str | None) -> list[str]:
    """Undo jupyter_client's swap of a bare ``python``/``python3`` argv[0] for its own interpreter
    (here, the bundle's): run the name the kernelspec gives, as found on the image's PATH."""
    if cmd and spec_argv0 and cmd[0] == sys.executable and spec_argv0 != sys.executable and "/" not in spec_argv0:
        return [shutil.which(spec_argv0, path=path) or spec_argv0, *cmd[1:]]
    return cmd


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
        return kernel_dirs(IMAGE_PREFIXES)

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


def kernels_as_the_image_defines_them() -> None:
    """argv[0] as the image's PATH finds it, and 404 for an unknown kernel name."""
    import tornado.web
    from jupyter_client.manager import KernelManager
    from kernel_gateway.services.kernels import handlers

    format_kernel_cmd = KernelManager.format_kernel_cmd

    def format_with_image_python(self, extra_arguments=None):
        argv = self.kernel_spec.argv if self.kernel_spec else []
        return resolve_argv0(format_kernel_cmd(self, extra_arguments), argv[0] if argv else None, os.environ.get("PATH"))

    KernelManager.format_kernel_cmd = format_with_image_python

    post = handlers.MainKernelHandler.post

    async def post_or_404(self):
        try:
            return await post(self)
        except NoSuchKernel as exc:
            raise tornado.web.HTTPError(404, f"No such kernel: {exc.name}; GET /api/kernelspecs lists the image's kernels") from None

    handlers.MainKernelHandler.post = post_or_404


#: How long a kernel start waits for the kernel's first kernel_info reply before answering.
START_CHECK_SECONDS = 20.0


async def died_at_start(kernel) -> int | None:
    """The exit code of a kernel that died before answering kernel_info (None: it answers, or is
    still starting after START_CHECK_SECONDS, which a slow kernel may be)."""
    client = kernel.client()
    client.session = type(client.session)(config=kernel.session.config, key=kernel.session.key)
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=START_CHECK_SECONDS)
        return None
    except RuntimeError as exc:
        if "died" not in str(exc):
            return None
        code = await kernel.provisioner.poll() if kernel.provisioner is not None else None
        return -1 if code is None else code
    finally:
        client.stop_channels()


def kernels_that_die_are_errors() -> None:
    """A kernel that dies at start fails its start request (500, with its exit code) instead
    of being listed, restarted five times and leaving the user's websocket to fail later.
    Its output is in the app's log, where the kernel's stderr goes."""
    import tornado.web
    from kernel_gateway.services.kernels.manager import SeedingMappingKernelManager

    start_kernel = SeedingMappingKernelManager.start_kernel

    async def start_and_check(self, *args, **kwargs):
        kernel_id = await start_kernel(self, *args, **kwargs)
        kernel = self.get_kernel(kernel_id)
        code = await died_at_start(kernel)
        if code is None:
            return kernel_id
        name = kernel.kernel_name
        argv = " ".join(kernel.kernel_spec.argv) if kernel.kernel_spec else "?"
        print(f"byoi kernel gateway: kernel {name!r} ({argv}) exited at start with code {code}", file=sys.stderr, flush=True)
        try:
            await self.shutdown_kernel(kernel_id, now=True)
        except Exception:  # noqa: BLE001 - already gone is fine
            pass
        raise tornado.web.HTTPError(
            500, f"Kernel {name!r} exited at start with code {code}; its output is in the app's log. It runs: {argv}")

    SeedingMappingKernelManager.start_kernel = start_and_check


def kernel_messages_without_delay() -> None:
    """Keep TCP_NODELAY on kernel websockets. Tornado turns Nagle's algorithm back on when it
    finishes the HTTP upgrade, so the second message of every reply (a reply, then the idle
    status) would wait for the client's delayed ACK, about 40 ms (benchmarks/kernel_round_trip.py)."""
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    open_channels = KernelWebsocketHandler.open

    async def open_without_delay(self, *args, **kwargs):
        self.set_nodelay(True)  # open() runs after the upgrade's finish(), so this one stays
        return await open_channels(self, *args, **kwargs)

    KernelWebsocketHandler.open = open_without_delay


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
    IMAGE_PREFIXES[:] = image_prefixes()
    ensure_runtime_dir()
    kernels_as_the_image_defines_them()
    kernels_that_die_are_errors()
    kernel_messages_without_delay()
    from kernel_gateway.gatewayapp import KernelGatewayApp

    args = [
        "--KernelGatewayApp.ip=0.0.0.0",
        "--KernelGatewayApp.port=8888",
        "--KernelGatewayApp.kernel_spec_manager_class=byoi_kgw.StudioKernelSpecManager",
        # Studio's Jupyter server lists a KernelGateway app's running kernels; byoi's gateway authenticates.
        "--JupyterWebsocketPersonality.list_kernels=True",
        *(sys.argv[1:] if argv is None else argv),
    ]
    # A start request's env adds to the image's environment (everything the gateway has: it
    # runs isolated from it, and sets none of its own), it does not replace it.
    KernelGatewayApp.launch_instance(argv=args, env_process_whitelist=sorted(os.environ))

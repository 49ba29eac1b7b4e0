"""byoi's kernel gateway launcher (run inside apps), rule by rule, without a container."""

import sys

import pytest

from byoi.auth.tokens import token_digest
from byoi.runtime.kgw.byoi_kgw import image_prefixes, kernel_dirs, load_token_digests, resolve_argv0, token_accepted


def test_kernelspecs_are_looked_up_in_jupyters_own_order_never_in_the_bundle():
    environ = {"HOME": "/home/sagemaker-user", "JUPYTER_PATH": "/extra/jupyter"}
    assert kernel_dirs(["/opt/conda", "/usr"], environ) == [
        "/extra/jupyter/kernels",
        "/home/sagemaker-user/.local/share/jupyter/kernels",
        "/opt/conda/share/jupyter/kernels",
        # Debian's Python has prefix /usr, but /usr/share is a system directory: as in jupyter_core,
        # it keeps its place after /usr/local/share (so an `ir` in /usr/local wins, as
        # `jupyter kernelspec list` in the image shows).
        "/usr/local/share/jupyter/kernels",
        "/usr/share/jupyter/kernels",
    ]
    assert not any(d.startswith("/opt/.sagemakerinternal") for d in kernel_dirs([], {}))


def test_the_images_prefixes_are_what_its_own_pythons_report_on_its_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, prefix in (("python3", "/opt/conda"), ("python", "/opt/conda")):
        (bin_dir / name).write_text(f"#!/bin/sh\necho {prefix}\n")
        (bin_dir / name).chmod(0o755)
    assert image_prefixes({"PATH": str(bin_dir)}) == ["/opt/conda"]
    assert image_prefixes({"PATH": str(tmp_path / "nothing-here")}) == []


@pytest.mark.parametrize("spec_argv0, expected", [
    ("python3", "/usr/bin/python3"),  # as the image's PATH finds it, not the bundle's interpreter
    ("python", "python"),  # not on PATH: left as written, so the kernel fails with "No such file"
    ("/opt/venv/bin/python", sys.executable),  # an absolute path is jupyter_client's business
])
def test_a_bare_python_argv0_runs_the_images_python(spec_argv0, expected, tmp_path):
    bin_dir = tmp_path / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3").write_text("#!/bin/sh\n")
    (bin_dir / "python3").chmod(0o755)
    cmd = resolve_argv0([sys.executable, "-m", "ipykernel_launcher"], spec_argv0, str(bin_dir))
    assert cmd[0] == (str(bin_dir / "python3") if expected == "/usr/bin/python3" else expected)
    assert cmd[1:] == ["-m", "ipykernel_launcher"]


def test_only_a_token_whose_digest_byoi_wrote_opens_the_gateway(tmp_path):
    tokens = tmp_path / "gateway-tokens"
    tokens.write_text(token_digest("app-token") + "\n" + token_digest("owner-token") + "\n")
    digests = load_token_digests(str(tokens))
    assert token_accepted("token app-token", digests) and token_accepted("Token owner-token", digests)
    for header in ("", "token ", "token wrong", "Bearer app-token", "app-token", "token " + token_digest("app-token")):
        assert not token_accepted(header, digests), header


@pytest.mark.parametrize("content", [None, "", "not a digest\n"])
def test_the_gateway_refuses_to_start_without_token_digests(tmp_path, content):
    tokens = tmp_path / "gateway-tokens"
    if content is not None:
        tokens.write_text(content)
    with pytest.raises(SystemExit, match="refusing to serve without authentication"):
        load_token_digests(str(tokens))

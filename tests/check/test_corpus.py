"""``byoi check`` on a corpus of images: each produces exactly its expected findings."""

import json
import os
import subprocess
import sys

import pytest

from byoi.check.runner import run_check

pytestmark = pytest.mark.docker

KG = {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {}}}
JL = {"JupyterLabAppImageConfig": {"FileSystemConfig": {}}}
CE = {"CodeEditorAppImageConfig": {}}

CORPUS = [
    # (case, image, AppImageConfig, expected finding codes)
    ("good kernel gateway", "sample", KG, []),
    ("good JupyterLab", "jupyterlab", JL, []),
    ("good Code Editor", "codeeditor", CE, []),
    ("good Code Editor with a real editor (code-server behind /codeeditor/default)", "code-server", CE, []),
    ("Code Editor answering only below its base path", "codeeditor-below", CE, []),
    ("good root image", "root", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"MountPath": "/root", "DefaultUid": 0, "DefaultGid": 0}}}, []),
    ("good image on an older C library (Debian 11, glibc 2.31)", "bullseye", KG, []),
    ("good venv kernel (pip install ipykernel only; argv[0] a bare python)", "venv", KG, []),
    ("good R kernel (Debian's IRkernel; no Python at all)", "r-kernel", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "ir"}]}}, []),
    ("good image without a shell", "no-shell", KG, []),
    ("good conda kernel", "conda", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "conda-env-r-py"}]}}, []),
    ("kernel not in the image", "sample", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "ir"}]}}, ["kernel-missing"]),
    ("no kernel at all, wrong user", "broken", KG, ["image-user-mismatch", "kernel-missing"]),
    # A bare "python3" runs as the image's PATH finds it, as Jupyter in the image would run it.
    ("kernel argv a bare name on PATH", "kernel-relative", KG, []),
    ("kernel argv not present", "kernel-absent-binary", KG, ["kernel-failed", "kernel-argv-missing"]),
    ("kernel that dies at start", "kernel-dies", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "dies"}]}}, ["kernel-failed"]),
    ("image user is not DefaultUid", "wrong-user", KG, ["image-user-mismatch"]),
    ("uid/gid pair Studio cannot run", "sample", {"KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"DefaultUid": 1001}}}, ["uid-gid-unsupported", "image-user-mismatch"]),
    ("file owned above 65535", "high-owner", KG, ["file-owner-out-of-range"]),
    ("files hidden by the home", "home-files", KG, ["files-under-mount-path"]),
    ("files in /opt/ml", "opt-ml", KG, ["files-under-reserved-dir"]),
    ("JupyterLab without jupyter-lab", "sample", JL, ["app-not-serving"]),
    ("Code Editor without a server", "sample", CE, ["app-not-serving"]),
    ("invalid AppImageConfig", "sample", {"AppImageConfigName": "bad name", **KG}, ["config-invalid"]),
    ("config without the app's mode", "sample", CE, ["config-missing-mode"]),
]


@pytest.fixture(scope="module")
def docker_client(test_images):
    import docker

    return docker.from_env()


@pytest.mark.parametrize("case, image, config, expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus(docker_client, test_images, gateway_bundle, tmp_path, case, image, config, expected):
    app_type = "KernelGateway" if case == "config without the app's mode" else None
    report = run_check(docker_client, test_images[image], config, app_type, bundle=lambda: gateway_bundle, workdir=tmp_path, timeout=20)
    assert [f.code for f in report.findings] == expected, [(f.code, f.message, f.evidence[:300]) for f in report.findings]
    assert report.ok is not any(f.severity == "error" for f in report.findings)
    for finding in report.findings:
        assert finding.message and finding.fix, finding


def test_missing_image(docker_client, tmp_path, gateway_bundle):
    report = run_check(docker_client, "byoi-test/never-built:1", KG, None, bundle=lambda: gateway_bundle, workdir=tmp_path)
    assert [f.code for f in report.findings] == ["image-not-found"]


def byoi_check(*args, env=None):
    return subprocess.run([sys.executable, "-m", "byoi", "check", *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_cli_json_and_exit_status(test_images, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"AppImageConfigName": "c", "KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "ir"}]}}))
    env = {"BYOI_DATA_DIR": str(tmp_path / "data")}
    bad = byoi_check(test_images["sample"], "--app-image-config", str(config), "--json", env=env)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False and [f["code"] for f in report["findings"]] == ["kernel-missing"]
    assert report["findings"][0]["evidence"] == "The image provides: python3"
    good = byoi_check(test_images["sample"], "--no-live", env=env)
    assert good.returncode == 0 and "passes every check" in good.stdout
    missing = byoi_check(test_images["sample"], "--app-image-config", str(tmp_path / "nope.json"))
    assert missing.returncode == 2


def test_cli_reads_the_config_from_a_sagemaker_endpoint(server, test_images, tmp_path):
    sm = server.client()
    sm.create_app_image_config(AppImageConfigName="check-me", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "julia-1.9"}]})
    result = byoi_check(test_images["sample"], "--app-image-config-name", "check-me", "--endpoint-url", server.url, "--no-live", "--json", env={"BYOI_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["kernel-missing"]

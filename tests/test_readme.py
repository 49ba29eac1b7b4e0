"""The README's examples work as written (only the endpoint's port differs)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_boto3_example_runs(fresh_server):
    srv = fresh_server()
    (code,) = blocks("python")
    code = code.replace("http://127.0.0.1:8080", srv.url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "image-version/my-image/1 CREATED" in result.stdout
    assert "'MountPath': '/home/sagemaker-user'" in result.stdout


def test_the_aws_cli_example_runs(fresh_server, tmp_path):
    srv = fresh_server()
    (cli_block,) = [block for block in blocks("bash") if "aws sagemaker" in block]
    script = cli_block.replace("http://127.0.0.1:8080", srv.url)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "AWS_CONFIG_FILE": str(tmp_path / "c"), "AWS_PAGER": ""}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"AppImageConfigName": "cli-config"') == 2


def test_the_readme_names_the_commands_ci_runs():
    run_cmd, test_cmd = blocks("bash")[:2]
    assert "byoi serve" in run_cmd
    assert test_cmd.strip() == "bash scripts/test.sh"
    assert "scripts/test.sh" in (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_the_cloud_control_example_runs(fresh_server):
    srv = fresh_server()
    (code,) = blocks("python", (ROOT / "docs" / "cloud-control.md").read_text())
    result = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:8080", srv.url)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"ImageDescription": "made by Cloud Control"' in result.stdout

"""Docs that must stay true: every setting documented, and only real ones; README's example image."""

import re
from pathlib import Path

from byoi.settings import Settings

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "configuration.md").read_text()


def test_every_setting_is_documented():
    documented = set(re.findall(r"`BYOI_([A-Z_]+)`", DOC))
    declared = {name.upper() for name in Settings.model_fields}
    assert documented == declared


def test_readmes_example_jupyterlab_image_runs_as_the_tested_one_does():
    """README builds examples/jupyterlab (from Docker Hub); the tests build tests/images/jupyterlab
    offline. Both must run JupyterLab the same way: same user, working directory and command."""
    def run_lines(path):
        text = (ROOT / path).read_text().replace("\\\n", " ")
        return [" ".join(line.split()) for line in text.splitlines() if line.startswith(("USER", "WORKDIR", "CMD"))]

    assert run_lines("examples/jupyterlab/Dockerfile") == run_lines("tests/images/jupyterlab/Dockerfile")

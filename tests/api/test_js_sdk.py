"""byoi through the AWS SDK for JavaScript v3: the node test files in tests/js, run against a byoi server.

``scripts/test.sh`` installs their packages (``npm ci`` in tests/js, from the
lockfile); without them this test fails and says how to install them.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

JS_DIR = Path(__file__).parent.parent / "js"


def test_the_js_sdk_test_suite_passes(server):
    node = shutil.which("node")
    assert node, "node is not installed (scripts/test.sh installs it)"
    assert (JS_DIR / "node_modules" / "@aws-sdk" / "client-sagemaker").is_dir(), (
        "the JS SDK is not installed: run `npm ci --prefix tests/js` (scripts/test.sh does)"
    )
    files = sorted(str(p.name) for p in JS_DIR.glob("*.test.mjs"))
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", *files],
        cwd=JS_DIR,
        # (BYOI_DATA_DIR: the CloudWatch Logs suite writes app log streams there, as the log shipper does)
        env={**os.environ, "BYOI_ENDPOINT": server.url, "BYOI_DATA_DIR": str(server.data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    counts = dict(re.findall(r"^ℹ (tests|pass|fail) (\d+)$", result.stdout, re.MULTILINE))
    assert counts.get("fail") == "0" and int(counts.get("pass", 0)) >= len(files), result.stdout
    assert counts["pass"] == counts["tests"], result.stdout

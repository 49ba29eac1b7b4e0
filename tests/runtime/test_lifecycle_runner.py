"""byoi_lifecycle, the runner byoi puts in front of an app's command when a lifecycle config is attached.

Run here on the test's own Python, as it runs in a container on the bundle's.
"""

import subprocess
import sys
import time
import uuid

from byoi.runtime.kgw import bundle

RUNNER = bundle.HERE / "byoi_lifecycle.py"
NONCE = "n0nce"


def run(tmp_path, script: str, timeout: float = 30, command=("/bin/echo", "the app runs")):
    path = tmp_path / "on-start.sh"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, "-I", str(RUNNER), str(path), str(timeout), NONCE, "--", *command],
        capture_output=True, text=True, timeout=60,
    )


def test_a_script_that_succeeds_runs_between_the_markers_and_then_the_app_runs(tmp_path):
    result = run(tmp_path, "echo hello from the script\necho to stderr >&2\n")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"byoi-lifecycle {NONCE} start",
        "hello from the script",
        "to stderr",
        f"byoi-lifecycle {NONCE} end exit 0",
        "the app runs",
    ]


def test_a_failing_script_stops_the_app_from_starting(tmp_path):
    result = run(tmp_path, "echo about to fail\nexit 3\n")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == f"byoi-lifecycle {NONCE} end exit 3"
    assert "the app runs" not in result.stdout


def test_a_script_over_its_time_limit_is_killed_with_what_it_started(tmp_path):
    background = f"sleep 59.{uuid.uuid4().int % 10**6}"  # a command line no other process has
    result = run(tmp_path, f"{background} &\nsleep 60\n", timeout=0.5)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == f"byoi-lifecycle {NONCE} end timeout"
    # The background job was in the script's session, so it was killed with the script.
    assert gone(background)


def gone(command_line: str) -> bool:
    """Whether no process runs ``command_line`` (SIGKILL is delivered at once; allow the kernel a moment)."""
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-f", f"^{command_line}$"], capture_output=True).returncode == 0:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_missing_app_command_is_reported(tmp_path):
    result = run(tmp_path, "true\n", command=("/no/such/server",))
    assert result.returncode == 127
    assert "cannot start the app's command '/no/such/server'" in result.stderr


def test_bad_usage_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-I", str(RUNNER), "only-a-script"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage" in result.stderr

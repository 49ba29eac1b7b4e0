"""Runs a Studio lifecycle configuration script in an app's container, then the app itself.

Like ``byoi_kgw`` it runs *inside* app containers, on the Python byoi mounts at
/opt/.sagemakerinternal (standard library only), so it needs nothing of the
image but the ``/bin/bash`` the script runs in (Studio runs lifecycle scripts
with bash too)::

    python -m byoi_lifecycle SCRIPT TIMEOUT NONCE -- COMMAND [ARG...]

1. prints ``byoi-lifecycle <NONCE> start``, runs ``/bin/bash SCRIPT`` with its
   output and errors on this process's stdout, in a session of its own, and
   kills that whole session once TIMEOUT seconds have passed (Studio's limit is
   5 minutes);
2. prints ``byoi-lifecycle <NONCE> end exit <code>``, or ``end timeout``, or
   ``end error <why>`` when bash could not run;
3. on success replaces itself with COMMAND (``execvp``: the app's server becomes
   the container's main process and gets its signals); on failure exits 1, so
   the app fails.

byoi reads the markers from the container's log: the lines between them form
the ``.../LifecycleConfigOnStart`` log stream and the end marker says why an
app failed. NONCE is chosen per start and appears only in this process's
arguments, which ``execvp`` replaces, so the app's own output cannot forge it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SHELL = "/bin/bash"


def marker(nonce: str, what: str) -> str:
    return f"byoi-lifecycle {nonce} {what}"


def run_script(script: str, timeout: float, nonce: str) -> bool:
    """Run the script; whether it succeeded. Prints the markers around its output."""
    print(marker(nonce, "start"), flush=True)
    try:
        child = subprocess.Popen([SHELL, script], stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        print(marker(nonce, f"end error cannot run {SHELL}: {exc.strerror}"), flush=True)
        return False
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        print(marker(nonce, "end timeout"), flush=True)
        return False
    try:
        os.killpg(child.pid, signal.SIGKILL)  # what the script left running in the background goes with it
    except ProcessLookupError:
        pass
    print(marker(nonce, f"end exit {code}"), flush=True)
    return code == 0


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: python -m byoi_lifecycle SCRIPT TIMEOUT NONCE -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    script, timeout, nonce, command = argv[0], float(argv[1]), argv[2], argv[4:]
    if not run_script(script, timeout, nonce):
        return 1
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"byoi: cannot start the app's command {command[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

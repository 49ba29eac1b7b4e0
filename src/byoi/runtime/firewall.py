"""Keep app containers from reaching services on the Docker host itself.

Apps live on Docker bridge networks whose host-side interfaces are all named
``byoi`` + 10 hex digits (Docker's ``com.docker.network.bridge.name``). Docker
keeps those networks apart from each other (FORWARD), but a packet from a
container to one of the host's own addresses is delivered locally and passes
only the INPUT chain, which Docker leaves alone: without this module an app
could reach anything listening on the host (byoi's own port, a database,
sshd, the Docker API over TCP, ...).

:func:`install` adds, for ``iptables`` and ``ip6tables`` (skipped when absent
or when the kernel has no IPv6), a chain ``BYOI-APPS`` and a jump to it from
the first rule of INPUT for packets arriving on ``byoi+`` interfaces. The chain
lets through replies to connections the host opened (so byoi still reaches
apps on port 8888, and Docker's published ports still work), and for IPv6 the
neighbour discovery that IPv6 needs to work at all; it resets every other TCP
connection (a fast "connection refused") and drops everything else.

Nothing is ever flushed or deleted: each rule is checked with ``-C`` and added
only when missing, so :func:`install` is safe to run at every start-up and
leaves every other chain (Docker's, ufw's, firewalld's) as it was. A firewall
manager that reloads its rules may remove the chain; byoi puts it back at its
next start.

Container traffic to the outside world, and Docker's embedded DNS server
(127.0.0.11, inside each container), do not pass INPUT and are not affected.
A resolver listening on the host's own addresses is not reachable from apps.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable

CHAIN = "BYOI-APPS"
#: iptables' wildcard for every app network's bridge (``byoi`` + 10 hex digits).
INTERFACES = "byoi+"
#: The rule inserted first in INPUT.
JUMP: tuple[str, ...] = ("-i", INTERFACES, "-j", CHAIN)
MODES = ("auto", "on", "off")
#: How long iptables waits for the xtables lock (iptables-legacy) before failing.
LOCK_WAIT_SECONDS = "10"


class FirewallError(RuntimeError):
    """The rules could not be installed; the message says what failed and what to do."""


def rules(ipv6: bool = False) -> list[tuple[str, ...]]:
    """The rules of ``BYOI-APPS`` in order, each as the iptables arguments after the chain's name."""
    chain: list[tuple[str, ...]] = [("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")]
    if ipv6:
        # Neighbour discovery is IPv6's ARP; conntrack does not track it, so without
        # these the host could never learn a container's link-layer address.
        chain += [
            ("-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", kind, "-j", "ACCEPT")
            for kind in ("neighbour-solicitation", "neighbour-advertisement")
        ]
    chain += [("-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"), ("-j", "DROP")]
    return chain


def commands(ipv6: bool = False) -> list[str]:
    """The same rules as shell commands, for an operator to run once as root (``ip6tables`` when ipv6)."""
    binary = "ip6tables" if ipv6 else "iptables"
    lines = [f"{binary} -N {CHAIN}"]
    lines += [f"{binary} -A {CHAIN} {shlex.join(rule)}" for rule in rules(ipv6)]
    lines.append(f"{binary} -I INPUT 1 {shlex.join(JUMP)}")
    return lines


def wanted(setting: str, is_root: bool, which: Callable[[str], str | None] = shutil.which) -> bool:
    """Whether to install the rules for ``BYOI_APP_FIREWALL``.

    ``auto``: when byoi runs as root and iptables is installed; ``on``: always
    (:func:`install` then fails loudly if it cannot); ``off``: never.
    """
    mode = setting.strip().lower()
    if mode not in MODES:
        raise ValueError(f"BYOI_APP_FIREWALL must be auto, on or off, not {setting!r}")
    if mode == "auto":
        return is_root and which("iptables") is not None
    return mode == "on"


def install(
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
    ipv6: bool | None = None,
) -> list[list[str]]:
    """Make sure the chain, its rules and the jump to it exist; add only what is missing.

    ``ipv6`` None: also ``ip6tables`` when it is installed and the kernel has IPv6.
    Returns the commands that changed something (empty when all was in place).
    Raises FirewallError when iptables is missing or a command fails.
    """
    iptables = which("iptables")
    if iptables is None:
        raise FirewallError(
            "iptables is not installed, so byoi cannot keep apps from reaching the host's own services; "
            "install it (apt-get install iptables) or set BYOI_APP_FIREWALL=off"
        )
    families = [(iptables, False)]
    ip6tables = which("ip6tables")
    if ip6tables is not None and (os.path.exists("/proc/net/if_inet6") if ipv6 is None else ipv6):
        families.append((ip6tables, True))
    changes: list[list[str]] = []
    for binary, is_v6 in families:
        changes += _install_one(run, binary, is_v6)
    return changes


def _install_one(run, binary: str, ipv6: bool) -> list[list[str]]:
    changes = []

    def call(*args: str) -> subprocess.CompletedProcess:
        argv = [binary, "-w", LOCK_WAIT_SECONDS, *args]
        try:
            return run(argv, capture_output=True, text=True)
        except OSError as error:
            raise FirewallError(f"{shlex.join(argv)} could not run: {error}") from error

    def must(result: subprocess.CompletedProcess) -> None:
        if result.returncode != 0:
            raise FirewallError(
                f"{shlex.join(result.args)} failed (exit {result.returncode}): {(result.stderr or '').strip()}. "
                "byoi needs root (CAP_NET_ADMIN) to keep apps from reaching the host's own services; run it as root, "
                "or add the rules by hand (docs/security.md) and set BYOI_APP_FIREWALL=off"
            )
        changes.append(list(result.args))

    if call("-S", CHAIN).returncode != 0:
        result = call("-N", CHAIN)
        if result.returncode == 0 or call("-S", CHAIN).returncode != 0:  # else another process made it meanwhile
            must(result)
    # The chain's rules before the jump, so INPUT never sends packets to a half-filled chain.
    # Inserting each missing rule at its own position repairs a chain that lost some.
    for position, rule in enumerate(rules(ipv6), start=1):
        if call("-C", CHAIN, *rule).returncode != 0:
            must(call("-I", CHAIN, str(position), *rule))
    if call("-C", "INPUT", *JUMP).returncode != 0:
        must(call("-I", "INPUT", "1", *JUMP))
    return changes

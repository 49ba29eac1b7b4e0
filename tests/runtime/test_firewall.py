"""The host firewall for app networks: its rules, their idempotent installation, and the real thing.

The last tests build Docker's topology by hand (a bridge named ``byoi`` + 10
hex digits, a veth pair, the container's end in its own network namespace),
install the rules with the real iptables and show that a "container" can no
longer connect to the host while the host can still connect to it.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from byoi.runtime import firewall
from byoi.runtime.firewall import CHAIN, JUMP, FirewallError, install, rules, wanted

ESTABLISHED = ("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
RESET = ("-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
DROP = ("-j", "DROP")
NDP = [
    ("-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", kind, "-j", "ACCEPT")
    for kind in ("neighbour-solicitation", "neighbour-advertisement")
]


# --- the rules -------------------------------------------------------------------------------


def test_ipv4_rules_let_replies_in_reset_tcp_and_drop_the_rest():
    assert rules() == [ESTABLISHED, RESET, DROP]


def test_ipv6_rules_also_let_neighbour_discovery_in_before_refusing():
    assert rules(ipv6=True) == [ESTABLISHED, *NDP, RESET, DROP]


def test_jump_matches_every_app_bridge():
    assert JUMP == ("-i", "byoi+", "-j", "BYOI-APPS")


def test_commands_for_operators_are_the_same_rules():
    lines = firewall.commands() + firewall.commands(ipv6=True)
    assert lines[0] == "iptables -N BYOI-APPS"
    assert [tuple(shlex.split(line)[3:]) for line in lines[1:4]] == rules()
    assert lines[4] == "iptables -I INPUT 1 -i byoi+ -j BYOI-APPS"
    assert [tuple(shlex.split(line)[3:]) for line in lines[6:-1]] == rules(ipv6=True)
    assert lines[-1].startswith("ip6tables -I INPUT 1 ")


@pytest.mark.parametrize(
    "setting, is_root, has_iptables, expected",
    [
        ("auto", True, True, True),
        ("auto", False, True, False),
        ("auto", True, False, False),
        ("AUTO", True, True, True),
        ("on", False, False, True),  # install() then says why it cannot
        ("on", True, True, True),
        ("off", True, True, False),
        (" off ", False, True, False),
    ],
)
def test_wanted(setting, is_root, has_iptables, expected):
    which = (lambda name: f"/usr/sbin/{name}") if has_iptables else (lambda name: None)
    assert wanted(setting, is_root, which=which) is expected


def test_wanted_refuses_other_settings():
    with pytest.raises(ValueError, match="BYOI_APP_FIREWALL must be auto, on or off, not 'yes'"):
        wanted("yes", True)


# --- installation against a fake iptables ------------------------------------------------------


class FakeIptables:
    """Stands in for subprocess.run: a filter table per binary that -S/-N/-C/-I read and change."""

    def __init__(self, chains: dict[str, list[tuple[str, ...]]] | None = None, fail: str | None = None):
        self.tables = {
            b: {"INPUT": [], "FORWARD": [], "OUTPUT": [], **json.loads(json.dumps(chains or {}))}
            for b in ("iptables", "ip6tables")
        }
        for table in self.tables.values():
            for chain, chain_rules in table.items():
                table[chain] = [tuple(r) for r in chain_rules]
        self.calls: list[list[str]] = []
        self.fail = fail  # an operation that fails as it would without root

    def __call__(self, argv, capture_output=False, text=False, **kwargs):
        assert capture_output and text and not kwargs.get("shell")
        self.calls.append(list(argv))
        binary = Path(argv[0]).name
        assert argv[1:3] == ["-w", firewall.LOCK_WAIT_SECONDS]
        op, chain, *rest = argv[3:]
        table = self.tables[binary]
        if op == self.fail:
            return subprocess.CompletedProcess(
                argv,
                4,
                "",
                "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n",
            )
        ok = True
        if op == "-S":
            ok = chain in table
        elif op == "-N":
            ok = chain not in table
            table.setdefault(chain, [])
        elif op == "-C":
            ok = tuple(rest) in table.get(chain, [])
        elif op == "-I":
            position, *rule = rest
            assert 1 <= int(position) <= len(table[chain]) + 1
            table[chain].insert(int(position) - 1, tuple(rule))
        else:
            raise AssertionError(f"install ran {op}: {argv}")
        return subprocess.CompletedProcess(argv, 0 if ok else 1, "", "" if ok else "iptables: Bad rule.\n")

    def ops(self) -> list[str]:
        return [call[3] for call in self.calls]


def which_all(name):
    return f"/usr/sbin/{name}"


def test_install_builds_the_chain_and_jumps_to_it_first():
    fake = FakeIptables({"INPUT": [("-i", "lo", "-j", "ACCEPT")], "DOCKER-USER": [("-j", "RETURN")]})
    changes = install(run=fake, which=which_all, ipv6=True)
    for binary, ipv6 in (("iptables", False), ("ip6tables", True)):
        table = fake.tables[binary]
        assert table[CHAIN] == rules(ipv6)
        assert table["INPUT"] == [JUMP, ("-i", "lo", "-j", "ACCEPT")]
        assert table["DOCKER-USER"] == [("-j", "RETURN")] and table["FORWARD"] == [] and table["OUTPUT"] == []
    assert len(changes) == 2 * 2 + len(rules()) + len(rules(ipv6=True))
    assert {Path(c[0]).name for c in changes} == {"iptables", "ip6tables"}


def test_install_touches_only_input_and_its_own_chain_and_never_removes_anything():
    fake = FakeIptables()
    install(run=fake, which=which_all, ipv6=True)
    assert set(fake.ops()) <= {"-S", "-N", "-C", "-I"}  # no -F, -X, -Z, -P, -D, -A, -R
    assert {call[4] for call in fake.calls} == {CHAIN, "INPUT"}
    # each rule was checked before it was added, and the chain was filled before INPUT jumped to it
    for i, call in enumerate(fake.calls):
        if call[3] == "-I":
            assert fake.calls[i - 1][3] == "-C" and fake.calls[i - 1][5:] == call[6:]
    jumps = [i for i, call in enumerate(fake.calls) if call[3:5] == ["-I", "INPUT"]]
    last_rule = max(i for i, call in enumerate(fake.calls) if call[3:5] == ["-I", CHAIN] and Path(call[0]).name == "iptables")
    assert jumps[0] > last_rule


def test_install_twice_changes_nothing_the_second_time():
    fake = FakeIptables()
    assert install(run=fake, which=which_all, ipv6=True)
    before = json.dumps(fake.tables)
    fake.calls.clear()
    assert install(run=fake, which=which_all, ipv6=True) == []
    assert json.dumps(fake.tables) == before
    assert set(fake.ops()) == {"-S", "-C"}


def test_install_repairs_a_chain_that_lost_rules_in_order():
    fake = FakeIptables({CHAIN: [DROP], "INPUT": [("-p", "tcp", "--dport", "22", "-j", "ACCEPT")]})
    install(run=fake, which=which_all, ipv6=False)
    assert fake.tables["iptables"][CHAIN] == rules()
    assert fake.tables["iptables"]["INPUT"] == [JUMP, ("-p", "tcp", "--dport", "22", "-j", "ACCEPT")]
    assert "-N" not in fake.ops()


def test_install_keeps_an_operators_extra_rules_in_the_chain():
    allow = ("-p", "tcp", "--dport", "8080", "-j", "ACCEPT")
    fake = FakeIptables({CHAIN: [allow, *rules()], "INPUT": [JUMP]})
    assert install(run=fake, which=which_all, ipv6=False) == []
    assert fake.tables["iptables"][CHAIN] == [allow, *rules()]


def test_install_skips_ip6tables_when_absent():
    fake = FakeIptables()
    install(run=fake, which=lambda name: "/usr/sbin/iptables" if name == "iptables" else None)
    assert {Path(call[0]).name for call in fake.calls} == {"iptables"}
    assert CHAIN not in fake.tables["ip6tables"]


def test_install_skips_ip6tables_when_the_kernel_has_no_ipv6():
    fake = FakeIptables()
    install(run=fake, which=which_all, ipv6=False)
    assert {Path(call[0]).name for call in fake.calls} == {"iptables"}


def test_install_without_iptables_is_a_clear_error():
    with pytest.raises(FirewallError, match="iptables is not installed.*BYOI_APP_FIREWALL=off"):
        install(run=FakeIptables(), which=lambda name: None)


@pytest.mark.parametrize("op", ["-N", "-I"])
def test_install_failure_is_a_clear_error(op):
    fake = FakeIptables({CHAIN: []} if op == "-I" else None, fail=op)
    with pytest.raises(FirewallError) as raised:
        install(run=fake, which=which_all, ipv6=False)
    message = str(raised.value)
    assert f"/usr/sbin/iptables -w 10 {op} BYOI-APPS" in message
    assert "failed (exit 4): iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied" in message
    assert "run it as root" in message and "BYOI_APP_FIREWALL=off" in message


def test_install_tolerates_a_chain_made_meanwhile_by_another_process():
    fake = FakeIptables()
    real_call = fake.__call__

    def racing(argv, **kwargs):
        if argv[3] == "-N":  # the other process wins the race
            fake.tables[Path(argv[0]).name].setdefault(CHAIN, [])
        return real_call(argv, **kwargs)

    install(run=racing, which=which_all, ipv6=False)
    assert fake.tables["iptables"][CHAIN] == rules()


def test_install_when_iptables_cannot_run_is_a_clear_error():
    def broken(argv, **kwargs):
        raise PermissionError(13, "Permission denied", argv[0])

    with pytest.raises(FirewallError, match=r"/usr/sbin/iptables -w 10 -S BYOI-APPS could not run: .*Permission denied"):
        install(run=broken, which=which_all)


# --- the real thing: iptables, and namespaces wired as Docker wires an app network ------------------
#
# The "host" is a network namespace of its own, with its own netfilter tables: the test
# installs the rules there exactly as byoi does on a host, and never touches this machine's
# own INPUT chain (nor rules another byoi on this machine relies on).
#
#   host namespace                                      app namespace ("a container")
#   bridge byoi<10 hex> 10.99.0.1, fd00:b0:1::1  <-  veth bv<hex> | bp<hex> 10.99.0.2, fd00:b0:1::2
#   xo<hex> 10.98.0.1 (not an app network)        <-  veth        | xi<hex> 10.98.0.2 in a third namespace


def _real_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to make network namespaces and change their iptables"
    for tool in ("iptables", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install -y iptables iproute2)"
    probe = f"byoi-test-probe-{secrets.token_hex(4)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"needs `ip netns` (network namespaces): {made.stderr.strip()}"
    try:
        listed = subprocess.run(
            ["ip", "netns", "exec", probe, "iptables", "-w", "10", "-S", "INPUT"], capture_output=True, text=True
        )
        if listed.returncode != 0:
            return f"iptables does not work in a network namespace here: {listed.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


SKIP_REASON = _real_skip_reason()
real = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _until(condition, timeout: float = 10):
    """Polls condition() until it returns something truthy; returns the last value."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = condition()
    return value


PROBE = """
import socket, sys
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    socket.create_connection((address, port), timeout=timeout).close(); print("connected")
except ConnectionRefusedError:
    print("refused")
except (TimeoutError, socket.timeout):
    print("timeout")
except OSError as error:
    print("error", error)
"""

LISTEN = """
import socket, sys
address, echo = sys.argv[1], sys.argv[2] == "echo"
server = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
server.bind((address, 0)); server.listen(16)
print(server.getsockname()[1], flush=True)
if echo:
    conn, _ = server.accept(); conn.sendall(conn.recv(64)); conn.close()
else:
    sys.stdin.read()  # the kernel completes handshakes into the backlog until stdin closes
"""

ECHO_CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as conn:
    conn.sendall(b"ping"); print(conn.recv(64).decode())
"""


class Namespaces:
    """The topology above; every name carries the same random suffix, so runs never collide."""

    def __init__(self, ipv6: bool):
        suffix = secrets.token_hex(5)
        self.host, self.app, self.other = (f"byoi-test-{role}-{suffix}" for role in ("host", "app", "other"))
        self.bridge = f"byoi{suffix}"
        self.ipv6 = ipv6
        self._suffix = suffix
        self._listeners: list[subprocess.Popen] = []

    def create(self):
        s = self._suffix
        for namespace in (self.host, self.app, self.other):
            sh("ip", "netns", "add", namespace)
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
        sh("ip", "-n", self.host, "link", "add", self.bridge, "type", "bridge")
        sh("ip", "-n", self.host, "link", "add", f"bv{s}", "type", "veth", "peer", "name", f"bp{s}", "netns", self.app)
        sh("ip", "-n", self.host, "link", "set", f"bv{s}", "master", self.bridge)
        sh("ip", "-n", self.host, "link", "add", f"xo{s}", "type", "veth", "peer", "name", f"xi{s}", "netns", self.other)
        for namespace, link, address in (
            (self.host, self.bridge, "10.99.0.1/30"),
            (self.app, f"bp{s}", "10.99.0.2/30"),
            (self.host, f"xo{s}", "10.98.0.1/30"),
            (self.other, f"xi{s}", "10.98.0.2/30"),
        ):
            sh("ip", "-n", namespace, "addr", "add", address, "dev", link)
        if self.ipv6:
            sh("ip", "-n", self.host, "-6", "addr", "add", "fd00:b0:1::1/64", "dev", self.bridge, "nodad")
            sh("ip", "-n", self.app, "-6", "addr", "add", "fd00:b0:1::2/64", "dev", f"bp{s}", "nodad")
        for namespace, link in (
            (self.host, self.bridge),
            (self.host, f"bv{s}"),
            (self.app, f"bp{s}"),
            (self.host, f"xo{s}"),
            (self.other, f"xi{s}"),
        ):
            sh("ip", "-n", namespace, "link", "set", link, "up")

    def destroy(self):
        for process in self._listeners:
            process.kill()
            process.wait()
        for namespace in (self.host, self.app, self.other):  # takes links, addresses and iptables rules with it
            sh("ip", "netns", "del", namespace, check=False)

    def python(self, namespace: str, code: str, *args: str) -> str:
        return sh("ip", "netns", "exec", namespace, sys.executable, "-c", code, *args).stdout.strip()

    def iptables(self, binary: str, *args: str) -> list[str]:
        return sh("ip", "netns", "exec", self.host, binary, "-w", "10", *args).stdout.splitlines()

    def install(self) -> list[list[str]]:
        """byoi.runtime.firewall.install(), run in the host namespace with the real iptables."""
        return json.loads(
            self.python(self.host, "import json; from byoi.runtime.firewall import install; print(json.dumps(install()))")
        )

    def listen(self, namespace: str, address: str, echo: bool = False) -> tuple[int, subprocess.Popen]:
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", LISTEN, address, "echo" if echo else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._listeners.append(process)
        return int(process.stdout.readline()), process  # printed once it listens

    def connect(self, namespace: str, address: str, port: int, timeout: float = 5) -> str:
        """'connected', 'refused' or 'timeout': what a process in namespace sees."""
        return self.python(namespace, PROBE, address, str(port), str(timeout))

    def forget_neighbours(self):
        """So the next IPv6 packets need neighbour discovery, through the firewall."""
        sh("ip", "-n", self.host, "neigh", "flush", "dev", self.bridge, check=False)
        sh("ip", "-n", self.app, "neigh", "flush", "dev", f"bp{self._suffix}", check=False)


def _ipv6_usable() -> bool:
    return shutil.which("ip6tables") is not None and os.path.exists("/proc/net/if_inet6")


@pytest.fixture
def namespaces():
    spaces = Namespaces(ipv6=_ipv6_usable())
    try:
        spaces.create()
        yield spaces
    finally:
        spaces.destroy()


@real
def test_real_install_refuses_connections_from_app_networks_to_the_host(namespaces):
    ns = namespaces
    families = [("10.99.0.1", "10.99.0.2")] + ([("fd00:b0:1::1", "fd00:b0:1::2")] if ns.ipv6 else [])
    binaries = ["iptables"] + (["ip6tables"] if ns.ipv6 else [])
    ports = {host: ns.listen(ns.host, host)[0] for host, _ in families}
    other_port, _ = ns.listen(ns.host, "10.98.0.1")
    for binary in binaries:  # a rule of the operator's, which must stay (and stay after the jump)
        ns.iptables(binary, "-A", "INPUT", "-p", "udp", "--dport", "9", "-j", "ACCEPT")

    # Before: a container reaches whatever listens on the host.
    for host, _ in families:
        assert _until(lambda h=host: ns.connect(ns.app, h, ports[h], timeout=2) == "connected"), f"sanity: {host} unreachable"
    assert _until(lambda: ns.connect(ns.other, "10.98.0.1", other_port, timeout=2) == "connected")

    changes = ns.install()

    assert {Path(c[0]).name for c in changes} == set(binaries)
    for binary in binaries:
        assert ns.iptables(binary, "-S", "INPUT")[1:] == [
            f"-A INPUT -i byoi+ -j {CHAIN}",
            "-A INPUT -p udp -m udp --dport 9 -j ACCEPT",
        ]
        assert len(ns.iptables(binary, "-S", CHAIN)) == 1 + len(rules(binary == "ip6tables"))
    assert ns.install() == []  # idempotent for real

    ns.forget_neighbours()
    for host, app in families:
        # After: refused at once (TCP reset), not left to time out.
        assert ns.connect(ns.app, host, ports[host]) == "refused", host
        # The host still reaches the app: its replies come back in through the chain.
        port, _ = ns.listen(ns.app, app, echo=True)
        assert ns.python(ns.host, ECHO_CLIENT, app, str(port)) == "ping", app
    # A link not named byoi* is not an app network: left alone.
    assert ns.connect(ns.other, "10.98.0.1", other_port) == "connected"

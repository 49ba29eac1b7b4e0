"""Finding the Debian mirror apt uses, in both source-list formats."""

import pytest

from byoi.images.debian import ImageBuildError, debian_mirror

DEB822 = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian_mirror(tmp_path, "bookworm") == "http://mirror.example/debian"
    assert debian_mirror(tmp_path, "trixie") == "http://mirror.example/debian"  # one archive, every release


MULTI_STANZA = """# Written by hand: a disabled local mirror first, then the real archive.
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://sources-only.example/debian
Suites: bookworm
Components: main

# the archive apt uses
Types: deb
URIs:
 http://archive.example/debian
# a comment inside a stanza
Suites: trixie bookworm
Components: main contrib
Enabled: yes
"""


def test_deb822_skips_disabled_stanzas_and_comments(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "local.sources").write_text(MULTI_STANZA)
    assert debian_mirror(tmp_path, "bookworm") == "http://archive.example/debian"
    assert debian_mirror(tmp_path, "bullseye") == "http://archive.example/debian"


def test_one_line_sources(tmp_path):
    (tmp_path / "sources.list").write_text(
        "deb http://security.example/debian-security bookworm-security main\ndeb [arch=amd64] http://archive.example/debian bookworm main contrib\n"
    )
    assert debian_mirror(tmp_path) == "http://archive.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(ImageBuildError, match="no Debian mirror"):
        debian_mirror(tmp_path)

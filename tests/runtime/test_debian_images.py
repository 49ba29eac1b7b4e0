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


def test_one_line_sources(tmp_path):
    (tmp_path / "sources.list").write_text(
        "deb http://security.example/debian-security bookworm-security main\ndeb [arch=amd64] http://archive.example/debian bookworm main contrib\n"
    )
    assert debian_mirror(tmp_path) == "http://archive.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(ImageBuildError, match="no Debian mirror"):
        debian_mirror(tmp_path)

"""byoi's state files are private: created 0600/0700 whatever the umask, tightened if looser."""

import os
import stat

from sqlalchemy import text

from byoi.store.database import Database
from byoi.store.files import private_dir, private_file, tighten


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_directories_and_files_are_private_whatever_the_umask(tmp_path, permissive_umask):
    assert mode(private_dir(tmp_path / "a" / "state")) == 0o700
    assert mode(private_file(tmp_path / "a" / "state" / "key")) == 0o600


def test_existing_ones_are_tightened_and_keep_their_contents(tmp_path):
    (tmp_path / "dir").mkdir(mode=0o755)
    os.chmod(tmp_path / "dir", 0o755)
    (tmp_path / "dir" / "key").write_bytes(b"secret")
    os.chmod(tmp_path / "dir" / "key", 0o664)
    private_dir(tmp_path / "dir")
    private_file(tmp_path / "dir" / "key")
    assert (mode(tmp_path / "dir"), mode(tmp_path / "dir" / "key")) == (0o700, 0o600)
    assert (tmp_path / "dir" / "key").read_bytes() == b"secret"


def test_tightening_removes_only_group_and_other_bits(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o775)
    assert tighten(script) is True
    assert mode(script) == 0o700


def test_a_shared_sticky_directory_is_left_alone(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    assert tighten(shared) is False
    assert mode(shared) == 0o1777
    assert "shared directory" in caplog.text


def test_a_new_sqlite_database_is_0600_with_its_wal_and_its_new_directory_0700(tmp_path, permissive_umask):
    db = Database(f"sqlite:///{tmp_path / 'new' / 'byoi.db'}")
    db.migrate()
    with db.write() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    files = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert "byoi.db-wal" in files
    assert {name: oct(mode(tmp_path / "new" / name)) for name in files} == {name: "0o600" for name in files}
    assert mode(tmp_path / "new") == 0o700
    db.dispose()


def test_an_existing_loose_sqlite_database_is_tightened_and_keeps_its_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'byoi.db'}"
    db = Database(url)
    with db.write() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (42)"))
    db.dispose()
    os.chmod(tmp_path / "byoi.db", 0o644)
    again = Database(url)
    assert mode(tmp_path / "byoi.db") == 0o600
    with again.read() as session:
        assert session.execute(text("SELECT x FROM t")).scalar() == 42
    again.dispose()

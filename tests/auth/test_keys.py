"""The credentials file, read with botocore's loader: its keys, and why it cannot be read."""

from __future__ import annotations

import pytest

from byoi.auth.keys import CredentialsFileError, KeyStore, read_credentials_file


def test_every_profile_with_a_key_and_secret_is_one_key(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\naws_access_key_id = AKIAONE\naws_secret_access_key = one\n\n"
        "# a comment\n[profile two]\naws_access_key_id=AKIATWO\naws_secret_access_key=two%\naws_session_token = tok\n\n"
        "[no-secret]\naws_access_key_id = AKIATHREE\n"
    )
    keys = read_credentials_file(path)
    assert sorted(keys) == ["AKIAONE", "AKIATWO"]
    assert keys["AKIAONE"].secret_access_key == "one" and keys["AKIAONE"].session_token is None
    assert keys["AKIATWO"].secret_access_key == "two%" and keys["AKIATWO"].session_token == "tok"


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda p: None, "No such file"),
        (lambda p: p.mkdir(), "Is a directory"),
        (lambda p: p.write_text("aws_access_key_id = AKIA\n"), "no section headers"),
        (lambda p: p.write_bytes(b"[default]\naws_access_key_id = \xff\n"), "codec can't decode"),
    ],
    ids=["missing", "directory", "no-section", "not-utf8"],
)
def test_a_file_that_cannot_be_read_says_which_and_why(tmp_path, make, why):
    path = tmp_path / "credentials"
    make(path)
    with pytest.raises(CredentialsFileError, match=f"cannot read credentials file {path}: .*{why}"):
        read_credentials_file(path)
    with pytest.raises(CredentialsFileError):
        KeyStore(None, path)


def test_a_file_that_becomes_unparseable_keeps_its_last_good_keys(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AKIAONE\naws_secret_access_key = one\n")
    store = KeyStore(None, path, refresh_seconds=0)
    path.write_text("not an ini file at all\n")
    store.reload()
    assert store.lookup("AKIAONE") is not None

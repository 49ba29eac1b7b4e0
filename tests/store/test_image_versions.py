"""The image_versions table's statements: version rows carry their image's names, aliases page by shape.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import pytest

from byoi.store.image_versions import (
    LATEST_VERSION,
    VERSION_BY_ALIAS,
    VERSION_BY_NUMBER,
    VERSIONS,
    alias_holders,
    alias_page,
    aliases_of_version,
    insert_alias,
    insert_version,
)
from byoi.store.images import IMAGE_BY_NAME, delete_image, insert_image
from byoi.store.listing import ListQuery

SCOPE = {"account_id": "123456789012", "region": "us-east-1"}


@pytest.fixture
def image_key(db):
    """An image "Img" with versions 1 (aliases b, a) and 2 (alias c)."""
    with db.raw_write() as tx:
        insert_image(tx, name="Img", name_key="img", role_arn="r", status="CREATED", created_ms=1, modified_ms=1,
                     next_version=3, **SCOPE)
        image_key = IMAGE_BY_NAME.row(tx, name_key="img", **SCOPE).id
        for number, aliases in ((1, ["b", "a"]), (2, ["c"])):
            insert_version(tx, image_id=image_key, version=number, base_image=f"repo:{number}", status="CREATED",
                           client_token=f"t{number}", created_ms=number, modified_ms=number)
            version_key = VERSION_BY_NUMBER.row(tx, image_id=image_key, version=number).id
            for alias in aliases:
                insert_alias(tx, image_id=image_key, version_id=version_key, alias=alias)
    return image_key


def test_a_version_row_carries_its_images_account_region_and_name(db, image_key):
    with db.raw_read() as tx:
        latest = LATEST_VERSION.row(tx, image_id=image_key)
        by_alias = VERSION_BY_ALIAS.row(tx, image_id=image_key, alias="a")
        listed = VERSIONS.page(tx, ListQuery("CREATION_TIME", ascending=True), image_id=image_key).items
    assert (latest.version, latest.image_name, latest.account_id, latest.region) == (2, "Img", *SCOPE.values())
    assert by_alias.version == 1
    assert [v.version for v in listed] == [1, 2]


def test_aliases_read_in_the_order_given_and_page_in_name_order(db, image_key):
    with db.raw_read() as tx:
        first = VERSION_BY_NUMBER.row(tx, image_id=image_key, version=1)
        assert aliases_of_version(tx, first.id) == ["b", "a"]
        assert [(r.alias, r.version) for r in alias_holders(tx, image_key, ["c", "x", "a"])] == [("a", 1), ("c", 2)]
        page = alias_page(tx, image_key, 2, None)
        assert (page.items, alias_page(tx, image_key, 2, page.next_token).items) == (["a", "b"], ["c"])
        assert alias_page(tx, image_key, 10, None, version_key=first.id).items == ["a", "b"]
        assert alias_page(tx, image_key, 10, None, version_key=first.id, alias="c").items == []
        assert alias_page(tx, image_key, 10, None, alias="c").items == ["c"]


def test_deleting_an_image_deletes_its_versions_and_aliases(db, image_key):
    with db.raw_write() as tx:
        delete_image(tx, image_key)
    with db.raw_read() as tx:
        assert VERSIONS.page(tx, ListQuery("CREATION_TIME"), image_id=image_key).items == []
        assert alias_page(tx, image_key, 10, None).items == []

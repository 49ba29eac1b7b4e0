"""A Listing pages, filters and resumes the same way on the driver and through the ORM."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select

from byoi.aws.errors import ValidationException
from byoi.store.database import Database
from byoi.store.listing import Listing, ListQuery, like_fragment
from byoi.store.models import AppImageConfig
from tests.conftest import fresh_database_url

CONFIGS = Listing(
    "configs",
    select(AppImageConfig).where(AppImageConfig.account_id == bindparam("account_id")),
    {"CreationTime": AppImageConfig.created_ms, "Name": AppImageConfig.name},
    AppImageConfig.id,
    created=AppImageConfig.created_ms,
    modified=AppImageConfig.modified_ms,
    name=AppImageConfig.name,
    equals={"region": lambda value: AppImageConfig.region == value},
)
def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


NAMES = ["a_b", "a%b", "axb", "a/b", "plain", "same", "same2"]


@pytest.fixture
def db(tmp_path):
    database = Database(fresh_database_url(tmp_path))
    database.migrate()
    with database.write() as session:
        for i, name in enumerate(NAMES):
            session.execute(insert(AppImageConfig).values(
                account_id="1", region="eu" if name == "plain" else "us", name=name, name_key=name,
                created_ms=1000 * (i // 2), modified_ms=5000 - i,
            ))
    yield database
    database.dispose()


def both(db, query: ListQuery, **params) -> list[list[str]]:
    """The names each page holds, page after page."""
    names, token = [], None
    while True:
        query.next_token = token
        with db.raw_read() as tx:
            page = CONFIGS.page(tx, query, account_id="1", **params)
        names.append([c.name for c in page.items])
        token = page.next_token
        if token is None:
            return names


def test_pages_resume_strictly_after_the_last_item_even_when_sort_values_repeat(db):
    pages = both(db, ListQuery(sort_by="CreationTime", ascending=True, max_results=2))
    assert pages == [["a_b", "a%b"], ["axb", "a/b"], ["plain", "same"], ["same2"]]


def test_name_contains_takes_wildcards_and_the_escape_character_literally(db):
    for fragment, expected in [("_", ["a_b"]), ("%", ["a%b"]), ("/", ["a/b"]), ("x", ["axb"]), ("same", ["same", "same2"])]:
        pages = both(db, ListQuery(sort_by="Name", ascending=True, name_contains=fragment))
        assert pages == [expected], fragment


def test_time_windows_are_inclusive_and_combine_with_the_optional_conditions(db):
    query = ListQuery(sort_by="CreationTime", ascending=True, created_after=from_ms(1000), created_before=from_ms(2000))
    assert both(db, query) == [["axb", "a/b", "plain", "same"]]
    assert both(db, query, region="us") == [["axb", "a/b", "same"]]
    assert both(db, query, region=None) == [["axb", "a/b", "plain", "same"]]  # None: condition not given


def test_a_token_is_refused_under_another_sort_or_listing(db):
    with db.raw_read() as tx:
        token = CONFIGS.page(tx, ListQuery(sort_by="Name", max_results=1), account_id="1").next_token
        with pytest.raises(ValidationException, match="different request"):
            CONFIGS.page(tx, ListQuery(sort_by="CreationTime", next_token=token), account_id="1")
        with pytest.raises(ValidationException, match="different request"):
            CONFIGS.page(tx, ListQuery(sort_by="Name", next_token=token), "other-listing", account_id="1")


def test_like_fragment_escapes_what_like_would_read_as_wildcards():
    assert like_fragment("a_b%c/d") == "%a/_b/%c//d%"

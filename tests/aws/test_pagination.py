"""NextToken values are opaque, resumable, and refused when forged or misused."""

import pytest

from byoi.aws.errors import ValidationException
from byoi.aws.pagination import Page, Paginator, decode_token, encode_token


def test_a_token_round_trips_its_key():
    token = encode_token("images:CREATION_TIME:DESCENDING", [1700000000123, 42])
    assert decode_token(token, "images:CREATION_TIME:DESCENDING", 2) == [1700000000123, 42]


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24=", "W10=", "eyJzIjoieCIsImsiOlt7fV19", "é"])
def test_garbage_tokens_are_validation_errors(token):
    with pytest.raises(ValidationException, match="Invalid pagination token"):
        decode_token(token, "x", 2)


def test_a_token_from_another_sort_is_refused():
    token = encode_token("images:CREATION_TIME:DESCENDING", [1, 2])
    with pytest.raises(ValidationException, match="different request"):
        decode_token(token, "images:IMAGE_NAME:ASCENDING", 2)


# --- the one paginator ------------------------------------------------------


def all_pages(paginator: Paginator, items: list, limit: int) -> list[list]:
    pages, token = [], None
    while True:
        page = paginator.page_of(items, limit, token)
        pages.append(page.items)
        token = page.next_token
        if token is None:
            return pages


def test_pages_of_items_in_memory_cover_each_item_once_in_order():
    by_name = Paginator("things", lambda name: (name,))
    assert all_pages(by_name, ["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert all_pages(by_name, ["a", "b"], 2) == [["a", "b"]]  # no token when nothing follows
    assert all_pages(by_name, [], 2) == [[]]


def test_a_descending_listing_resumes_below_the_last_key():
    newest_first = Paginator("events", lambda e: (e[0], e[1]), arity=2, descending=True)
    items = [(3, "b"), (3, "a"), (2, "z"), (1, "a")]
    assert all_pages(newest_first, items, 2) == [[(3, "b"), (3, "a")], [(2, "z"), (1, "a")]]


def test_a_page_resumes_after_its_key_even_when_items_came_and_went_in_between():
    by_name = Paginator("things", lambda name: (name,))
    first = by_name.page_of(["a", "b", "c", "d"], 2, None)
    # "b" (the last one seen) was deleted and "aa" (before it) created: the next page is still c, d.
    assert by_name.page_of(["a", "aa", "c", "d"], 2, first.next_token) == Page(["c", "d"], None)


def test_a_store_query_reads_one_more_than_asked_and_the_page_cuts_it():
    by_id = Paginator("tags", lambda row: (row["id"],))
    page = by_id.page([{"id": 1}, {"id": 2}, {"id": 3}], 2)
    assert page.items == [{"id": 1}, {"id": 2}]
    assert by_id.after(page.next_token) == [2]
    assert by_id.after(None) is None


def test_a_token_is_honoured_only_by_the_listing_and_sort_that_made_it():
    token = Paginator("streams:name:asc", lambda s: ("", s), arity=2).page_of(["a", "b"], 1, None).next_token
    with pytest.raises(ValidationException, match="different request"):
        Paginator("streams:time:asc", lambda s: (0, s), arity=2).page_of(["a", "b"], 1, token)
    with pytest.raises(ValidationException, match="Invalid pagination token"):
        Paginator("tags", lambda row: (row,)).after(token)  # a key of the wrong length

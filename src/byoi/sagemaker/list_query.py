"""Turning a List request's common members into a ``ListQuery``."""

from __future__ import annotations

from byoi.store.listing import ListQuery


def list_query(p: dict, default_sort: str, modified: str = "LastModifiedTime", default_order: str = "Descending") -> ListQuery:
    """The ListQuery for request ``p``.

    SageMaker's List operations default to MaxResults 10 and, for images and app
    image configs, SortOrder Descending; ListUserProfiles, ListSpaces and ListApps
    default to Ascending (``default_order``; docs/aws-behaviour.md). ``modified``
    is the prefix of the operation's last-modified filters (``LastModifiedTime``
    for images, ``ModifiedTime`` for app image configs).
    """
    return ListQuery(
        sort_by=p.get("SortBy", default_sort),
        ascending=p.get("SortOrder", default_order).upper() == "ASCENDING",
        max_results=p.get("MaxResults", 10),
        next_token=p.get("NextToken"),
        name_contains=p.get("NameContains"),
        created_after=p.get("CreationTimeAfter"),
        created_before=p.get("CreationTimeBefore"),
        modified_after=p.get(f"{modified}After"),
        modified_before=p.get(f"{modified}Before"),
    )

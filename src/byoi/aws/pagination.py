"""The one paginator: keyset pages and their opaque NextToken values.

Every List operation and every NextToken byoi answers (SageMaker's Lists, tags,
image version aliases, Cloud Control's ListResources and
ListResourceRequests, CloudWatch Logs' DescribeLogStreams and
FilterLogEvents) pages the same way:

* Items come in a total order, and each has a *key* in it (the sort value and
  a unique tie-break, say). A page is the first ``limit`` items strictly after
  the key its NextToken carries, so it resumes in the right place however
  many items were created or deleted in between (no offsets: a page's cost
  does not grow with its depth).
* A ``Paginator`` names one listing under one sort and knows its items' key.
  ``after(token)`` is where a page starts (None: the first page); a store
  query reads from there one item more than asked, and ``page(rows, limit)``
  cuts it to a ``Page`` whose token is the last item's key, if more follow.
  ``page_of(items, limit, token)`` does all of it over items already in
  memory, in key order.
* A token records the key and the listing's name, so one that was altered,
  or is replayed for another listing or sort, is a ``ValidationException``,
  as AWS answers for a bad NextToken.

(GetLogEvents' ``f/N``/``b/N`` forward and backward tokens are CloudWatch's own
format, not a NextToken; ``byoi.cloudwatch_logs`` keeps them.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from byoi.aws import json_depth
from byoi.aws.errors import ValidationException


def encode_token(sort: str, last_key: list[Any]) -> str:
    """A NextToken that resumes after ``last_key`` under the sort named ``sort``."""
    raw = json.dumps({"s": sort, "k": last_key}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


def decode_token(token: str, sort: str, arity: int) -> list[Any]:
    """The key a token resumes after; ValidationException unless it was made for ``sort``."""
    try:
        data = json_depth.loads(base64.b64decode(token.encode("ascii"), validate=True))  # (never a RecursionError)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ValidationException("Invalid pagination token: NextToken was not issued by this service") from None
    key = data.get("k") if isinstance(data, dict) else None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, (str, int)) for k in key):
        raise ValidationException("Invalid pagination token: NextToken was not issued by this service")
    if data.get("s") != sort:
        raise ValidationException("Invalid pagination token: it was issued for a different request")
    return key


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


class Paginator(Generic[T]):
    """Pages of one listing under one sort; see the module docstring.

    ``name`` goes into its tokens (e.g. ``"images:CREATION_TIME:desc"``); ``key``
    gives an item's key, ``arity`` strings and integers, unique per item;
    ``descending``: items come in decreasing key order.
    """

    def __init__(self, name: str, key: Callable[[T], Sequence[str | int]], arity: int = 1, descending: bool = False):
        self.name = name
        #: An item's key (also the sort key for listings sorted in memory).
        self.key = key
        self._arity = arity
        self._descending = descending

    def after(self, token: str | None) -> list[Any] | None:
        """The key a page resumes after, or None for the first page."""
        return decode_token(token, self.name, self._arity) if token else None

    def page(self, rows: list[T], limit: int) -> Page[T]:
        """The page of ``rows``: items read from ``after()`` on, up to one more than ``limit``."""
        if len(rows) <= limit:
            return Page(rows, None)
        rows = rows[:limit]
        return Page(rows, encode_token(self.name, list(self.key(rows[-1]))))

    def page_of(self, items: Iterable[T], limit: int, token: str | None) -> Page[T]:
        """One page of ``items``, all of them in key order (for listings held in memory)."""
        items = list(items)
        after = self.after(token)
        if after is not None:
            start = tuple(after)
            items = [i for i in items if (tuple(self.key(i)) < start if self._descending else tuple(self.key(i)) > start)]
        return self.page(items[: limit + 1], limit)

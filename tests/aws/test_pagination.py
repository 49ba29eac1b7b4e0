"""NextToken values are opaque, resumable, and refused when forged or misused."""

import pytest

from byoi.aws.errors import ValidationException
from byoi.aws.pagination import decode_token, encode_token


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

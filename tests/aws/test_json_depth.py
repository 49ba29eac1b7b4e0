"""The nesting check that keeps json's RecursionError (a 500) away from request bodies."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoi.aws.json_depth import MAX_DEPTH, TooDeep, check_depth, loads, nesting_depth


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


tricky_text = st.text(st.sampled_from(['[', ']', '{', '}', '"', '\\', 'a', 'é', '\n']), max_size=8)
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=60,
)


@settings(max_examples=500, deadline=None)
@given(documents, st.booleans(), st.booleans())
def test_the_depth_is_the_parsed_documents_depth_whatever_its_strings_hold(document, ascii_only, indent):
    text = json.dumps(document, ensure_ascii=ascii_only, indent=1 if indent else None)
    assert nesting_depth(text) == depth_of(document)
    assert nesting_depth(text.encode()) == depth_of(document)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 1_000_000])
def test_deeper_than_the_limit_is_too_deep_and_never_a_recursion_error(depth):
    with pytest.raises(TooDeep) as excinfo:
        loads(b"[" * depth + b"]" * depth)
    assert str(excinfo.value) == "JSON arrays and objects nested more than 100 levels deep (at most 100 are accepted)"


def test_the_limit_itself_is_parsed():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) == json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)


def test_many_brackets_side_by_side_are_not_nesting():
    check_depth(json.dumps([{"k": [1]} for _ in range(10_000)]))
    check_depth(json.dumps({"s": "[[[[" * 1_000}))


def test_counting_stops_once_past_the_limit():
    assert nesting_depth(b"[" * 1_000_000, stop_above=100) < 1_000_000
    assert nesting_depth(b"[" * 1_000_000) == 1_000_000


def test_an_unclosed_document_is_too_deep_or_not_json_never_a_500():
    for text in [b"[" * 500, b'["' + b"[" * 500, b"{" * 200 + b"]" * 200]:
        with pytest.raises(ValueError):
            loads(text)

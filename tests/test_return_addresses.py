"""Ids and return addresses from the outside world: strict, bounded, and never another site."""

from __future__ import annotations

import pytest
from quart import Quart

from app.web.addresses import return_address
from app.web.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        ("007", 7),
        (None, None),
        ("", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1 ", None),
        ("1_000", None),
        ("١", None),
        ("１", None),
        ("²", None),
        (str(MAX_ID + 1), None),
        ("1" * 20, None),
        ("1" * 5000, None),
        ("0x10", None),
        ("1e3", None),
    ],
)
def test_an_id_is_ascii_digits_of_bounded_length(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/c/12", "/c/12"),
        ("/list?q=tea&status=done", "/list?q=tea&status=done"),
        ("/list?q=th%C3%A9", "/list?q=th%C3%A9"),
        ("/list?q=thé", "/list?q=th%C3%A9"),
        ("http://localhost/conversations?before_id=3", "/conversations?before_id=3"),
        ("https://app.example/c/1#answer-2", "/c/1"),
        (None, None),
        ("", None),
        ("list", None),
        ("c/1", None),
        ("//evil.example/", None),
        ("///evil.example", None),
        ("/\\evil.example", None),
        ("\\\\evil.example", None),
        ("/list\\..\\evil", None),
        ("https://evil.example//evil.example/x", None),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("mailto:a@b", None),
        ("/list\r\nSet-Cookie: x=1", None),
        ("/list\nx", None),
        ("/\t/evil.example", None),
        ("/list\x00", None),
        ("/list\x7f", None),
        ("/list\x85", None),
        (" /list", None),
        ("http://[::1", None),
        ("/" + "a" * 5000, None),
    ],
)
def test_a_return_address_is_a_path_on_this_site_or_nothing(target, expected):
    assert return_address(target) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/list", "/list"),
        ("/list?q=x", "/list?q=x"),
        ("/list/exchanges/1", "/list/exchanges/1"),
        ("/listing", None),
        ("/", None),
        ("/c/1", None),
        ("http://localhost/list?before=9", "/list?before=9"),
    ],
)
def test_a_return_address_can_be_kept_under_one_page(target, expected):
    assert return_address(target, within="/list") == expected


def test_return_addresses_are_plain_ascii_fit_for_a_location_header():
    app = Quart(__name__)
    for target in ("/c/١", "/list?q=日本語 \u3000x", "/list?q=%0d%0a"):
        address = return_address(target)
        assert address is not None and address.isascii() and address.isprintable() and " " not in address
        app.response_class("", 303, {"Location": address})

"""Reading untrusted URLs: total functions (any text, no exception) that never leave the site."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic import untrusted_urls

URLISH = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["http://[::1", "//[x", "http://[", "http://x:99999/", "http://x:a/", "/\\x"]),
    st.builds(lambda a, b: f"{a}://{b}", st.sampled_from(["http", "https", ""]), st.text()),
)


@given(value=URLISH, host=st.text(max_size=40))
def test_every_reader_answers_for_any_text(value, host):
    untrusted_urls.split(value)
    untrusted_urls.path_only(value)
    untrusted_urls.path_on(value, host)
    target = untrusted_urls.local_path(value, default="/admin/")
    assert target.startswith("/") and not target.startswith(("//", "/\\"))
    assert untrusted_urls.split(target).netloc == ""


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("/admin/leads?q=a", True),
        ("/articles/x", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("http://[::1", False),
        ("/a b", False),
        ("/a\x00b", False),
        ("", False),
    ],
)
def test_local_paths(value, local):
    assert untrusted_urls.is_local_path(value) is local


def test_the_path_of_a_referrer_on_this_host_only():
    on = untrusted_urls.path_on
    assert on("https://www.example.test/articles/a?x=1", "www.example.test") == "/articles/a"
    assert on("https://evil.example/articles/a", "www.example.test") is None
    assert on("http://[::1", "www.example.test") is None
    assert on("javascript://www.example.test/x", "www.example.test") is None

"""Small helpers for reading pages the way a crawler or a browser would."""

import json

from bs4 import BeautifulSoup


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def json_ld(response) -> list[dict]:
    """Parse every JSON-LD block on a page."""
    blocks = soup(response).find_all("script", type="application/ld+json")
    return [json.loads(block.string) for block in blocks]


def of_type(blocks: list[dict], type_name: str) -> dict:
    matches = [b for b in blocks if b.get("@type") == type_name]
    assert len(matches) == 1, f"expected one {type_name}, found {len(matches)}"
    return matches[0]

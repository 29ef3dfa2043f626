"""Every public page, and the 404 page, is valid HTML for the Nu HTML Checker (vnu)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_content import PUBLIC_PATHS

VNU_JAR = (
    Path(__file__).resolve().parent / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
)
NOT_FOUND_PATH = "/nowhere-to-be-found"
SETUP_HINT = "run `bash tests/setup-tools.sh` (it installs the pinned vnu-jar; Java 17 is needed)"


def file_name(path: str) -> str:
    return (path.strip("/").replace("/", "__") or "home") + ".html"


def render_pages(client, folder: Path) -> dict[Path, str]:
    """Save each page as a file for vnu (it refuses http://127.0.0.1 URLs)."""
    files = {}
    for path in [*PUBLIC_PATHS, NOT_FOUND_PATH]:
        response = client.get(path)
        assert response.status_code == (404 if path == NOT_FOUND_PATH else 200), path
        target = folder / file_name(path)
        target.write_bytes(response.get_data())
        files[target] = path
    return files


def run_vnu(files: list[Path]) -> list[dict]:
    java = shutil.which("java")
    if not java or not VNU_JAR.is_file():
        pytest.fail(
            f"vnu cannot run (java: {java}, jar: {VNU_JAR.is_file()}): {SETUP_HINT}", pytrace=False
        )
    command = [java, "-jar", str(VNU_JAR), "--format", "json", "--errors-only", "--stdout"]
    result = subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), f"vnu failed to run: {result.stderr or result.stdout}"
    return json.loads(result.stdout)["messages"]


def test_public_pages_are_valid_html(demo, client, tmp_path):
    files = render_pages(client, tmp_path)
    messages = run_vnu(list(files))
    paths = {file.name: path for file, path in files.items()}
    problems = [
        f"{paths.get(Path(m.get('url', '')).name, m.get('url'))}:{m.get('lastLine', '?')}: "
        f"{m['type']}: {m['message']} [{m.get('extract', '').strip()}]"
        for m in messages
    ]
    assert not problems, f"{len(problems)} vnu error(s):\n" + "\n".join(problems)


def test_booking_pages_in_each_state_are_valid_html(demo, client, tmp_path):
    """The booking journey's pages as a patient meets them: errors, a taken time with the
    next ones offered, the confirmation, the manage page, the cancel question, cancelled."""
    from tests.booking_helpers import booking_data, first_free_slot, form_fields
    from tests.helpers import soup

    pages: dict[str, bytes] = {}
    pages["book-errors"] = client.post("/book", data={**form_fields(client), "action": "book"}).data
    slot = first_free_slot(client, days_ahead=2)
    confirmation = client.post("/book", data=booking_data(client, slot=slot)).headers["Location"]
    other = demo.test_client()
    pages["book-taken"] = other.post(
        "/book", data=booking_data(other, slot=slot, email="grace@example.com")
    ).data
    pages["confirmed"] = client.get(confirmation).data
    manage = soup(client.get(confirmation)).select_one('a[href^="/book/manage/"]')["href"]
    pages["manage"] = client.get(manage).data
    token = soup(client.get(manage)).select_one("form[action$='/cancel'] input[name=csrf_token]")
    asked = client.post(manage + "/cancel", data={"csrf_token": token["value"]})
    pages["cancel-question"] = asked.data
    client.post(manage + "/cancel", data={"csrf_token": token["value"], "confirm": "yes"})
    pages["cancelled"] = client.get(confirmation).data
    files = []
    for name, body in pages.items():
        assert b"<!doctype html>" in body[:200].lower(), name
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(body)
    problems = [f"{Path(m.get('url', '')).name}: {m['message']}" for m in run_vnu(files)]
    assert not problems, "\n".join(problems)


def test_search_pages_are_valid_html(demo, client, tmp_path):
    """The search page with results (several pages), with none, with an empty and a too long
    query, as a patient meets them."""
    queries = {
        "search-results": {"q": "amitriptyline"},
        "search-page-2": {"q": "the", "page": "2"},
        "search-none": {"q": '<b>"xylophone"</b>'},
        "search-empty": {"q": ""},
        "search-too-long": {"q": "x" * 300},
    }
    files = []
    for name, query in queries.items():
        response = client.get("/search", query_string=query)
        assert response.status_code in (200, 400), name
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.get_data())
    problems = [f"{Path(m.get('url', '')).name}: {m['message']}" for m in run_vnu(files)]
    assert not problems, "\n".join(problems)

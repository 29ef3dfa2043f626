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

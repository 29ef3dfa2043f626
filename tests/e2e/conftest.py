"""Browser fixtures: Debian's Chromium, the demo site served from a thread, axe-core.

Never `playwright install`: it downloads a browser of its own, which this project does
not use. `bash tests/setup-tools.sh` installs Chromium and the npm tools when missing.
"""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
TESTS_DIR = Path(__file__).resolve().parent.parent
AXE_JS = TESTS_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SETUP_HINT = "run `bash tests/setup-tools.sh`"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is missing at {CHROMIUM}: {SETUP_HINT}")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def live_server(demo) -> Iterator[str]:
    """Serve the demo site on a free port for the length of one test; yield its base URL."""
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, injected with page.evaluate (a strict CSP blocks script tags)."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing ({AXE_JS}): {SETUP_HINT}", pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class BrowserRunGuard:
    """In CI, fail the session when any browser test was skipped instead of run.

    Registered as a plugin rather than written as conftest hooks, because pytest calls a
    subfolder conftest's per-test hooks only for tests inside that folder.
    """

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.skipped and "browser" in report.keywords:
            self.skipped.append(report.nodeid)

    def pytest_sessionfinish(self, session) -> None:
        if os.environ.get("CI") == "true" and self.skipped:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if os.environ.get("CI") == "true" and self.skipped:
            terminalreporter.section("browser tests did not run", sep="=", red=True, bold=True)
            terminalreporter.line(
                f"CI=true but {len(self.skipped)} browser test(s) were skipped; "
                f"the browser checks must run in CI ({SETUP_HINT}):"
            )
            for nodeid in self.skipped:
                terminalreporter.line(f"  {nodeid}")


def pytest_configure(config) -> None:
    if not config.pluginmanager.has_plugin("browser-run-guard"):
        config.pluginmanager.register(BrowserRunGuard(), "browser-run-guard")

"""sqlmap against the booking form and the slots endpoint of a real server: no injection."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("sqlmap.sh")


@pytest.mark.security
def test_sqlmap_finds_no_injection(tmp_path, database_url):
    assert shutil.which("sqlmap"), "sqlmap is missing: run `bash tests/setup-tools.sh`"
    env = dict(os.environ)
    if database_url.startswith("postgresql"):
        from tests.test_cli import _fresh_postgres_database

        env["DATABASE_URL"] = _fresh_postgres_database(database_url)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path}/sqlmap.db"
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("parameters tested:") == 2
    assert "sqlmap: no injection found" in result.stdout

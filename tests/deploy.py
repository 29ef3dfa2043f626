"""The deployment in .deploy/, run here: nginx with .deploy/nginx.conf and the commands of the
systemd units, with only the addresses, ports and paths replaced that the files' headers list.
Used by tests/test_two_hosts.py and the benchmark (tests/bench/run.py)."""

import getpass
import shlex
import sys
from pathlib import Path

import gunicorn

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / ".deploy"
# The app hosts' addresses in .deploy/nginx.conf, in its upstream's order.
UPSTREAMS = ("10.0.0.11:8000", "10.0.0.12:8000")


def render_nginx(folder: Path, hosts: list[str], port: int) -> Path:
    """Write .deploy/nginx.conf for `hosts` ("127.0.0.1:PORT", one per upstream line; the same
    one twice for a single host) and `port`, its logs and cache under `folder`; return it."""
    text = (DEPLOY / "nginx.conf").read_text()
    replacements = {
        **dict(zip(UPSTREAMS, hosts, strict=True)),
        "listen 80;": f"listen 127.0.0.1:{port};",
        "/srv/clinic/static": str(ROOT / "static"),
        "/var/cache/nginx/clinic": str(folder / "cache"),
        "/var/log/nginx": str(folder / "log"),
        "/var/lib/nginx": str(folder / "lib"),
        "/run/nginx.pid": str(folder / "nginx.pid"),
        # Root's workers would otherwise drop to www-data, who may not enter the test's folder.
        "user www-data;": f"user {getpass.getuser()};",
    }
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(
                f".deploy/nginx.conf no longer holds {old!r}: update tests/deploy.py"
            )
        text = text.replace(old, new)
    for name in ("log", "lib", "cache"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


def nginx_command(nginx: str, conf: Path) -> list[str]:
    """Run nginx in the foreground on a rendered config (stop it by its PID)."""
    folder = conf.parent
    early_log = str(folder / "log" / "error.log")  # before the config is read
    return [nginx, "-p", str(folder), "-e", early_log, "-c", str(conf), "-g", "daemon off;"]


def exec_start(unit: str) -> list[str]:
    """The command line of a systemd unit in .deploy/."""
    text = (DEPLOY / unit).read_text()
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def _with_option(command: list[str], option: str, value: str) -> list[str]:
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


def web_command(port: int, workers: int) -> list[str]:
    """clinic-web.service's gunicorn, on 127.0.0.1:`port` behind a local nginx."""
    command = exec_start("clinic-web.service")
    command[:1] = [sys.executable, "-m", "gunicorn"]
    command = _with_option(command, "--bind", f"127.0.0.1:{port}")
    command = _with_option(command, "--workers", str(workers))
    command = _with_option(command, "--forwarded-allow-ips", "127.0.0.1")
    if gunicorn.version_info >= (27, 0):
        command.insert(-1, "--no-control-socket")  # its fixed path would clash between hosts
    return command


def outbox_command(poll_seconds: float) -> list[str]:
    """clinic-outbox.service's worker, checking every `poll_seconds`."""
    command = exec_start("clinic-outbox.service")
    command[:1] = [sys.executable, "-m", "flask"]
    return [*command, "--poll", str(poll_seconds)]

"""Settings: defaults in code, secrets and URLs from the environment."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _database_url(instance_path: str) -> str:
    """Return the SQLAlchemy URL, using psycopg 3 for plain PostgreSQL URLs."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'clinic.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key_path(instance_path: str) -> Path:
    return Path(instance_path) / "secret_key"


def ensure_secret_key(instance_path: str) -> str:
    """Create the instance secret key once, readable by its owner only."""
    path = secret_key_path(instance_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _secret_key(instance_path: str) -> str | None:
    """Read SECRET_KEY from the environment, else from the file `serve` keeps."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = secret_key_path(instance_path)
    return path.read_text().strip() if path.exists() else None


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    """Build the settings for one app from the process environment."""
    redis_url = os.environ.get("REDIS_URL") or None
    base_url = os.environ.get("CLINIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        # hide_parameters: a database error in the logs never quotes a patient's details.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Several sites (or test runs) sharing one Redis keep their counts apart.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", ""),
        # Redis down: count in each worker's memory until it is back, and never fail a request
        # (a booking or a sign-in) because the counter could not be reached.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "CLINIC_BASE_URL": base_url,
        "CLINIC_NAME": os.environ.get("CLINIC_NAME", "ProHealth Clinic"),
        "CLINIC_PHONE": os.environ.get("CLINIC_PHONE", "+44 1234 380345"),
        "CLINIC_EMAIL": os.environ.get("CLINIC_EMAIL", "info@prohealthclinic.co.uk"),
        "CLINIC_PHONE_HOURS": os.environ.get(
            "CLINIC_PHONE_HOURS", "Monday to Saturday, 09:00 to 18:00"
        ),
        "CLINIC_STAFF_EMAILS": [
            e.strip() for e in os.environ.get("CLINIC_STAFF_EMAILS", "").split(",") if e.strip()
        ],
        "CLINIC_TRUSTED_PROXIES": int(os.environ.get("CLINIC_TRUSTED_PROXIES", "0")),
        "CLINIC_PAGE_CACHE_SECONDS": int(os.environ.get("CLINIC_PAGE_CACHE_SECONDS", "60")),
        "CLINIC_CACHE_CHECK_SECONDS": float(os.environ.get("CLINIC_CACHE_CHECK_SECONDS", "1")),
        # Who may read /metrics: CIDRs, comma-separated (loopback only by default).
        "CLINIC_METRICS_ALLOW": os.environ.get("CLINIC_METRICS_ALLOW", "127.0.0.1/32,::1/128"),
        # E-mail is stalled when one waits to be sent longer than this, or when one failed for
        # good within the last CLINIC_OUTBOX_FAILED_HOURS (and was not sent again).
        "CLINIC_OUTBOX_STALL_MINUTES": int(os.environ.get("CLINIC_OUTBOX_STALL_MINUTES", "15")),
        "CLINIC_OUTBOX_FAILED_HOURS": int(os.environ.get("CLINIC_OUTBOX_FAILED_HOURS", "24")),
        "CLINIC_FIGURES_CACHE_SECONDS": int(os.environ.get("CLINIC_FIGURES_CACHE_SECONDS", "60")),
        "CLINIC_FIGURES_CACHE_PREFIX": "clinic-figures",
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # "Forgot your password?": per address asked about, and per IP address asking.
        "RESET_RATE_LIMIT_ADDRESS": os.environ.get("RESET_RATE_LIMIT_ADDRESS", "3 per hour"),
        "RESET_RATE_LIMIT_IP": os.environ.get("RESET_RATE_LIMIT_IP", "10 per hour"),
        "SESSION_MAX_HOURS": int(os.environ.get("CLINIC_SESSION_MAX_HOURS", "12")),
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=int(os.environ.get("CLINIC_SESSION_HOURS", "8"))
        ),
        # How long a request waits for a row or table another one holds before giving up.
        "CLINIC_LOCK_TIMEOUT_MS": int(os.environ.get("CLINIC_LOCK_TIMEOUT_MS", "10000")),
        # The editor names the other accounts that opened the same item this recently.
        "CONTENT_PRESENCE_MINUTES": int(os.environ.get("CONTENT_PRESENCE_MINUTES", "5")),
        "BOOKING_MIN_NOTICE_MINUTES": int(os.environ.get("BOOKING_MIN_NOTICE_MINUTES", "120")),
        "BOOKING_HORIZON_DAYS": int(os.environ.get("BOOKING_HORIZON_DAYS", "28")),
        "BOOKING_RATE_LIMIT": os.environ.get("BOOKING_RATE_LIMIT", "10 per minute;40 per hour"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "ProHealth Clinic <no-reply@localhost>"
        ),
        "MAIL_TIMEOUT": int(os.environ.get("MAIL_TIMEOUT", "10")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": None,
        # Any request body over 1 MB is refused before it is read (413); the image upload route
        # raises its own limit to take a 5 MB picture (content/admin/image_pages.py).
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }

"""Prometheus metrics: counters kept by each process, queue gauges read at scrape time.

Under gunicorn (clinic/gunicorn_conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker
imports this module) every worker writes its counts to a file in that directory and a scrape,
answered by any one worker, adds them all up. Without the variable (the dev server, tests) the
counts live in this process. Labels are endpoint names, statuses and fixed reasons, never paths,
so the number of series stays bounded whatever URLs the internet tries.
"""

import ipaddress
import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from clinic.notifications.health import OutboxHealth

# Read when prometheus-client is, as it does: the two must agree for the life of the process.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
NO_ENDPOINT = "none"  # no route matched (a 404 for an unknown path)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "clinic_http_requests", "Requests answered, by endpoint.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer a request, by endpoint and status.",
    ["endpoint", "status"],
    buckets=LATENCY_BUCKETS,
)
BOOKINGS_MADE = Counter("clinic_bookings_made", "Calls booked, by who booked.", ["by"])
BOOKINGS_REFUSED = Counter(
    "clinic_bookings_refused", "Booking forms refused, by reason.", ["reason"]
)
PAGE_CACHE_HITS = Counter("clinic_page_cache_hits", "Public pages served from the page cache.")
PAGE_CACHE_MISSES = Counter(
    "clinic_page_cache_misses", "Cacheable public pages rendered because none was kept."
)
# Every reason a booking form can be refused for: a bounded set of label values.
REFUSALS = ("invalid", "spam", "taken", "not_offered", "rate_limited", "form_expired", "busy")


# Any other method a client invents is counted as "other": labels must stay a bounded set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def method_label(method: str) -> str:
    """The request method, or "other" for one outside METHODS."""
    return method if method in METHODS else "other"


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    endpoint = endpoint or NO_ENDPOINT
    REQUESTS.labels(endpoint, method_label(method), str(status)).inc()
    LATENCY.labels(endpoint, str(status)).observe(seconds)


def booking_made(by: str) -> None:
    """Count a booking that was committed ("patient" or "staff")."""
    BOOKINGS_MADE.labels(by).inc()


def booking_refused(reason: str) -> None:
    """Count a booking form that booked nothing, for one of REFUSALS."""
    if reason not in REFUSALS:
        raise ValueError(f"unknown booking refusal {reason!r}")
    BOOKINGS_REFUSED.labels(reason).inc()


class _OutboxCollector:
    """The outbox gauges of one scrape, measured just before."""

    def __init__(self, health: OutboxHealth | None, incident_open: bool) -> None:
        self.health = health
        self.incident_open = incident_open

    def collect(self):
        health = self.health
        up = GaugeMetricFamily(
            "clinic_database_up", "1 when the database answered this scrape's queries."
        )
        up.add_metric([], 0 if health is None else 1)
        yield up
        if health is None:
            return  # the counters still go out; the outbox figures are unknown
        for name, text, value in (
            ("clinic_outbox_queue_depth", "Unsent e-mails due now.", health.due),
            (
                "clinic_outbox_oldest_unsent_age_seconds",
                "How long the oldest unsent e-mail has waited.",
                health.oldest_age_seconds,
            ),
            ("clinic_outbox_late", "Unsent e-mails waiting longer than allowed.", health.late),
            (
                "clinic_outbox_failed_recent",
                "E-mails that failed for good within the failure window.",
                health.failed_recently,
            ),
            (
                "clinic_outbox_failed",
                "E-mails that failed for good, not sent again.",
                health.failed,
            ),
            ("clinic_outbox_stalled", "1 while e-mail is stalled.", int(health.stalled)),
            (
                "clinic_outbox_incident_open",
                "1 while an e-mail incident is open.",
                int(self.incident_open),
            ),
        ):
            yield GaugeMetricFamily(name, text, value=value)


def exposition(health: OutboxHealth | None, incident_open: bool) -> bytes:
    """The text a scrape gets: every process's counters, then the outbox gauges."""
    if MULTIPROCESS_DIR:
        counters = CollectorRegistry()
        MultiProcessCollector(counters, path=MULTIPROCESS_DIR)
    else:
        counters = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_OutboxCollector(health, incident_open))
    return generate_latest(counters) + generate_latest(gauges)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowed(setting: str) -> list[Network]:
    """Read CLINIC_METRICS_ALLOW: CIDRs or addresses, separated by commas or spaces."""
    return [ipaddress.ip_network(item, strict=False) for item in setting.replace(",", " ").split()]


def allowed(addresses: Iterable[str | None], networks: list[Network]) -> bool:
    """True when every address given (the socket's peer, the client a trusted proxy names)
    is inside one of the networks."""
    for address in addresses:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if not any(ip in network for network in networks):
            return False
    return True

"""Cookie-free visit counts and the marketers' funnel: counting is correct and private."""

import os
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import Headers

from clinic import uktime
from clinic.booking.models import Booking
from clinic.content.models import Redirect
from clinic.extensions import db
from clinic.insights import beacon as beacon_module
from clinic.insights import services, store, visitors
from clinic.insights.models import VisitCount, VisitSalt, VisitSeen
from clinic.insights.visitors import Key
from clinic.leads.models import Lead
from tests import factories
from tests.auth_helpers import login, make_users
from tests.helpers import soup

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAME_SITE = {"Sec-Fetch-Site": "same-origin", "User-Agent": CHROME}
STORES = ["database"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(params=STORES)
def counting(app, request):
    """The app counting into one store (the database, or Redis when REDIS_URL is set), with
    Redis keys of its own that are removed afterwards."""
    app.config["INSIGHTS_STORE"] = request.param
    app.config["INSIGHTS_KEY_PREFIX"] = f"test-{os.getpid()}-insights"
    store.init_app(app)
    beacon_module.per_minute = beacon_module.PerMinute()  # each test starts with no counts
    chosen = app.extensions["insights_store"]
    yield app
    if isinstance(chosen, store.RedisStore):
        keys = chosen.all_keys()
        if keys:
            chosen.client.delete(*keys)


def beacon(client, path="/articles/a", address="203.0.113.7", headers=None, **fields):
    data = {"p": path, "r": "", "s": "", "c": "", **fields}
    return client.post(
        "/visits",
        data=data,
        headers={**SAME_SITE, **(headers or {})},
        environ_base={"REMOTE_ADDR": address},
    )


def counts(app) -> dict[tuple, tuple[int, int]]:
    """Every count row as {(kind, path, source, campaign): (views, visitors)}, folded first."""
    with app.app_context():
        store.current().fold(uktime.today())
        db.session.commit()
        rows = db.session.scalars(sa.select(VisitCount)).all()
        return {(r.kind, r.path, r.source, r.campaign): (r.views, r.visitors) for r in rows}


# Pure rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("not an address", "unknown"),
    ],
)
def test_only_the_network_is_used(address, kept):
    assert visitors.network(address) == kept


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (CHROME, "chrome"),
        (FIREFOX, "firefox"),
        (CHROME + " Edg/131.0.0.0", "edge"),
        ("Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Version/18.0 Safari/604.1", "safari"),
        ("Something else", "other"),
    ],
)
def test_browser_family_only(agent, family):
    assert visitors.browser_family(agent) == family


@pytest.mark.parametrize(
    "agent",
    ["Googlebot/2.1", "Mozilla/5.0 HeadlessChrome/131", "curl/8.5", "python-requests/2", ""],
)
def test_known_robots(agent):
    assert visitors.is_bot(agent)


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/", "/"),
        ("/articles/", "/articles/"),
        ("/articles/back-pain?utm_source=x", "/articles/back-pain"),
        ("/book", "/book"),
        ("/book/manage/secret-token", None),
        ("/admin/leads", None),
        ("/articles/" + "x" * 300, None),
        ("/articles/<script>", None),
    ],
)
def test_only_pages_of_known_shapes_are_counted(path, kept):
    assert visitors.counted_path(path) == kept


def test_sources_are_a_tag_or_a_domain():
    assert visitors.source_of("Newsletter", "https://www.google.com/search?q=x", "a.test") == (
        "newsletter"
    )
    assert visitors.source_of("", "https://www.google.com/search?q=x", "a.test") == "google.com"
    assert visitors.source_of("", "https://a.test/articles/x", "a.test") == "(direct)"
    assert visitors.source_of(None, "javascript:alert(1)", "a.test") == "(direct)"


def test_do_not_track_gpc_and_prefetch_are_recognised():
    for headers in (
        {"Sec-GPC": "1"},
        {"DNT": "1"},
        {"Sec-Purpose": "prefetch"},
        {"Purpose": "prefetch"},
    ):
        assert visitors.not_counted(Headers(headers))
    assert not visitors.not_counted(Headers({"DNT": "0"}))


# Counting ----------------------------------------------------------------------------------


def test_views_and_distinct_visitors_per_page_source_and_campaign(counting):
    client = counting.test_client()
    for address, agent in [
        ("203.0.113.7", CHROME),
        ("203.0.113.99", CHROME),  # same /24 and browser: the same visitor
        ("203.0.113.7", FIREFOX),  # another browser: another visitor
        ("198.51.100.1", CHROME),
    ]:
        response = beacon(
            client, address=address, headers={"User-Agent": agent}, r="www.google.com"
        )
        assert response.status_code == 204 and response.data == b""
    beacon(client, path="/book", a="a", s="Newsletter", c="Spring-2026")
    found = counts(counting)
    assert found[("view", "/articles/a", "google.com", "(none)")] == (4, 3)
    assert found[("site", "", "google.com", "(none)")] == (4, 3)
    assert found[("form", "/articles/a", "newsletter", "spring-2026")] == (1, 1)
    assert found[("view", "/book", "newsletter", "spring-2026")] == (1, 1)
    assert len(found) == 5


def test_a_day_of_beacons_leaves_no_address_agent_or_lasting_identifier(counting):
    """After the day rolls over, no table (nor Redis) holds an IP address, a user agent, the
    salt or a visitor hash; the same person on the next day gets other hashes."""
    client = counting.test_client()
    agents = [CHROME, FIREFOX]
    addresses = ["203.0.113.7", "2001:db8:abcd:12::5", "198.51.100.23"]
    for address in addresses:
        for agent in agents:
            beacon(client, address=address, headers={"User-Agent": agent}, r="example.org")
            beacon(client, path="/book", address=address, headers={"User-Agent": agent}, a="a")
    today = uktime.today()
    with counting.app_context():
        chosen = store.current()
        day_one = _hashes(chosen, today)
        # Per visitor: the article, /book, the form, and the site from each of two sources.
        assert len(day_one) == 3 * 2 * 5
        store.roll_over(today + timedelta(days=1))
        db.session.commit()
        # The next day, the same person on the same page: unrelated hashes.
        chosen.record(
            today + timedelta(days=1),
            [Key("view", "/", "(direct)", "(none)")],
            addresses[0],
            CHROME,
        )
        db.session.commit()
        day_two = _hashes(chosen, today + timedelta(days=1))
        assert day_two and not day_two & day_one
        store.roll_over(today + timedelta(days=2))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitSalt)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitSeen)) == 0
        everything = _every_value_stored(chosen)
    assert everything, "the counts themselves are kept"
    forbidden = addresses + ["203.0.113", "198.51.100", "2001:db8", CHROME, FIREFOX]
    forbidden += ["Mozilla", "Gecko", "Chrome/", "Firefox/"]
    for value in everything:
        assert not any(bad.lower() in value.lower() for bad in forbidden), value
        assert value not in day_one | day_two
    with counting.app_context():
        assert counts(counting)[("view", "/articles/a", "example.org", "(none)")] == (6, 6)


def _hashes(chosen, day: date) -> set[str]:
    """The visitor hashes a store holds for `day` (read as an attacker would)."""
    if isinstance(chosen, store.RedisStore):
        chosen.flush()  # what the worker still batches goes to Redis within a second anyway
        found = set()
        for name in chosen.client.scan_iter(match=chosen._name("seen", day, "*")):
            found |= {m.decode() for m in chosen.client.smembers(name)}
        return found
    return set(db.session.scalars(sa.select(VisitSeen.hash).where(VisitSeen.day == day)))


def _every_value_stored(chosen) -> list[str]:
    """Every cell of every table as text, and every Redis key and value of the store."""
    values = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            values += [v.hex() if isinstance(v, bytes) else str(v) for v in row if v is not None]
    if isinstance(chosen, store.RedisStore):
        for name in chosen.all_keys():
            values.append(name.decode(errors="replace"))
            kind = chosen.client.type(name).decode()
            if kind == "hash":
                values += [f"{k!r}{v!r}" for k, v in chosen.client.hgetall(name).items()]
            elif kind == "set":
                values += [m.decode(errors="replace") for m in chosen.client.smembers(name)]
            elif kind == "string":
                values.append(chosen.client.get(name).hex())
    return values


def test_a_past_days_salt_is_gone_after_the_rollover(counting):
    today = date(2026, 3, 10)
    with counting.app_context():
        chosen = store.current()
        salt = chosen.salt(today)
        assert chosen.salt(today) == salt  # one salt for the whole day
        chosen.record(today, [Key("view", "/", "(direct)", "(none)")], "203.0.113.1", CHROME)
        db.session.commit()
        store.roll_over(today + timedelta(days=1))
        db.session.commit()
        assert db.session.get(VisitSalt, today) is None
        if isinstance(chosen, store.RedisStore):
            assert chosen.client.get(chosen._name("salt", today)) is None
            assert not chosen.all_keys() or all(b"seen" not in k for k in chosen.all_keys())
        assert chosen.salt(today + timedelta(days=1)) != salt
        row = db.session.scalars(sa.select(VisitCount).where(VisitCount.day == today)).first()
        assert (row.views, row.visitors) == (1, 1)


def test_the_roll_command_deletes_past_salts(counting):
    with counting.app_context():
        store.current().salt(date(2026, 3, 10))
        db.session.commit()
    result = counting.test_cli_runner().invoke(args=["insights", "roll", "--today", "2026-03-11"])
    assert result.exit_code == 0, result.output
    with counting.app_context():
        assert db.session.get(VisitSalt, date(2026, 3, 10)) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0 Safari/537.36"},
        {"User-Agent": ""},
        {"Sec-Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
        {"Sec-GPC": "1"},
        {"DNT": "1"},
    ],
)
def test_robots_prefetches_and_do_not_track_are_not_counted(counting, headers):
    client = counting.test_client()
    assert beacon(client, headers=headers).status_code == 204
    assert counts(counting) == {}
    assert beacon(client).status_code == 204  # the same beacon, plainly: counted
    assert len(counts(counting)) == 2


def test_signed_in_staff_are_not_counted(counting):
    make_users(counting)
    for role in ("staff", "marketer", "admin"):
        client = counting.test_client()
        login(client, role)
        assert beacon(client).status_code == 204
    assert counts(counting) == {}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Sec-Fetch-Site": None, "Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": None}, 403),
        ({"Sec-Fetch-Site": None, "Origin": "http://localhost"}, 204),
    ],
)
def test_only_this_sites_pages_may_send_a_beacon(counting, headers, status):
    client = counting.test_client()
    sent = {**SAME_SITE, **headers}
    response = client.post(
        "/visits", data={"p": "/"}, headers={k: v for k, v in sent.items() if v is not None}
    )
    assert response.status_code == status
    assert bool(counts(counting)) == (status == 204)


def test_a_beacon_is_small_and_limited(counting):
    client = counting.test_client()
    assert beacon(client, c="x" * 5000).status_code == 413
    counting.config["INSIGHTS_BEACONS_PER_MINUTE"] = 3
    codes = [beacon(client, address="192.0.2.9").status_code for _ in range(4)]
    assert codes == [204, 204, 204, 429]
    assert beacon(client, p="/book/manage/some-token").status_code == 204
    assert all(key[1] != "/book/manage/some-token" for key in counts(counting))


def test_every_page_loads_the_beacon_script_deferred(demo, client):
    page = soup(client.get("/articles/does-amitriptyline-relax-muscles"))
    script = page.select_one("script[src*='js/visits.js']")
    assert script is not None and script.has_attr("defer")
    response = client.get(script["src"])
    source = response.data
    response.close()
    assert len(source) < 1500 and b"sendBeacon" in source and b"document.cookie" not in source


# The funnel --------------------------------------------------------------------------------


def _visits(day, path, source, campaign, views, visitors_):
    store.add_counts(day, [(Key("view", path, source, campaign), views, visitors_)])
    store.add_counts(day, [(Key("site", "", source, campaign), views, visitors_)])


def _booking(
    clinic, n, article, created, status="confirmed", lead_status="new", ahead=False, **lead
):
    person = Lead(email=f"p{n}@example.test", name=f"P {n}", status=lead_status, **lead)
    db.session.add(person)
    db.session.flush()
    starts = (datetime.now(UTC) if ahead else created) + timedelta(days=2, minutes=15 * n)
    db.session.add(
        Booking(
            lead_id=person.id,
            clinic_id=clinic.id,
            starts_at=starts,
            status=status,
            source_article=article,
            created_at=created,
        )
    )


@pytest.fixture
def known_funnel(app):
    """Ten days of visits and bookings with figures worked out by hand."""
    today = uktime.today()
    with app.app_context():
        factories.article("knee-pain", title="Knee pain")
        factories.article("back-pain", title="Back pain")
        db.session.add(Redirect(old_path="/articles/old-back", new_path="/articles/back-pain"))
        clinic = factories.clinic()
        day = today - timedelta(days=5)
        _visits(day, "/articles/knee-pain", "google.com", "(none)", 120, 100)
        _visits(day, "/articles/back-pain", "newsletter", "spring", 30, 20)
        _visits(day - timedelta(days=1), "/articles/old-back", "newsletter", "spring", 15, 10)
        _visits(today - timedelta(days=40), "/articles/knee-pain", "google.com", "(none)", 9, 9)
        store.add_counts(day, [(Key("form", "/articles/back-pain", "newsletter", "spring"), 9, 8)])
        store.add_counts(day, [(Key("form", "/articles/old-back", "newsletter", "spring"), 2, 2)])
        store.add_counts(day, [(Key("form", "/articles/knee-pain", "google.com", "(none)"), 3, 3)])
        moment = uktime.midnight(day) + timedelta(hours=10)
        past = moment - timedelta(days=3)  # its call two days later is already due
        news = dict(utm_source="Newsletter", utm_campaign="Spring")
        _booking(clinic, 1, "back-pain", past, "done", "treatment_booked", **news)
        _booking(clinic, 2, "old-back", past, "done", **news)
        _booking(clinic, 3, "back-pain", moment, ahead=True, **news)
        _booking(clinic, 4, "back-pain", moment, "cancelled", **news)
        _booking(clinic, 5, "knee-pain", past, "no_show", referrer="https://www.google.com/x")
        _booking(clinic, 6, "knee-pain", past, "no_show", referrer="https://www.google.com/y")
        _booking(clinic, 7, "knee-pain", past, "no_show", referrer="https://www.google.com/z")
        _booking(clinic, 8, None, datetime.now(UTC) - timedelta(days=60))  # before the period
        db.session.commit()
    return app


def test_funnel_by_article_follows_renames_and_matches_the_figures(known_funnel):
    with known_funnel.app_context():
        rows = {r.key: r for r in services.rows_for("article", services.last_days(30), "x.test")}
    back, knee = rows["back-pain"], rows["knee-pain"]
    assert set(rows) == {"back-pain", "knee-pain"}
    assert (back.label, back.views, back.visitors, back.form_opens) == ("Back pain", 45, 30, 10)
    assert (back.bookings, back.calls_due, back.calls_done, back.treatment) == (3, 2, 2, 1)
    assert (knee.views, knee.visitors, knee.form_opens, knee.bookings) == (120, 100, 3, 3)
    assert (knee.calls_due, knee.calls_done, knee.treatment) == (3, 0, 0)
    assert back.open_rate == pytest.approx(10 / 30) and back.booking_rate == pytest.approx(0.3)
    assert back.done_rate == pytest.approx(2 / 3) and back.treatment_rate == pytest.approx(0.5)
    assert knee.treatment_rate is None
    look = services.look_at(list(rows.values()))
    assert [r.key for r in look.few_bookings] == ["knee-pain"]
    assert [r.key for r in look.calls_not_done] == ["knee-pain"]


def test_funnel_by_source_and_by_campaign(known_funnel):
    with known_funnel.app_context():
        period = services.last_days(30)
        by_source = {r.key: r for r in services.rows_for("source", period, "x.test")}
        by_campaign = {r.key: r for r in services.rows_for("campaign", period, "x.test")}
        long_ago = services.rows_for("source", services.last_days(90), "x.test")
    news, google = by_source["newsletter"], by_source["google.com"]
    assert (news.visitors, news.views, news.form_opens, news.bookings) == (30, 45, 10, 3)
    assert (news.calls_done, news.treatment) == (2, 1)
    assert (google.visitors, google.form_opens, google.bookings, google.calls_done) == (
        100,
        3,
        3,
        0,
    )
    assert (by_campaign["spring"].visitors, by_campaign["spring"].bookings) == (30, 3)
    assert (by_campaign["(none)"].visitors, by_campaign["(none)"].bookings) == (100, 3)
    assert {r.key: r.visitors for r in long_ago}["google.com"] == 109
    assert {r.key: r.bookings for r in long_ago}["(direct)"] == 1


def test_daily_series_and_sorting(known_funnel):
    with known_funnel.app_context():
        period = services.last_days(7)
        series = services.daily(period)
        rows = services.rows_for("article", period, "x.test")
    assert series["visitors"][1] == 120 and series["visitors"][0] == 10
    assert (
        series["bookings"][1] == 1
        and sum(series["bookings"]) == 1
        and sum(series["form_opens"]) == 13
    )
    assert [r.key for r in services.sort_rows(rows, "visitors", True)] == ["knee-pain", "back-pain"]
    assert [r.key for r in services.sort_rows(rows, "done_rate", True)] == [
        "back-pain",
        "knee-pain",
    ]
    assert [r.key for r in services.sort_rows(rows, "label", False)] == ["back-pain", "knee-pain"]


# The page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_the_insights_page_and_csv_show_counts_only(known_funnel, role):
    make_users(known_funnel)
    client = known_funnel.test_client()
    login(client, role)
    page = client.get("/admin/insights/?days=30&by=article&sort=bookings")
    assert page.status_code == 200
    assert page.headers["Cache-Control"].startswith("no-store")
    html = soup(page)
    assert html.select_one("a[href='/admin/insights/searches']")
    table = html.select_one("table.insights-table")
    first = [c.get_text(strip=True) for c in table.select("tbody tr")[0].select("th, td")]
    assert first[:6] == ["Back pain", "30", "45", "10", "33.3%", "3"]
    assert len(html.select("svg.chart-svg")) == 3
    text = page.get_data(as_text=True)
    assert "@example.test" not in text.replace(f"{role}@example.test", "")
    assert "P 1" not in text
    csv_response = client.get("/admin/insights/insights.csv?days=30&by=source")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("Source,Visitors,Views,Opened the booking form")
    assert "google.com,100,120,3,3.0%,3,100.0%,0,0.0%,0,,3.0%" in lines


@pytest.mark.parametrize("path", ["/admin/insights/", "/admin/insights/insights.csv"])
def test_staff_may_not_see_insights_and_strangers_must_sign_in(app, path):
    make_users(app)
    client = app.test_client()
    assert client.get(path).status_code == 302
    login(client, "staff")
    assert client.get(path).status_code == 403


BAD_PERIODS = [
    ("from=2026-13-01&to=2026-01-01", "from", "year-month-day"),
    ("from=2026-02-01&to=2026-01-01", "from", "on or before"),
    ("from=2020-01-01&to=2026-01-01", "from", "at most 366"),
    ("from=2026-01-01&to=2999-01-01", "to", "after today"),
    ("days=12", "days", "7, 30 or 90"),
    ("by=person", "by", "article, source or campaign"),
]


def test_a_bad_period_says_what_is_wrong_next_to_the_field(app):
    make_users(app)
    client = app.test_client()
    login(client, "marketer")
    for query, field, message in BAD_PERIODS:  # one sign-in for every case: they are quick
        response = client.get(f"/admin/insights/?{query}")
        assert response.status_code == 400, query
        error = soup(response).select_one(f"#{field}-error")
        assert error is not None and message in error.get_text(), query
        assert soup(response).select_one(f"#{field}")["aria-invalid"] == "true"
        assert client.get(f"/admin/insights/insights.csv?{query}").status_code == 400


def test_a_custom_period_is_shown(app):
    make_users(app)
    client = app.test_client()
    login(client, "marketer")
    today = uktime.today()
    start = today - timedelta(days=3)
    response = client.get(f"/admin/insights/?from={start}&to={today}")
    assert response.status_code == 200
    assert uktime.date_text(start) in response.get_data(as_text=True)


def test_the_privacy_notice_says_what_is_counted_and_why_no_consent_is_asked(demo, client):
    text = soup(client.get("/privacy")).get_text(" ", strip=True)
    for words in (
        "Counting visits",
        "the address of the page on our site",
        "never the full address you came from",
        "utm_source and utm_campaign",
        "random value that we create each day",
        "We never store your internet address or your browser's full description",
        "Global Privacy Control",
        "why we do not ask for your consent",
    ):
        assert words in text, words


def test_without_redis_the_first_beacon_of_a_day_deletes_the_day_before(app):
    app.config["INSIGHTS_STORE"] = "database"
    store.init_app(app)
    with app.app_context():
        chosen = store.current()
        key = Key("view", "/", "(direct)", "(none)")
        chosen.record(date(2026, 3, 10), [key], "203.0.113.1", CHROME)
        db.session.commit()
        chosen.record(date(2026, 3, 11), [key], "203.0.113.1", CHROME)
        db.session.commit()
        assert set(db.session.scalars(sa.select(VisitSalt.day))) == {date(2026, 3, 11)}
        assert set(db.session.scalars(sa.select(VisitSeen.day))) == {date(2026, 3, 11)}


def test_the_insights_page_is_valid_html(known_funnel, tmp_path):
    from tests.test_html_validity import run_vnu

    make_users(known_funnel)
    client = known_funnel.test_client()
    login(client, "marketer")
    files = []
    for name, query in (("table", "days=30&sort=done_rate&order=asc"), ("bad", "from=x&to=y")):
        target = tmp_path / f"insights-{name}.html"
        target.write_bytes(client.get(f"/admin/insights/?{query}").get_data())
        files.append(target)
    messages = run_vnu(files)
    assert messages == [], messages


def test_a_beacon_answers_at_once_while_redis_is_down(app):
    """Without Redis the beacon still answers 204, and stops asking Redis for a while."""
    app.config["INSIGHTS_STORE"] = "redis"
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"
    store.init_app(app)
    beacon_module.per_minute = beacon_module.PerMinute()
    client = app.test_client()
    started = time.monotonic()
    assert [beacon(client).status_code for _ in range(20)] == [204] * 20
    assert time.monotonic() - started < 2.0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitCount)) == 0
    assert app.extensions["insights_store"]._down_until > time.monotonic()

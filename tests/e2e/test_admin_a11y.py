"""axe-core on the admin pages, as staff and admins see them with real data in them."""

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.leads.models import Lead
from tests.auth_helpers import make_users
from tests.booking_helpers import booking_data
from tests.e2e.test_public_pages import DESKTOP, PHONE, run_axe, visit
from tests.e2e.test_staff_journey import sign_in

pytestmark = pytest.mark.browser

ADMIN_PAGES = [
    "/admin/",
    "/admin/leads",
    "/admin/leads/{lead}",
    "/admin/bookings",
    "/admin/emails",
    "/admin/audit",
    "/admin/users",
    "/admin/account/password",
    "/admin/account/two-factor",
    "/admin/content/",
]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_pages_have_no_axe_violations(demo, live_server, new_context, axe_source, viewport):
    make_users(demo)
    client = demo.test_client()
    assert client.post("/book", data=booking_data(client)).status_code == 303
    with demo.app_context():
        lead_id = db.session.scalar(sa.select(Lead.id))
    opened = visit(new_context, live_server + "/admin/login", viewport)
    page = opened.page
    assert run_axe(page, axe_source) == [], "/admin/login"
    sign_in(page, live_server, "admin")
    for path in ADMIN_PAGES:
        url = live_server + path.format(lead=lead_id)
        response = page.goto(url)
        assert response.status == 200, path
        violations = run_axe(page, axe_source)
        assert violations == [], (path, [(v["id"], v["nodes"][0]["html"]) for v in violations])
    # Moving on before the favicon arrives aborts its request: that is not an error on the page.
    assert [e for e in opened.errors if "ERR_ABORTED" not in e] == []
    assert opened.csp_violations() == []

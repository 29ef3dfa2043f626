"""The admin menu: (endpoint, label, roles that see it besides admin)."""

from flask import Flask
from flask_login import current_user

MENU = [
    ("admin.dashboard", "Dashboard", ("staff", "marketer")),
    ("leads_admin.index", "Leads", ("staff",)),
    ("booking_admin.agenda", "Calls", ("staff",)),
    ("notifications_admin.index", "E-mail log", ("staff",)),
    ("content_admin.index", "Content", ("marketer",)),
    ("insights.index", "Insights", ("marketer",)),
    ("audit_admin.index", "Audit log", ()),
    ("accounts_admin.users", "Users", ()),
]


def init_app(app: Flask) -> None:
    @app.context_processor
    def admin_menu():
        # Only admin templates read these; public pages never touch the session.
        menu = [item for item in MENU if item[0] in app.view_functions]
        return {"admin_nav": menu, "current_user": current_user}

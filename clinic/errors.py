"""Helpful error pages that keep the site's navigation."""

from flask import Flask, render_template

from clinic.extensions import db


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        return render_template("errors/404.html"), 405

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/500.html"), 500

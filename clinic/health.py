"""Liveness with a database check, for load balancers and `serve`."""

import sqlalchemy as sa
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        response = jsonify(status="unavailable", database="down")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.cache_control.no_store = True
    return response

"""The dashboard's blueprint, shared by its route modules (auth, views, tree, phone)."""
from __future__ import annotations

from flask import Blueprint

operator_bp = Blueprint("operator", __name__, url_prefix="/operator")

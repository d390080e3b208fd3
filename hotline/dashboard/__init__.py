"""The operator dashboard: counters, the menu as callers hear it, a phone in the browser, content checks.

Only aggregate counters exist, so nothing here can show who called or texted. Importing the route
modules registers them on the one blueprint.
"""
from hotline.dashboard import auth, inbox, phone, security, studio, tree, views, words  # noqa: F401 - registers the routes
from hotline.dashboard.blueprint import operator_bp

__all__ = ["operator_bp"]

"""Admin pages: the operators and the audit log."""
from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from hotline.dashboard import accounts
from hotline.dashboard.auth import requires
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime import audit
from hotline.runtime.hotline import current


@operator_bp.get("/audit")
@requires("admin")
def audit_log() -> ResponseReturnValue:
    hl = current()
    return render_template("operator_audit.html", entries=audit.recent(hl, 300), operators=accounts.list_all(hl))


@operator_bp.get("/reminders")
@requires("viewer")
def reminders_health() -> ResponseReturnValue:
    """Reminders that failed (with why and what to do) and those whose worker died mid-request."""
    from hotline.reminders.worker import failed_list
    from hotline.runtime import stats
    hl = current()
    days = stats.read(hl.redis, 14, hl.now().astimezone(hl.content.policy.tz).date())
    total: dict[str, int] = {}
    for counters in days.values():
        for k, v in counters.items():
            total[k] = total.get(k, 0) + v
    return render_template("operator_reminders.html", failed=failed_list(hl), total=total)

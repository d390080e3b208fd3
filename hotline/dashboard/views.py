"""The operator dashboard: counters, the menu as callers hear it, a phone in the browser, content checks.

Only aggregate counters exist, so nothing here can show who called or texted. Login is one shared
password (stored hashed), with a lockout kept in Redis so every web process enforces it.
"""
from __future__ import annotations

import logging

from flask import render_template
from flask.typing import ResponseReturnValue

from hotline.checks.checker import Report, run_checks
from hotline.checks.deployment import messaging_table
from hotline.dashboard.blueprint import operator_bp
from hotline.dashboard.charts import bar_list, by_node, column_chart, sms_failed, totals
from hotline.dashboard.words import node_words, refusal_words
from hotline.messaging.sender import twilio_client
from hotline.runtime import stats
from hotline.runtime.hotline import Hotline, current

log = logging.getLogger(__name__)

DAYS = 14                       # the overview's window




# ---- setup, login, session ----------------------------------------------------------------------


# ---- overview: counters drawn as charts ----------------------------------------------------------


@operator_bp.get("/")
def overview() -> ResponseReturnValue:
    hl = current()
    c = hl.content
    days = stats.read(hl.redis, DAYS, hl.now().astimezone(hl.content.policy.tz).date())
    names = list(days)

    def col(counter: str) -> list[int]:
        return [days[d].get(counter, 0) for d in names]

    total = totals(days)
    langs = [(c.prompts[code]["language.name"], total.get(f"call.lang.{code}", 0)) for code in c.settings.languages]
    refused = sorted(((refusal_words(k.removeprefix("sms.refused.")), v) for k, v in total.items()
                      if k.startswith("sms.refused.")), key=lambda item: -item[1])
    local = twilio_client(hl.config) is None  # the local outbox: nothing is delivered, so no delivery reports
    sms_series = [("sent", col("sms.sent"))] + ([] if local else [("delivered", col("sms.status.delivered"))])
    charts = {
        "calls": column_chart(names, [("calls", col("call.started"))]),
        "langs": bar_list(langs),
        "sms": column_chart(names, sms_series + [("failed", [sms_failed(days[d]) for d in names])]),
        "reminders": column_chart(names, [("opt-ins", col("reminders.optin")), ("opt-outs", col("optout")),
                                          ("reminders sent", col("reminders.sent"))]),
        "nodes": bar_list([(node_words(c, nid), n) for nid, n in by_node(c, total, "node.")]),
        "hangups": bar_list([(node_words(c, nid), n) for nid, n in by_node(c, total, "hangup.")]),
        "refused": bar_list(refused) if refused else None,
    }
    return render_template("operator_overview.html", charts=charts, days=days, total=total,
                           langs=list(c.settings.languages), sms_failed=sms_failed, messaging=messaging_table(c),
                           local=local)


# ---- menu: the tree as callers hear it, with where each sound comes from -----------------------


# ---- phone: the real voice webhooks, driven from the browser -----------------------------------


# ---- checks -------------------------------------------------------------------------------------



def findings(hl: Hotline) -> Report:
    """What `hotline check` finds in the content as it is on disk now (maybe a refused edit)."""
    return run_checks(hl.holder.root, hl.now().astimezone(hl.content.policy.tz).date(), hl.library)


@operator_bp.get("/checks")
def checks() -> ResponseReturnValue:
    hl = current()
    report = findings(hl)
    problems = sorted(report.problems, key=lambda p: (p.severity != "error", p.file, p.line or 0))
    return render_template("operator_checks.html", report=report, problems=problems, version=hl.content.version)

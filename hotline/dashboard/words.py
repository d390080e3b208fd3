"""Words for the dashboard where the code has names: a menu node, a reason an SMS was not sent.

Operators read "Almaty office" and "the number had sent STOP", not `office.almaty` and
`opted_out`; the internal name stays beside it in small print where an operator may need to find
it in config/menu.yaml.
"""
from __future__ import annotations

from hotline.content.model import REFERENCE_LANG, Content
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime.hotline import current

REFUSALS = {
    "opted_out": "the number had sent STOP",
    "daily_cap": "over the daily limit for one number",
    "country_not_allowed": "a number outside the allowed countries",
    "region_not_allowed": "a number outside the allowed countries",
    "invalid_number": "not a valid phone number",
    "store_unavailable": "Redis was not answering",
    "no_answer": "Twilio did not answer (maybe sent: not retried)",
    "unreachable": "Twilio could not be reached",
}


def node_words(c: Content, nid: str) -> str:
    """'Almaty office', 'Main menu', 'Children'; a node no longer in the menu says so."""
    node = c.nodes.get(nid)
    if node is None:
        return f"{nid} (no longer in the menu)"
    texts = c.prompts.get(REFERENCE_LANG, {})
    if node.type == "office" and node.office in c.offices:
        return f"{c.offices[node.office].city[REFERENCE_LANG]} office"
    text = texts.get(f"label.{nid}") or texts.get(f"title.{nid}") or nid
    text = str(text).rstrip(".")
    return text[:1].upper() + text[1:]


def refusal_words(reason: str) -> str:
    if reason.startswith("twilio_"):
        return f"refused by Twilio (error {reason.removeprefix('twilio_')})"
    return REFUSALS.get(reason, reason.replace("_", " "))


@operator_bp.app_template_filter("node_words")
def _node_words_filter(nid: str) -> str:
    return node_words(current().content, nid)

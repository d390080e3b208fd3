"""Every log line of the test run, checked for full phone numbers (see conftest.pytest_sessionfinish)."""
from __future__ import annotations

import logging
import re

from hotline.rules.phones import MaskingFilter, mask

# A full number as our code could write it: +CC and 10-15 digits, a bare Kazakh/Russian 7XXXXXXXXXX
# or 8XXXXXXXXXX, the 10-digit national part 7XXXXXXXXX, or +7 with spaces, dashes and brackets.
FULL_NUMBER = re.compile(r"(?<![\w+])(?:\+\d{10,15}|[78]\d{10}|7\d{9})(?!\w)"
                         r"|\+7[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")


def full_numbers(text: str) -> list[str]:
    return FULL_NUMBER.findall(text)


def masked(text: str) -> str:
    """Safe to print: every full number masked by our own rule."""
    return FULL_NUMBER.sub(lambda m: mask(m.group(0)), text)


class SessionLog(logging.Handler):
    """Every log record of the test run, twice: as the app's code wrote it (before any filter) and
    as a real handler would write it (after the phones.MaskingFilter).

    The raw copy proves our code masks numbers itself (the filter is a safety net, not the
    mechanism); the written copy, tracebacks included, is what would reach a log file. Installed
    first on the root logger, so no other handler's masking filter has rewritten a record before.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.addFilter(MaskingFilter())
        self.raw: list[tuple[int, str, str]] = []      # (level, logger, message + exception text)
        self.written: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_session_log_seen", False):  # propagated here from a logger we also watch
            return False
        record._session_log_seen = True
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.raw.append((record.levelno, record.name, text))
        return bool(super().handle(record))  # filters (masking), then emit

    def emit(self, record: logging.LogRecord) -> None:
        self.written.append(self.format(record))

    def mark(self) -> int:
        return len(self.raw)

    def since(self, mark: int) -> list[tuple[int, str, str]]:
        return self.raw[mark:]

    def forget(self, mark: int) -> None:
        """Drop what a test logged on purpose (a canary number) so the session check ignores it."""
        del self.raw[mark:]
        del self.written[mark:]


SESSION_LOG = SessionLog()
SUMMARY: list[str] = []  # lines tests want in the final report (inputs tried, measured latencies)
WATCHED_LOGGERS = ("", "werkzeug", "gunicorn.error", "gunicorn.access")

"""Helpers shared by the tests (not tests themselves): import them as `from support import ...`.

`tests/` is on the import path (pyproject: [tool.pytest.ini_options] pythonpath), so this package
is `support`. Fixtures that use these helpers live in tests/conftest.py; test files never import
conftest or each other.

- app.py      make_app / rest_app: a real app on the test Redis, the frozen fixture content, a fake clock
- phone.py    Twilio (signed webhooks) and Call (a phone call: hear, press, stay silent)
- twilio_api.py  FakeTwilio: Twilio's Messages API on loopback (Twilio replaced only at HTTP)
- redis_server.py  a real redis-server on a unix socket
- redis_probe.py   RoundTripProxy: counts Redis round trips on the wire (worker and webhook budgets)
- logs.py     the session log that fails the run on any full phone number in a log line
- content.py  where the fixture and the shipped content are; private copies to break
- server.py   serving(app): an app on a real HTTP server in a thread (Chromium, `hotline simulate --url`);
              browser_dashboard; free_port and wait_healthy for servers started as processes
"""
from support.app import CALLER, PUBLIC, SECRET, TOKEN, Clock, make_app, outbox, rest_app
from support.content import FIXTURE, ROOT, TODAY, content_copy, edit, line_of, set_prompt
from support.logs import SESSION_LOG, SUMMARY, SessionLog, full_numbers, masked
from support.phone import Call, Twilio
from support.redis_server import redis_binary, start_redis
from support.twilio_api import FakeTwilio

__all__ = ["CALLER", "FIXTURE", "PUBLIC", "ROOT", "SECRET", "SESSION_LOG", "SUMMARY", "TODAY", "TOKEN", "Call", "Clock",
           "FakeTwilio", "SessionLog", "Twilio", "content_copy", "edit", "full_numbers", "line_of", "make_app", "masked",
           "outbox", "redis_binary", "rest_app", "set_prompt", "start_redis"]

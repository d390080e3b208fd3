"""A fake Twilio REST API on loopback: Twilio is replaced only at the HTTP boundary.

It answers POST /2010-04-01/Accounts/<sid>/Messages.json as Twilio does (201 + JSON, or an error
JSON with a code), records every request it accepted, and can be told to fail: by HTTP status,
by Twilio error code, by delay, or by being unreachable (stopped). For calls (issue 12) it also
answers POST/GET Calls.json, GET Recordings/<RE>.mp3 (the media) and DELETE Recordings/<RE>.json.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

# Fields Twilio's Messages API takes on create (the ones this hotline may use).
MESSAGE_FIELDS = {"To", "From", "MessagingServiceSid", "Body", "StatusCallback", "ValidityPeriod", "MaxPrice",
                  "ProvideFeedback", "Attempt", "ForceDelivery", "ContentRetention", "AddressRetention",
                  "SmartEncoded", "PersistentAction", "ShortenUrls", "ScheduleType", "SendAt", "SendAsMms",
                  "ContentSid", "ContentVariables", "RiskCheck", "ApplicationSid", "MediaUrl"}


# Fields Twilio's Calls API takes on create (the ones this hotline may use).
CALL_FIELDS = {"To", "From", "Url", "Twiml", "Method", "FallbackUrl", "FallbackMethod", "StatusCallback",
               "StatusCallbackEvent", "StatusCallbackMethod", "SendDigits", "Timeout", "Record", "TimeLimit",
               "MachineDetection", "CallerId", "ApplicationSid"}


class FakeTwilio:
    def __init__(self, account_sid: str = "AC" + "0" * 32, token: str = "tok") -> None:
        self.account_sid, self.token = account_sid, token
        self.requests: list[dict] = []
        self.messages: list[dict] = []
        self.deleted: list[str] = []  # SIDs deleted through DELETE .../Messages/<sid>.json
        self.failures: deque[tuple[int, int | None]] = deque()  # (http status, twilio code) for the next calls
        self.fail_always: tuple[int, int | None] | None = None
        self.delay = 0.0
        self.calls: list[dict] = []              # call resources created (newest last)
        self.recordings: dict[str, bytes] = {}   # RecordingSid -> media (mp3 bytes)
        self.deleted: list[str] = []             # RecordingSids deleted through the API
        self.media_fetches: list[str] = []
        self.recording_calls: dict[str, str] = {}  # RecordingSid -> CallSid
        self.media_down = False                  # True: media GETs answer 503 (Twilio trouble)
        self.in_flight = 0       # message requests being answered right now
        self.max_in_flight = 0   # the most at once since the start
        self._lock = threading.Lock()
        self._count = 0
        ThreadingHTTPServer.request_queue_size = 256  # many workers at once must not see refusals
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # serve_forever notices shutdown() only between polls: at its default 0.5 s, each test using the
        # fake paid up to half a second in teardown. A 0.02 s poll costs nothing measurable.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _message(self, form: dict, sid: str) -> dict:
        """A message resource as Twilio returns it (and lists it later)."""
        message = {"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                   "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body", ""),
                   "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                   "date_created": formatdate(usegmt=True),
                   "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}
        self.messages.append(message)
        return message

    def add_recording(self, audio: bytes, call_sid: str = "") -> tuple[str, str]:
        """A recording Twilio holds after a <Record>: (RecordingSid, RecordingUrl as Twilio sends it)."""
        with self._lock:
            self._count += 1
            sid = f"RE{self._count:032x}"
            self.recordings[sid] = audio
            self.recording_calls[sid] = call_sid
        return sid, f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def calls_to(self, number: str) -> list[dict]:
        return [c for c in self.calls if c["to"] == number]

    def settle(self, status: str = "delivered") -> None:
        """Every message reaches a final status, as Twilio's would within seconds."""
        with self._lock:
            for m in self.messages:
                m["status"] = status

    def inbound(self, sender: str, body: str) -> dict:
        """A message the number sent us (Twilio keeps those too)."""
        with self._lock:
            self._count += 1
            sid = f"SM{self._count:032x}"
            m = self._message({"To": "+77000000000", "From": sender, "Body": body}, sid)
            m.update(status="received", direction="inbound")
            return m

    def sent_to(self, number: str) -> list[dict]:
        return [r for r in self.requests if r.get("To") == number]

    def _next_failure(self) -> tuple[int, int | None] | None:
        with self._lock:
            if self.failures:
                return self.failures.popleft()
            return self.fail_always

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                good = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.token}".encode()).decode()
                if self.headers.get("Authorization", "") != good:
                    self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return False
                return True

            def _create_call(self, form: dict) -> None:
                unknown = set(form) - CALL_FIELDS
                if unknown or not {"To", "From"} <= set(form) or not ({"Url", "Twiml", "ApplicationSid"} & set(form)):
                    return self._send(400, {"code": 21205, "message": f"bad fields {sorted(unknown)}", "status": 400})
                failure = fake._next_failure()
                if failure:
                    status, code = failure
                    return self._send(status, {"code": code, "message": "fake failure", "status": status})
                with fake._lock:
                    fake._count += 1
                    sid = f"CA{fake._count:032x}"
                    call = {"sid": sid, "account_sid": fake.account_sid, "to": form["To"], "from": form["From"],
                            "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
                            "date_created": formatdate(usegmt=True), "url": form.get("Url"),
                            "status_callback": form.get("StatusCallback"), "timeout": form.get("Timeout"),
                            "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Calls/{sid}.json"}
                    fake.calls.append(call)
                    fake.requests.append({**form, "sid": sid})
                if fake.delay:
                    time.sleep(fake.delay)
                self._send(201, call)

            def do_DELETE(self) -> None:  # noqa: N802 - a recording or a message record
                if self.path.startswith(f"/2010-04-01/Accounts/{fake.account_sid}/Messages/"):
                    if self._authorised():
                        self._delete_message()
                    return
                self._delete_recording()

            def _delete_recording(self) -> None:  # as Twilio deletes it (204)
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Recordings/"
                if not self.path.startswith(prefix) or not self.path.endswith(".json"):
                    return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                if not self._authorised():
                    return
                sid = self.path[len(prefix):-len(".json")]
                with fake._lock:
                    found = fake.recordings.pop(sid, None)
                    if found is not None:
                        fake.deleted.append(sid)
                if found is None:
                    return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                with fake._lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._post()
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _post(self) -> None:
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                good = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.token}".encode()).decode()
                if self.path == f"/2010-04-01/Accounts/{fake.account_sid}/Calls.json":
                    return self._create_call(form) if self._authorised() else None
                if self.path != expected:
                    return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                if auth != good:
                    return self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                unknown = set(form) - MESSAGE_FIELDS
                if unknown or "To" not in form or not ({"From", "MessagingServiceSid"} & set(form)):
                    return self._send(400, {"code": 21604, "message": f"bad fields {sorted(unknown)}", "status": 400})
                if "From" in form and form["To"].startswith("whatsapp:") != form["From"].startswith("whatsapp:"):
                    return self._send(400, {"code": 21910, "message": "Invalid From and To pair", "status": 400})
                if "ContentVariables" in form and "ContentSid" not in form:
                    return self._send(400, {"code": 21654, "message": "ContentSid Required", "status": 400})
                if "ContentSid" not in form and not form.get("Body"):
                    return self._send(400, {"code": 21602, "message": "Message body is required", "status": 400})
                failure = fake._next_failure()
                if failure:
                    if fake.delay:
                        time.sleep(fake.delay)
                    status, code = failure
                    return self._send(status, {"code": code, "message": "fake failure", "status": status,
                                               "more_info": f"https://www.twilio.com/docs/errors/{code}"})
                with fake._lock:  # accepted first: a slow answer does not mean it was not taken
                    fake._count += 1
                    sid = f"SM{fake._count:032x}"
                    message = fake._message(form, sid)
                    fake.requests.append({**form, "sid": sid})
                if fake.delay:
                    time.sleep(fake.delay)
                self._send(201, message)

            def _delete_message(self) -> None:  # only once it is final, as Twilio
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Messages/"
                sid = self.path[len(prefix):].removesuffix(".json")
                with fake._lock:
                    found = next((m for m in fake.messages if m["sid"] == sid), None)
                    if found is None:
                        return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                    if found["status"] in ("queued", "sending", "accepted", "scheduled"):
                        return self._send(400, {"code": 20009, "message": "Cannot delete message because "
                                                "delivery has not been completed.", "status": 400})
                    fake.messages.remove(found)
                    fake.deleted.append(sid)
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802 - the Messages list, filtered by To or From, newest first
                path, _, query = self.path.partition("?")
                base = f"/2010-04-01/Accounts/{fake.account_sid}"
                if path.startswith(base + "/Recordings/") and path.endswith(".mp3"):
                    if not self._authorised():
                        return
                    sid = path[len(base + "/Recordings/"):-len(".mp3")]
                    if fake.media_down:
                        return self._send(503, {"code": 20500, "message": "unavailable", "status": 503})
                    with fake._lock:
                        audio = fake.recordings.get(sid)
                        fake.media_fetches.append(sid)
                    if audio is None:
                        return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/mpeg")
                    self.send_header("Content-Length", str(len(audio)))
                    self.end_headers()
                    self.wfile.write(audio)
                    return
                if path == base + "/Recordings.json":
                    call = parse_qs(query).get("CallSid", [None])[0]
                    with fake._lock:
                        found = [{"sid": sid, "account_sid": fake.account_sid, "call_sid": c, "status": "completed",
                                  "uri": f"{base}/Recordings/{sid}.json", "duration": "5", "api_version": "2010-04-01"}
                                 for sid, c in fake.recording_calls.items() if sid in fake.recordings
                                 and (call is None or c == call)]
                    return self._send(200, {"recordings": found, "next_page_uri": None, "page": 0, "page_size": 50,
                                            "uri": self.path})
                if path == base + "/Calls.json":
                    to = parse_qs(query).get("To", [None])[0]
                    with fake._lock:
                        found = [c for c in reversed(fake.calls) if to is None or c["to"] == to]
                    return self._send(200, {"calls": found[:50], "next_page_uri": None, "page": 0, "page_size": 50,
                                            "uri": self.path})
                if path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    return self._send(404, {"code": 20404, "message": "not found", "status": 404})
                to = parse_qs(query).get("To", [None])[0]
                sender = parse_qs(query).get("From", [None])[0]
                with fake._lock:
                    found = [m for m in reversed(fake.messages)
                             if (to is None or m["to"] == to) and (sender is None or m["from"] == sender)]
                self._send(200, {"messages": found[:50], "next_page_uri": None, "page": 0, "page_size": 50,
                                 "uri": self.path})

        return Handler

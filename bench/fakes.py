"""Fake Twilio Messages APIs for the dispatch benchmark, each in its own process(es).

  python -m bench.fakes --kind tests --out DIR    tests/fake_twilio.FakeTwilio (http.server, a thread and a
                                                  new connection per request: HTTP/1.0)
  python -m bench.fakes --kind fast --procs 2 [--delay 0.15] --out DIR
                                                  the same API on asyncio with HTTP/1.1 keep-alive, in N
                                                  processes sharing one port (SO_REUSEPORT: the kernel
                                                  spreads connections over them)

Both check what FakeTwilio checks (path, Basic auth, known fields, To and From/MessagingServiceSid)
and answer 201 with Twilio's JSON. Each prints `READY <url>` when it listens; on SIGTERM each process
writes the To number of every message it accepted to DIR/to-<pid>.txt (one per line) and exits.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.twilio_api import MESSAGE_FIELDS, FakeTwilio  # noqa: E402

from .common import HOST, SID, TOKEN  # noqa: E402


def _dump(out: Path, numbers: list[str], first: float = 0.0, last: float = 0.0) -> None:
    """DIR/to-<pid>.txt: a first line '# <first> <last>' (epoch seconds of the first and last message), then
    one To number per accepted message."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".to-{os.getpid()}.txt"
    tmp.write_text(f"# {first} {last}\n" + "".join(n + "\n" for n in numbers))
    tmp.replace(out / f"to-{os.getpid()}.txt")


def run_tests_fake(out: Path) -> None:
    fake = FakeTwilio(account_sid=SID, token=TOKEN)
    done = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: done.update(now=True))
    print(f"READY {fake.url}", flush=True)
    while not done["now"]:
        signal.pause()
    fake.stop()
    _dump(out, [r["To"] for r in fake.requests])


# ---- the fast one -----------------------------------------------------------------------------

class FastFake:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.first = self.last = 0.0
        self.expected = f"/2010-04-01/Accounts/{SID}/Messages.json".encode()
        self.auth = ("Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()).encode()
        self.to: list[str] = []

    def answer(self, path: bytes, headers: dict[bytes, bytes], body: bytes) -> tuple[int, dict]:
        if path != self.expected:
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if headers.get(b"authorization") != self.auth:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        unknown = set(form) - MESSAGE_FIELDS
        if unknown or "To" not in form or not ({"From", "MessagingServiceSid"} & set(form)):
            return 400, {"code": 21604, "message": f"bad fields {sorted(unknown)}", "status": 400}
        self.to.append(form["To"])
        self.last = time.time()
        self.first = self.first or self.last
        sid = f"SM{os.getpid():08x}{len(self.to):024x}"
        return 201, {"sid": sid, "account_sid": SID, "to": form["To"], "from": form.get("From"),
                     "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body", ""),
                     "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                     "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
                    return
                lines = head.split(b"\r\n")
                method, path, version = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    if b":" in line:
                        k, v = line.split(b":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                if self.delay:  # Twilio's own latency (the API is far away); other requests go on meanwhile
                    await asyncio.sleep(self.delay)
                status, payload = self.answer(path, headers, body) if method == b"POST" else (405, {"status": 405})
                data = json.dumps(payload).encode()
                close = version == b"HTTP/1.0" or headers.get(b"connection", b"").lower() == b"close"
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                             % (status, len(data), b"Connection: close\r\n" if close else b"") + data)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()


def _serve_fast(sock: socket.socket, out: Path, delay: float) -> None:
    fake = FastFake(delay)

    async def main() -> None:
        server = await asyncio.start_server(fake.handle, sock=sock, backlog=1024)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())
    _dump(out, fake.to, fake.first, fake.last)


def run_fast(out: Path, procs: int, delay: float = 0.0) -> None:
    port = 0
    socks = []
    for _ in range(procs):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((HOST, port))
        port = s.getsockname()[1]
        socks.append(s)
    children = []
    for s in socks:
        s.listen(1024)
        pid = os.fork()
        if pid == 0:
            for other in socks:
                if other is not s:
                    other.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                _serve_fast(s, out, delay)
            finally:
                os._exit(0)
        children.append(pid)
    for s in socks:
        s.close()

    def stop(*_: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    print(f"READY http://{HOST}:{port}", flush=True)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=("tests", "fast"), default="fast")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer (fast kind only)")
    args = ap.parse_args()
    if args.kind == "tests":
        run_tests_fake(args.out)
    else:
        run_fast(args.out, args.procs, args.delay)


if __name__ == "__main__":
    main()

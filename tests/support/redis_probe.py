"""A TCP proxy in front of Redis that counts round trips, seen only on the wire (no client hooks).

Every burst of bytes a client sends after the server last answered it (or after connecting) is one
round trip: a command, a pipeline or a MULTI/EXEC block alike. Used by the tests that hold the worker
and the webhooks to their round-trip budgets, and by bench/ to report them.
"""
from __future__ import annotations

import selectors
import socket
import threading


class RoundTripProxy:
    def __init__(self, port: int | None = None, unix: str | None = None) -> None:
        self.target = unix if unix else ("127.0.0.1", port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self._count = 0
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.listener, selectors.EVENT_READ, None)
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def round_trips(self) -> int:
        with self._lock:
            return self._count

    def reset(self) -> None:
        with self._lock:
            self._count = 0

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        for key in list(self._sel.get_map().values()):
            key.fileobj.close()

    def __enter__(self) -> "RoundTripProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _upstream(self) -> socket.socket:
        if isinstance(self.target, str):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.target)
            return s
        s = socket.create_connection(self.target)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def _loop(self) -> None:
        while not self._stop:
            for key, _ in self._sel.select(0.2):
                if key.data is None:
                    client, _ = self.listener.accept()
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    server = self._upstream()
                    state = {"waiting": False}
                    self._sel.register(client, selectors.EVENT_READ, ("client", client, server, state))
                    self._sel.register(server, selectors.EVENT_READ, ("server", client, server, state))
                    continue
                side, client, server, state = key.data
                src, dst = (client, server) if side == "client" else (server, client)
                try:
                    data = src.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    for s in (client, server):
                        try:
                            self._sel.unregister(s)
                        except (KeyError, ValueError):
                            pass
                        s.close()
                    continue
                if side == "client" and not state["waiting"]:
                    with self._lock:
                        self._count += 1
                state["waiting"] = side == "client"
                try:
                    dst.sendall(data)
                except OSError:
                    pass

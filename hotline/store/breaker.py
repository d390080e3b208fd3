"""A Redis client that skips a hung server after one timeout, so no webhook nears Twilio's 15 s."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from redis.client import Pipeline

log = logging.getLogger(__name__)


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

    def send(self) -> None:
        """execute() for writes whose replies nobody reads (a webhook's one write): the same round
        trip and retries, at about half of redis-py's CPU for a pipeline (no reply callbacks, no
        per-command bookkeeping), which a webhook pays on every request. Raises RedisError (the
        first error reply, after every reply is read) like execute()."""
        stack = self.command_stack
        if self.transaction or self.watching or not stack:
            self.execute()
            return
        commands = [args for args, _ in stack]

        def send_all(conn) -> None:  # noqa: ANN001 - redis-py's Connection
            conn.send_packed_command(conn.pack_commands(commands))
            first: redis.ResponseError | None = None
            for _ in commands:
                try:
                    conn.read_response()
                except redis.ResponseError as exc:  # the reply is read: the next one is in step
                    first = first or exc
            if first is not None:
                raise first

        try:
            with self.breaker.guard():  # getting a connection may ask a hung Redis too (its health check)
                conn = self.connection_pool.get_connection()
                try:
                    conn.retry.call_with_retry(lambda: send_all(conn), lambda _error: conn.disconnect())
                finally:
                    self.connection_pool.release(conn)
        finally:
            self.reset()


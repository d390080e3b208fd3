"""Process settings: the local-mode secret that encrypts phone numbers when none is configured."""
from __future__ import annotations

import threading
from pathlib import Path

from hotline.runtime.settings import local_secret


def test_workers_booting_at_once_share_one_local_secret(tmp_path: Path) -> None:
    """gunicorn boots its workers together on a fresh data directory: each must get the same secret
    (a second one would make the first worker's encrypted numbers unreadable), and none may fail."""
    start = threading.Barrier(12)
    got: list[str] = []
    errors: list[BaseException] = []

    def boot() -> None:
        start.wait()
        try:
            got.append(local_secret(tmp_path))
        except BaseException as exc:  # noqa: BLE001 - the test reports it below
            errors.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 12 and len(set(got)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert local_secret(tmp_path) == got[0], "a restart reads the same secret"

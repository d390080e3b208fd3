"""Process settings from the environment (secrets, URLs); what callers hear lives in config/."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_KEYS = (
    "HOTLINE_ENV", "REDIS_URL", "HOTLINE_DATA_DIR", "HOTLINE_SECRET_KEY", "HOTLINE_CONTENT_DIR",
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER",
    "TWILIO_WHATSAPP_FROM", "TWILIO_VOICE_NUMBER",
    "TWILIO_API_URL", "PUBLIC_URL", "AUDIO_BASE_URL", "OPERATOR_PASSWORD", "OPERATOR_PASSWORD_HASH", "PROXY_HOPS",
    "HOTLINE_SESSION_KEY", "TTS_CACHE_DIR",
)


PASSWORD_HASH_DEFAULT = "scrypt"


def defaults() -> dict[str, Any]:
    return {
        "HOTLINE_ENV": "development",
        "REDIS_URL": "",
        "HOTLINE_DATA_DIR": "var",
        "HOTLINE_SECRET_KEY": "",
        "HOTLINE_CONTENT_DIR": "",
        # Rendered speech (default: HOTLINE_DATA_DIR/tts). Files are named by what they say, so a
        # folder kept across deploys, or shared by processes, spares synthesising them again at start.
        "TTS_CACHE_DIR": "",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "TWILIO_FROM_NUMBER": "",
        "TWILIO_WHATSAPP_FROM": "",  # whatsapp:+7... (or +7...): the registered WhatsApp sender
        "TWILIO_VOICE_NUMBER": "",  # caller ID of every call the hotline places or connects (its own number)
        "TWILIO_API_URL": "",
        "PUBLIC_URL": "",
        "AUDIO_BASE_URL": "",
        "OPERATOR_PASSWORD": "",
        "OPERATOR_PASSWORD_HASH": "",
        # werkzeug's method for operators' passwords. Production takes only the default ("scrypt":
        # N=32768, r=8, p=1, about 0.1 s a guess); tests may choose a cheaper N.
        "PASSWORD_HASH_METHOD": PASSWORD_HASH_DEFAULT,
        "HOTLINE_SESSION_KEY": "",  # signs dashboard cookies and CSRF tokens; never the key that encrypts numbers
        "PROXY_HOPS": 0,  # how many trusted proxies add X-Forwarded-For (1 on most Procfile platforms)
        "MAX_CONTENT_LENGTH": 64 * 1024,  # Twilio webhooks are a few KB; anything larger is refused (413)
        "CONTENT_RELOAD_SECONDS": 2.0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "PERMANENT_SESSION_LIFETIME": 1800,
        "STARTUP_WARNINGS": True,  # False: a command that serves no webhooks (hotline outbox, check, ...)
    }


# Set by the process that printed the start-up warnings (`hotline run`/`serve`, gunicorn's master)
# for the processes it starts, so each warning is printed once, by the process that owns it.
STARTUP_WARNED = "HOTLINE_STARTUP_WARNED"


def startup_warnings(cfg: dict[str, Any]) -> list[str]:
    """What whoever starts this server must know before trusting it (local mode only)."""
    if cfg.get("TWILIO_AUTH_TOKEN"):
        return []
    return ["LOCAL MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked. "
            "Never expose this server to the internet like this."]


def from_env(environ: os._Environ | dict = os.environ) -> dict[str, Any]:
    return {k: environ[k] for k in ENV_KEYS if environ.get(k)}


def content_dir(configured: str) -> Path:
    """Where config/, prompts/ and audio/ are: as configured, else the working directory, else the repo."""
    if configured:
        return Path(configured)
    if (Path.cwd() / "config" / "menu.yaml").exists():
        return Path.cwd()
    return Path(__file__).resolve().parents[2]


def unsafe_for_production(cfg: dict) -> list[str]:
    """What a production deployment must not run with; create_app refuses to start on any of these."""
    problems = []
    if not cfg.get("TWILIO_AUTH_TOKEN"):
        problems.append("TWILIO_AUTH_TOKEN is not set: webhooks must be signed")
    if not str(cfg.get("PUBLIC_URL", "")).startswith("https://"):
        problems.append("PUBLIC_URL must be the https:// address Twilio calls (e.g. https://hotline.example.org): "
                        "without it signatures would be checked against the Host header a client sends, "
                        "the session cookie would not be Secure and there would be no HSTS")
    secret, session_key = str(cfg.get("HOTLINE_SECRET_KEY") or ""), str(cfg.get("HOTLINE_SESSION_KEY") or "")
    if not secret:
        problems.append("HOTLINE_SECRET_KEY is not set (phone numbers are encrypted with it)")
    if len(session_key) < 32 or session_key == secret:
        problems.append("HOTLINE_SESSION_KEY must be set (32+ random characters) and differ from HOTLINE_SECRET_KEY: "
                        "it signs dashboard sessions, so it can be rotated without touching any subscription")
    if cfg.get("OPERATOR_PASSWORD") or cfg.get("OPERATOR_PASSWORD_HASH"):
        problems.append("OPERATOR_PASSWORD/OPERATOR_PASSWORD_HASH are for local mode: in production every operator "
                        "has an account with a second factor (`hotline operators add NAME --role admin`)")
    if cfg.get("PASSWORD_HASH_METHOD", PASSWORD_HASH_DEFAULT) != PASSWORD_HASH_DEFAULT:
        problems.append(f"PASSWORD_HASH_METHOD is for tests: production hashes operators' passwords with "
                        f"werkzeug's {PASSWORD_HASH_DEFAULT!r} (leave it unset)")
    return problems


def local_secret(data_dir: Path, name: str = "secret.key") -> str:
    """A per-installation secret for local mode, kept in the data directory (never in the repo)."""
    path = Path(data_dir) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Web workers boot at the same moment: the file appears whole (a hard link of a written temporary
    # file) or not at all, and whoever loses the race reads the winner's secret.
    value = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value

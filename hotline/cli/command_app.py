"""The hotline as a command that serves no calls sees it (`hotline outbox`, `operators`, `reminders`,
the banner of `hotline run`): the same store and content as the servers, without their start-up work.

No start-up warnings (the servers print their own, once) and no speech rendering: the servers render
it, and a command that ends in a second would only start espeak-ng for nothing.
"""
from __future__ import annotations

from typing import Any


def command_hotline(**config: Any):
    """The running hotline's service object (hotline.runtime.hotline.Hotline), built for a command."""
    from hotline import create_app
    return create_app({"STARTUP_WARNINGS": False, "TTS_PRERENDER": False, **config}).extensions["hotline"]

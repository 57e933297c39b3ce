"""Ctrl-C, SIGTERM and SIGHUP end a run like Ctrl-C; while the bench is made safe, further ones are noted only."""

from __future__ import annotations

import signal
import threading

import pytest

#: signals that end a run the way Ctrl-C does (CI cancellation and `docker stop` send SIGTERM, a dropped SSH
#: session SIGHUP): pytest then runs its teardown and hilbench its safe state
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_PREVIOUS_HANDLERS = pytest.StashKey[dict]()
_DEFERRED_HANDLERS = pytest.StashKey[dict]()


def defer_signals(config: pytest.Config) -> None:
    """From here to the end of teardown Ctrl-C, SIGTERM and SIGHUP are noted, not obeyed: the bench is being made
    safe (each role time-boxed) and the emulators stopped, so the run always ends, and ends safe."""
    if threading.current_thread() is not threading.main_thread() or _DEFERRED_HANDLERS in config.stash:
        return

    def note(signum, frame) -> None:
        print(f"hilbench: {signal.Signals(signum).name} noted: the bench is being made safe, then the run ends")

    config.stash[_DEFERRED_HANDLERS] = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, *STOP_SIGNALS)}


def restore_signals(config: pytest.Config) -> None:
    for sig, handler in config.stash.get(_DEFERRED_HANDLERS, {}).items():
        signal.signal(sig, handler)
    if _DEFERRED_HANDLERS in config.stash:
        del config.stash[_DEFERRED_HANDLERS]


def install_stop_handlers(config: pytest.Config) -> None:
    """The first Ctrl-C, SIGTERM or SIGHUP stops the run like Ctrl-C; any further one is only noted, so pytest's own
    interrupt handling and the safe state that follows cannot be cut short (main thread only, as Python requires)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum, frame) -> None:
        defer_signals(config)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    config.stash[_PREVIOUS_HANDLERS] = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, *STOP_SIGNALS)}


def uninstall_stop_handlers(config: pytest.Config) -> None:
    """The handlers pytest and the caller had before this run, back in place."""
    restore_signals(config)
    for sig, handler in config.stash.get(_PREVIOUS_HANDLERS, {}).items():
        signal.signal(sig, handler)

"""Stopping a run by signal: Ctrl-C, SIGTERM and SIGHUP each stop it between whole samples.

The handler raises :class:`Stopped` (a ``KeyboardInterrupt``) wherever the main thread is, and
records the signal. Raising alone is not enough: a signal that lands while compiled code calls
back into Python (numba unpickling a constant in the middle of a BVH refit, seen in a test run)
has its exception cleared by that code, and the run would render to the end. So the render loops
also call :func:`check` after each sample: a recorded stop raises there at the latest.
"""

from __future__ import annotations

import signal
import threading

#: the signals that stop a run; the exit status is 128 + the number (130, 143, 129)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: the signal that stopped the current run, if any
_stopped_by: list[int] = []


class Stopped(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP (a scheduler, ``ray job stop``, a closed terminal)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum, _frame) -> None:
    if not _stopped_by:
        _stopped_by.append(signum)
    raise Stopped(signum)


def deliver(forget: bool = True) -> None:
    """Let Ctrl-C, SIGTERM and SIGHUP reach this run; ``forget``: and forget an earlier run's stop
    (False when handlers are only set again, e.g. after ``ray.init`` replaced them).

    A process inherits its parent's signal mask: started from a thread that blocks SIGINT (some
    libraries block it while they spawn helpers), a run would never see Ctrl-C and would render
    to the end. An *ignored* signal (SIGINT in a shell's background job) is a choice and stays
    ignored, and a handler of the caller's own (not Python's default Ctrl-C) is left in place.
    Outside the main thread (``facefarm.render`` called from a thread) handlers cannot be set:
    there the caller's handling stands.
    """
    if forget:
        _stopped_by.clear()
    if threading.current_thread() is not threading.main_thread():
        return
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, list(SIGNALS))
    for sig in SIGNALS:
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN or (sig == signal.SIGINT and current not in (signal.default_int_handler, _stop)):
            continue
        signal.signal(sig, _stop)


def check() -> None:
    """Raise :class:`Stopped` if a signal asked this run to stop (even if its first raise was lost)."""
    if _stopped_by:
        raise Stopped(_stopped_by[0])


def exit_status(default: int) -> int:
    """128 + the number of the signal that stopped the run; ``default`` when none did (a plain
    ``KeyboardInterrupt`` raised by the caller's own Ctrl-C handling)."""
    return 128 + _stopped_by[0] if _stopped_by else default

"""Worker processes that die with the process that forked them.

A sweep's workers block on their pool's call queue. When the sweep is killed (SIGKILL, OOM, a
power-cut-like ``os._exit``) or its parent dies, nothing closes that queue for them: they were
left alive for ever, reparented to pid 1. :func:`die_with_parent`, run in each worker as the
pool's ``initializer``, asks Linux to SIGKILL the worker when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), then checks that the parent is still the one that forked it (it
may have died before the request was made). Where ``prctl`` is not available, a daemon thread
polls the parent's pid instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0


def _request_death_signal() -> bool:
    """Ask the kernel for SIGKILL when the parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    prctl.restype = ctypes.c_int
    ok: int = prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    return ok == 0


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as ``parent`` (the sweep's pid) is gone.

    The death signal is sent when the *thread* that forked the worker exits: the sweep creates
    its pool, and so forks every worker (``fork`` pools start them all at once), from the thread
    that runs the whole sweep, which outlives the pool.
    """
    if not _request_death_signal():
        threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request: nobody will signal us
        os._exit(1)

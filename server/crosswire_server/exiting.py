"""A bound on how long `serve` takes to exit once asked to stop.

After the grace period every call has been answered or cancelled, but work a
cancelled call started in a worker thread (segmenting a large text, a
CTranslate2 batch, a library write) cannot be interrupted, and Python waits
for every such thread before the process ends: on a loaded machine that can be
minutes, and an orchestrator's SIGKILL would come first. So once the grace
period and a margin have passed, the process exits without them, saying which
threads it left.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("crosswire.server")

#: What exit may take after the grace period: closing the engine and the library, and the threads' last work.
EXIT_MARGIN_S = 5.0


def exit_within(seconds: float, status: int = 0) -> threading.Timer:
    """End the process with `status` after `seconds` unless it has ended by then (a daemon timer, started)."""
    timer = threading.Timer(seconds, _exit_now, args=(seconds, status))
    timer.daemon = True
    timer.name = "crosswire-exit"
    timer.start()
    return timer


def _exit_now(seconds: float, status: int) -> None:
    busy = sorted(thread.name for thread in threading.enumerate()
                  if thread.is_alive() and not thread.daemon and thread is not threading.main_thread())
    log.warning("exiting without waiting for worker threads", extra={"fields": {
        "after_s": seconds, "threads": len(busy), "names": busy[:20]}})
    for handler in logging.getLogger("crosswire").handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

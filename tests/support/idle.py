"""How a pilot tells that the app has gone idle: in 2 ms slices instead of Textual's 20 ms.

After every key and pause, Textual's pilot waits until the app has processed its queued
messages, then until the process is idle: it sleeps a slice and calls the process idle once
the slice used almost no CPU (a twentieth of it). That sleep is the floor of every key press
(two slices a key) and most of a pilot test's time. A shorter slice keeps the same test (the
event loop runs every ready message before the sleeping pilot resumes, so work still pending
shows as CPU used in the slice) and ends each wait as soon as the app is done; what a test
needs from a worker or a timer it waits for by condition (``tests.support.helpers.until``).
"""

from __future__ import annotations

SLICE_S = 1 / 500


def quick_idle() -> None:
    """Make the pilot's idle test use ``SLICE_S`` slices (Textual reads both at each wait),
    idle once a slice used under a tenth of itself (Textual: a twentieth, 1 ms of 20; a tenth of
    2 ms still sits well above what waking the event loop costs). 2 ms: the decide pilot file
    took 34-37 s against 48-60 s with 5 ms; 1 ms was slower again (slices that never look idle)."""
    import textual._wait as wait

    wait.SLEEP_GRANULARITY = SLICE_S
    wait.SLEEP_IDLE = SLICE_S / 10

"""Pause the cyclic garbage collector around an allocation-heavy step.

A catch-up sweep allocates a few hundred thousand small tuples and NoticeItems that all
live until the step ends; each young-generation collection re-walks the growing heap for
cycles there are none of.  Reference counting still frees everything as usual: only the
cycle detector waits, and it runs again (and the heap is unfrozen) when the step ends,
even if it raised.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    # Objects alive before the step (the loaded plan, SQLAlchemy's metadata) are moved out of
    # the collector's generations, so the one collection after the step does not walk them.
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()

"""The render progress bar: one tqdm bar over all workers (rate, ETA), failures and restarts in its postfix."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """Counts settled samples; ``initial`` are the ones already complete (they do not count in the rate)."""

    def __init__(self, total: int, initial: int = 0, enabled: bool = True):
        self.bar = tqdm(
            total=total,
            initial=initial,
            unit="sample",
            desc="render",
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.1,
            disable=not enabled,
        )
        self.failed = 0
        self.restarts = 0

    def result(self, result: dict) -> None:
        """Callback for one settled sample (``status`` rendered / complete / error)."""
        if result["status"] == "error":
            self.failed += 1
            self._postfix()
        self.bar.update(1)

    def restart(self, slot: int, reason: str) -> None:
        """Callback for a worker that died and was replaced."""
        self.restarts += 1
        self.bar.write(f"worker {slot}: {reason}; its unfinished samples go back to the queue", file=sys.stderr)
        self._postfix()

    def _postfix(self) -> None:
        self.bar.set_postfix(failed=self.failed, restarts=self.restarts, refresh=False)

    def close(self) -> None:
        self.bar.close()

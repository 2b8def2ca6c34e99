"""Input limits in one place: message length, messages per sender, admin token attempts.

A `RateLimiter` counts events per key in a sliding window, in memory, per process (one Rasa server
or one web app; behind nginx each sender is routed to one Rasa server, so its count stays whole).
A key that is over its limit is refused at once, before any work is done for it, so a flood from
one sender costs others nothing but the refusals.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

# The longest message the channels pass to the pipeline (characters); the widget stops at 500.
MAX_MESSAGE_LENGTH = 5000
# Messages one sender may send (REST sender id, socket.io session and connection) per window.
MESSAGES_PER_SENDER = 30
MESSAGE_WINDOW = 60.0
# Failed admin token attempts one client address may make per window; then 429 until it passes.
ADMIN_FAILURES_PER_CLIENT = 10
ADMIN_FAILURE_WINDOW = 300.0
# Widget history requests per client address per window (POST /api/history).
HISTORY_PER_CLIENT = 30
HISTORY_WINDOW = 60.0
# Senders remembered at most; the least recently seen are forgotten first (memory stays bounded).
MAX_KEYS = 100_000


class RateLimiter:
    """At most `limit` events per key within `window` seconds."""

    def __init__(self, limit: int, window: float, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Allow `limit` events per key within `window` seconds, remembering at most `max_keys` keys; none seen yet."""
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._events: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and now - events[0] >= self.window:
            events.popleft()
        return events

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when the key is over its limit."""
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def blocked(self, key: str) -> bool:
        """Whether `key` is at its limit now, without counting anything."""
        with self._lock:
            return len(self._recent(key, self.clock())) >= self.limit

    def hit(self, key: str) -> None:
        """Count one event (a failure, say) for `key`."""
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again (at least 1)."""
        with self._lock:
            events = self._recent(key, self.clock())
            return max(1, int(self.window - (self.clock() - events[0]) + 0.999)) if events else 1

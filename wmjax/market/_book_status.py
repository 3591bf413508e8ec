"""One status channel for the book world (in the manner of diffrax's `RESULTS`).

Every fixed-capacity buffer of the book world reports here, per path, as int32 counters that
sum over paths and intervals; `BookStatus.code` names the first problem, `status_dict` is what
every `--json` output carries, and `check_status` is what a public entry point with
`throw=True` calls: a readable `InputError` on concrete results, or a `checkify` check under
`jit` (wrap the caller in `jax.experimental.checkify.checkify` to get it as an error value).

Raised are the counters that mean events were lost (flow overflow, dropped messages); level
overflow (depth pushed beyond the book's last slot, far from the touch; its shares are kept in
`dropped_shares`) and messages still in flight at the horizon are outcomes of the model, so
they are reported in the code and counters but not raised. Replays (`wmjax.market.replay`,
`replay_final`, batched or not) report through the same channel: `book_status(seed, final)`
gives the counters a book's own fields imply (level overflow, dropped shares, refused crossing
orders, reductions at a price with no level), the markets' counters are zero there.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.experimental import checkify

from wmjax._checks import InputError, is_concrete


class BookResult(IntEnum):
    """Why a book run is not clean (0: it is)."""

    SUCCESSFUL = 0
    FLOW_OVERFLOW = 1  # an interval drew more flow events than its buffer holds
    LEVEL_OVERFLOW = 2  # a new price level fell beyond the book's last slot
    MESSAGE_OVERFLOW = 3  # our message found the in-flight queue full and was dropped
    LATE_MESSAGES = 4  # our message was still in flight at the horizon (never arrived)


_FIX = {
    BookResult.FLOW_OVERFLOW: "raise BookMarket(events_per_step=...)",
    BookResult.MESSAGE_OVERFLOW: "raise BookMarket(max_in_flight=...) or send fewer messages",
}


@struct.dataclass
class BookStatus:
    """Per-path counters (int32); all zero is a clean run.

    Attributes:
        flow_overflow_intervals: intervals whose flow exceeded `events_per_step` (the extra
            events were dropped).
        level_overflow_events: book updates that pushed a level beyond the last slot.
        dropped_shares: shares on those levels (conserved in the book's counters).
        message_overflow: our messages dropped because `max_in_flight` were already in flight.
        late_messages: our messages still in flight at the horizon (their latency ran past it).
        rejected_orders: limit orders refused because they would have crossed the book.
        unmatched_reductions: cancels or executions at a price with no resting level (in a
            replay: usually a level beyond the file's view).
    """

    flow_overflow_intervals: jax.Array
    level_overflow_events: jax.Array
    dropped_shares: jax.Array
    message_overflow: jax.Array
    late_messages: jax.Array
    rejected_orders: jax.Array
    unmatched_reductions: jax.Array

    @classmethod
    def zero(cls) -> BookStatus:
        z = jnp.int32(0)
        return cls(z, z, z, z, z, z, z)

    def __add__(self, other: BookStatus) -> BookStatus:
        return jax.tree.map(jnp.add, self, other)

    @property
    def code(self) -> jax.Array:
        """int32 `BookResult` of the first non-zero counter, per path."""
        flags = jnp.stack(
            [
                self.flow_overflow_intervals > 0,
                self.level_overflow_events > 0,
                self.message_overflow > 0,
                self.late_messages > 0,
            ],
            axis=-1,
        )
        first = jnp.argmax(flags, axis=-1).astype(jnp.int32) + 1
        return jnp.where(jnp.any(flags, axis=-1), first, BookResult.SUCCESSFUL)


def book_status(before, after) -> BookStatus:
    """The counters that a book's own fields imply between two `BookState`s (`after` reached
    from `before`; any leading batch axes): level overflow, dropped shares, rejected orders and
    unmatched reductions; the market-only counters are 0."""
    z = jnp.zeros_like(after.dropped_shares)
    return BookStatus(
        flow_overflow_intervals=z,
        level_overflow_events=after.overflow_events - before.overflow_events,
        dropped_shares=after.dropped_shares - before.dropped_shares,
        message_overflow=z,
        late_messages=z,
        rejected_orders=after.rejected - before.rejected,
        unmatched_reductions=after.unmatched - before.unmatched,
    )


def status_dict(status: BookStatus) -> dict:
    """Counters summed over paths (plain ints) and the first result's name, for `--json`."""
    out = {name: int(np.sum(np.asarray(getattr(status, name)))) for name in _NAMES}
    codes = np.asarray(status.code).ravel()
    bad = codes[codes > 0]
    out["result"] = BookResult(int(bad.min()) if bad.size else 0).name.lower()
    return out


_NAMES = (
    "flow_overflow_intervals",
    "level_overflow_events",
    "dropped_shares",
    "message_overflow",
    "late_messages",
    "rejected_orders",
    "unmatched_reductions",
)
_RAISED = {
    "flow_overflow_intervals": BookResult.FLOW_OVERFLOW,
    "message_overflow": BookResult.MESSAGE_OVERFLOW,
}


def check_status(status: BookStatus, where: str) -> None:
    """Raise `InputError` naming the counter and the fix if events were lost (flow overflow,
    dropped messages; concrete results); under tracing, a `checkify.check` instead."""
    leaves = [getattr(status, n) for n in _RAISED]
    if is_concrete(*leaves):
        for name, result in _RAISED.items():
            total = int(np.sum(np.asarray(getattr(status, name))))
            if total:
                raise InputError(
                    f"{where}: {name} = {total} ({result.name}); {_FIX[result]}, or pass "
                    "throw=False to get the counters in .status"
                )
        return
    ok = jnp.all(jnp.stack([jnp.sum(x) == 0 for x in leaves]))
    fixes = "; ".join(_FIX[r] for r in _RAISED.values())
    checkify.check(ok, f"{where}: events were lost (flow or message overflow); {fixes}")

"""A slow, obviously-correct price-level book in plain Python, the oracle for `wmjax.market`.

Each side is a dict price -> shares. At most `levels` prices are kept per side: when a new price
would make `levels + 1`, the worst one is dropped and its shares are counted as dropped.
"""

from __future__ import annotations


class ReferenceBook:
    def __init__(self, levels: int):
        self.levels = levels
        self.sides = [{}, {}]  # 0 = bid, 1 = ask
        self.added = self.traded = self.cancelled = self.dropped = 0
        self.rejected = self.unmatched = 0

    def _better(self, side: int, a: int, b: int) -> bool:
        return a > b if side == 0 else a < b

    def best(self, side: int):
        book = self.sides[side]
        if not book:
            return None
        return max(book) if side == 0 else min(book)

    def ordered(self, side: int) -> list[tuple[int, int]]:
        return sorted(self.sides[side].items(), reverse=(side == 0))

    def limit(self, side: int, price: int, size: int) -> None:
        if size <= 0:
            return
        opp = self.best(1 - side)
        crosses = opp is not None and (price >= opp if side == 0 else price <= opp)
        if crosses:
            self.rejected += 1
            return
        book = self.sides[side]
        self.added += size
        if price in book:
            book[price] += size
            return
        book[price] = size
        if len(book) > self.levels:
            worst = self.ordered(side)[-1][0]
            self.dropped += book.pop(worst)

    def reduce(self, side: int, price: int, size: int, trade: bool) -> None:
        if size <= 0:
            return
        book = self.sides[side]
        if price not in book:
            self.unmatched += 1
            return
        taken = min(size, book[price])
        book[price] -= taken
        if book[price] == 0:
            del book[price]
        if trade:
            self.traded += taken
        else:
            self.cancelled += taken

    def market(self, side: int, size: int) -> list[int]:
        """Hit `side` with `size` shares; returns the fills per level, best first."""
        fills = []
        for price, available in self.ordered(side):
            take = min(size, available)
            fills.append(take)
            size -= take
            if take:
                self.reduce(side, price, take, trade=True)
        return fills

    def arrays(self) -> tuple[list[list[int]], list[list[int]]]:
        """(prices, sizes) as [side][slot] lists padded with zeros to `levels`."""
        prices, sizes = [], []
        for side in (0, 1):
            rows = self.ordered(side)
            pad = [(0, 0)] * (self.levels - len(rows))
            prices.append([p for p, _ in rows + pad])
            sizes.append([q for _, q in rows + pad])
        return prices, sizes


class ReferenceOwnOrders:
    """Own orders on a `ReferenceBook`, one Python object per order, following the documented
    rules of `wmjax.market` (virtual resting orders, hftbacktest-style queue position with the
    proportional cancel rule, n = 1): the oracle of the differential own-order test."""

    def __init__(self, book: ReferenceBook, capacity: int):
        self.book = book
        self.orders = [None] * capacity  # dicts; None = empty slot

    def submit(self, side, size, now, latency_s, price, is_market):
        for slot, order in enumerate(self.orders):
            if order is None:
                self.orders[slot] = dict(
                    side=side, price=price, is_market=is_market, remaining=float(size),
                    filled=0.0, notional=0.0, ahead=0.0, status="in_flight",
                    arrival=now + latency_s, cancel_at=float("inf"),
                )  # fmt: skip
                return slot
        return -1

    def cancel(self, slot, at):
        if self.orders[slot] is not None:
            self.orders[slot]["cancel_at"] = min(self.orders[slot]["cancel_at"], at)

    def _volume(self, side, price):
        return float(self.book.sides[side].get(price, 0))

    def _arrivals(self, now):
        for o in self.orders:
            if o is not None and o["status"] in ("in_flight", "resting") and o["cancel_at"] <= now:
                o["status"] = "done"
        for o in self.orders:
            if o is None or o["status"] != "in_flight" or o["arrival"] > now:
                continue
            opp = 1 - o["side"]
            want = round(o["remaining"])
            for price, available in self.book.ordered(opp):
                better = o["is_market"] or (
                    price <= o["price"] if o["side"] == 0 else price >= o["price"]
                )
                if want == 0 or not better:
                    break
                take = min(want, available)
                self.book.reduce(opp, price, take, trade=True)
                o["remaining"] -= take
                o["filled"] += take
                o["notional"] += take * price
                want -= take
            if o["remaining"] > 0 and not o["is_market"]:
                o["status"] = "resting"
                o["ahead"] = self._volume(o["side"], o["price"])
            else:
                o["status"] = "done"

    def event(self, now, kind, side, price, size):
        """kind 0 limit, 1 cancel, 2 market (`side` is the side hit)."""
        self._arrivals(now)
        before = {(s, p): self._volume(s, p) for s in (0, 1) for p in list(self.book.sides[s])}
        fills = {}
        if kind == 0:
            self.book.limit(side, price, size)
        elif kind == 1:
            self.book.reduce(side, price, size, trade=False)
        else:
            levels = self.book.ordered(side)
            for (p, _), take in zip(levels, self.book.market(side, size), strict=False):
                fills[p] = take
        for o in self.orders:
            if o is None or o["status"] != "resting":
                continue
            d = 1 if o["side"] == 0 else -1
            fill = 0.0
            if kind == 2 and side == o["side"]:
                here = fills.get(o["price"], 0)
                fill = max(here - o["ahead"], 0.0) + sum(
                    q for p, q in fills.items() if d * p < d * o["price"]
                )
                o["ahead"] = max(o["ahead"] - here, 0.0)
            if kind == 0 and side != o["side"] and d * price <= d * o["price"]:
                fill += size
            fill = min(fill, o["remaining"])
            vol_after = self._volume(o["side"], o["price"])
            if kind == 1 and side == o["side"] and price == o["price"]:
                vol_before = before.get((o["side"], o["price"]), 0.0)
                behind = max(vol_before - o["ahead"], 0.0)
                if o["ahead"] + behind > 0:
                    removed = vol_before - vol_after
                    o["ahead"] -= removed * o["ahead"] / (o["ahead"] + behind)
            o["ahead"] = min(max(o["ahead"], 0.0), vol_after)
            o["remaining"] -= fill
            o["filled"] += fill
            o["notional"] += fill * o["price"]
            if o["remaining"] <= 0:
                o["status"] = "done"

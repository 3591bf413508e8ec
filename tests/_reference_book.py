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

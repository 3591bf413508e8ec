"""The only place that reads files: LOBSTER messages/order books, event and fills CSVs."""

__all__: list[str] = []

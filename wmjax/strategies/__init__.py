"""Trading strategies that are not the execution of a parent order: market makers (so far)."""

from wmjax.strategies._market_makers import (
    AvellanedaStoikov,
    DepthTable,
    as_inventory_quotes,
    as_spread,
    as_symmetric_quotes,
    avellaneda_stoikov,
    cjp_table,
    glft_asymptotic_depths,
    glft_table,
    table_quotes,
)

__all__ = [
    "AvellanedaStoikov",
    "DepthTable",
    "as_inventory_quotes",
    "as_spread",
    "as_symmetric_quotes",
    "avellaneda_stoikov",
    "cjp_table",
    "glft_asymptotic_depths",
    "glft_table",
    "table_quotes",
]

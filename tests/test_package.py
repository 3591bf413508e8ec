"""The package's surface: `import wmjax as wm` reaches every layer (issue 16), and the book's
internals stay out of `wmjax.market`."""

import pkgutil

import wmjax as wm


def test_every_public_subpackage_but_the_cli_is_an_attribute_of_the_package():
    layers = {m.name for m in pkgutil.iter_modules(wm.__path__) if not m.name.startswith("_")}
    assert {"hawkes", "market", "execution", "models", "live"} <= layers
    missing = sorted(name for name in layers - {"cli"} if not hasattr(wm, name))
    assert not missing, f"not reached by `import wmjax as wm`: {missing}"
    assert set(layers - {"cli"}) <= set(wm.__all__)


def test_book_internals_are_not_exported_from_market():
    exported = set(wm.market.__all__) | set(dir(wm.market))
    assert not exported & {"apply_delta", "invariants", "check_book", "check_own_orders"}

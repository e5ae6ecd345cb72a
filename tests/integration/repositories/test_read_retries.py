"""Every repository read retries transient unavailability; every write is left alone."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from datalayer import repositories


def repository_methods() -> list[tuple[str, object]]:
    found = []
    for module in pkgutil.iter_modules(repositories.__path__):
        loaded = importlib.import_module(f"{repositories.__name__}.{module.name}")
        for cls in vars(loaded).values():
            if not inspect.isclass(cls) or cls.__module__ != loaded.__name__:
                continue
            for name, method in vars(cls).items():
                if inspect.iscoroutinefunction(method):
                    found.append((f"{cls.__name__}.{name}", method))
    return found


def opens(method: object, needle: str) -> bool:
    source = inspect.getsource(inspect.unwrap(method))  # type: ignore[arg-type]
    return needle in source


def test_every_method_that_opens_a_read_transaction_retries() -> None:
    readers = [
        (name, method)
        for name, method in repository_methods()
        if opens(method, "read_transaction()")
        or opens(method, "_unit(session, write=False)")
        or opens(method, "cached_read(")  # a read transaction, through the cache
    ]
    assert len(readers) >= 25
    unprotected = [name for name, method in readers if not hasattr(method, "__wrapped__")]
    assert unprotected == []


def test_no_write_is_retried() -> None:
    writers = [
        name
        for name, method in repository_methods()
        if hasattr(method, "__wrapped__")
        and (opens(method, ".transaction()") or opens(method, "write=True"))
        and not opens(method, "read_transaction()")
    ]
    assert writers == []

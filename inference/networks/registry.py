"""Registry of network builders, keyed by a stable name.

A builder is any callable returning a :class:`~inference.networks.base.ClickNetwork`; it is registered
with ``@register("name")``. Checkpoints in our own format store that name plus the builder's keyword
parameters (``config = {"class": name, "params": {...}}``), so ``build(name, **params)`` rebuilds the
architecture.

Builders for the networks in this package are registered when their modules are imported;
:func:`_ensure_builtin_modules` imports them lazily so that ``build`` works without the caller importing
each module first.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

from .base import ClickNetwork

Builder = Callable[..., ClickNetwork]
B = TypeVar("B", bound=Builder)

_BUILDERS: dict[str, Builder] = {}

# Modules of this package that register builders on import (imported lazily by build/registered_names).
_BUILTIN_MODULES: tuple[str, ...] = (
    "inference.networks.hrnet_ritm",
    "inference.networks.deeplab_fbrs",
    "inference.networks.hrnet_fbrs",
    "inference.networks.deeplab_ritm",
    "inference.networks.mobilenet",
)
_builtins_loaded = False


class UnknownNetworkError(KeyError):
    """Raised when a network name is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown network"


def register(name: str) -> Callable[[B], B]:
    """Decorator registering a builder function under ``name``.

    Args:
        name: non-empty registry name; registering the same name twice with a different builder raises
            ``ValueError`` (re-registering the identical function, e.g. on module reload, is allowed).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"network name must be a non-empty string, got {name!r}")

    def decorator(builder: B) -> B:
        if not callable(builder):
            raise TypeError(f"builder for {name!r} must be callable, got {type(builder).__name__}")
        existing = _BUILDERS.get(name)
        if existing is not None and existing is not builder and (
            getattr(existing, "__qualname__", None) != getattr(builder, "__qualname__", None)
            or getattr(existing, "__module__", None) != getattr(builder, "__module__", None)
        ):
            raise ValueError(f"network name {name!r} is already registered by {existing!r}")
        _BUILDERS[name] = builder
        return builder

    return decorator


def _ensure_builtin_modules() -> None:
    """Import this package's network modules once so their ``@register`` decorators have run."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module not written (yet) is simply absent
            if exc.name != module:
                raise


def registered_names() -> list[str]:
    """Sorted list of all registered network names."""
    _ensure_builtin_modules()
    return sorted(_BUILDERS)


def get_builder(name: str) -> Builder:
    """Return the builder registered under ``name``; raises :class:`UnknownNetworkError` otherwise."""
    _ensure_builtin_modules()
    try:
        return _BUILDERS[name]
    except KeyError:
        known = ", ".join(sorted(_BUILDERS)) or "(none)"
        raise UnknownNetworkError(f"unknown network {name!r}; registered networks: {known}") from None


def build(name: str, **params: Any) -> ClickNetwork:
    """Build the network registered under ``name`` with keyword ``params``.

    Raises:
        UnknownNetworkError: ``name`` is not registered.
        TypeError: the builder rejects the parameters, or did not return a ClickNetwork.
    """
    builder = get_builder(name)
    try:
        net = builder(**params)
    except TypeError as exc:
        raise TypeError(f"cannot build network {name!r} with params {sorted(params)}: {exc}") from exc
    if not isinstance(net, ClickNetwork):
        raise TypeError(f"builder {name!r} returned {type(net).__name__}, not a ClickNetwork")
    return net

"""Calls the real Lambda handlers in-process, as Lambda would: one warm container per function.

Handlers are imported lazily (the first call pays the cold start, like Lambda) and each function
serves one invocation at a time: a Lambda container never runs two events at once, so module-level
caches in a handler need not be thread-safe, and the local stack must not pretend they do.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from local_stack.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


class Invoker(Protocol):
    """What the gateway and the scheduler need: load a handler module, run one invocation."""

    def load(self, function: str, module: str = "handler") -> ModuleType: ...

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ) -> Any: ...


class FunctionNotFound(Exception):
    """The route table names a function whose handler module does not exist (yet)."""


class HandlerInvoker:
    def __init__(self, package: str = "functions") -> None:
        self._package = package
        self._modules: dict[str, ModuleType] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def module_name(self, function: str, module: str = "handler") -> str:
        return f"{self._package}.{function}.{module}"

    def load(self, function: str, module: str = "handler") -> ModuleType:
        """Import ``functions.<function>.<module>`` once (thread-safe)."""
        name = self.module_name(function, module)
        with self._guard:
            if name not in self._modules:
                try:
                    self._modules[name] = importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name is not None and name.startswith(exc.name):
                        raise FunctionNotFound(f"{name} does not exist") from exc
                    raise
                self._locks[name] = threading.Lock()
            return self._modules[name]

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ) -> Any:
        """Run one invocation of ``functions.<function>.<module>.<entry>`` with a fresh context."""
        loaded = self.load(function, module)
        handler: Handler = getattr(loaded, entry)
        name = self.module_name(function, module)
        context = LambdaContext(
            function_name=f"managed-accounts-local-{function}-{module}",
            log_group_name=f"/aws/lambda/managed-accounts-local-{function}-{module}",
        )
        with self._locks[name]:
            return handler(event, context)

"""The one place shared test doubles are registered: tests/fakes/world.py is a plugin, so its fixtures
(``world``, ``moto_world``, ``either_world``, ``table``, ``aws``, ``atomic_moto``, ...) reach every test
without per-directory re-exports. The doubles themselves are plain modules under tests/fakes/."""

pytest_plugins = ["tests.fakes.world"]

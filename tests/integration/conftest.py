import pytest

from tests.fakes.world import World, atomic_moto, aws, moto_world, table

__all__ = ["atomic_moto", "aws", "moto_world", "table", "world"]


@pytest.fixture
def world(moto_world: World) -> World:
    """In integration tests every scenario runs on the real DynamoDB adapter (moto)."""
    return moto_world

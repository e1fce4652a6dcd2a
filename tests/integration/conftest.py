import pytest

from tests.fakes.world import World


@pytest.fixture
def world(moto_world: World) -> World:
    """In integration tests every scenario runs on the real DynamoDB adapters (moto)."""
    return moto_world

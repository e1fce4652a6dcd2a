from tests.fakes.world import aws, moto_world, table, world

__all__ = ["aws", "moto_world", "table", "world"]

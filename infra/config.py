"""Per-stage deploy configuration, read from the CDK context (``cdk.json`` → ``stages.<stage>``).

``settings`` holds values of ``managed_accounts.config.Settings`` (camelCase keys); they are validated
with the very model the functions use, so a typo fails the synth, not a cold start.
"""

from __future__ import annotations

import json
import re
from typing import Any

from managed_accounts.config import Settings
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

DFNS_API_URL = "https://api.dfns.io"  # the default region (DFNS.md §1.1); the UAE one is api.uae.dfns.io

# Set by the stack from the resources it creates, never from configuration.
RESOURCE_SETTINGS = frozenset(
    {
        "stage",
        "service_name",
        "table_name",
        "idempotency_table_name",
        "event_bus_name",
        "order_queue_url",
        "dfns_secret_name",
        "webhook_secret_name",
        "aws_endpoint_url",  # local stack only
    }
)


class DeploySettings(Settings):
    """``Settings`` from the given values only: the synth machine's environment must not leak in."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class StageConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    settings: dict[str, Any] = Field(default_factory=dict)
    alarm_email: str | None = None
    log_retention: str = "ONE_MONTH"  # an aws_logs.RetentionDays name
    api_throttle_rate: float = Field(default=50, gt=0)
    api_throttle_burst: int = Field(default=100, gt=0)
    # Data outlives the stack (retained, deletion-protected) everywhere but dev, unless set explicitly.
    retain_data: bool | None = None

    def retains_data(self, stage: str) -> bool:
        return self.retain_data if self.retain_data is not None else stage != "dev"

    def app_settings(self, stage: str) -> Settings:
        values = {_snake(k): v for k, v in self.settings.items()}
        forbidden = RESOURCE_SETTINGS & values.keys()
        if forbidden:
            raise ValueError(f"stages.{stage}.settings cannot set {sorted(forbidden)}: the stack sets them")
        values.setdefault("dfns_api_url", DFNS_API_URL)
        return DeploySettings(stage=stage, **values)

    def function_environment(self, stage: str) -> dict[str, str]:
        """The Settings fields the configuration decides, as the env vars pydantic-settings reads."""
        dumped = self.app_settings(stage).model_dump(mode="json", by_alias=True, exclude_none=True)
        env = {
            name.upper(): value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for name, value in dumped.items()
            if name not in RESOURCE_SETTINGS
        }
        env["STAGE"] = stage
        return env


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def load_stage_config(context: Any, stage: str) -> StageConfig:
    """``stages.<stage>`` from the context; a stage without an entry gets the defaults."""
    stages = context or {}
    if isinstance(stages, str):  # -c stages='{"…"}' arrives as a string
        stages = json.loads(stages)
    return StageConfig.model_validate(stages.get(stage, {}))

"""Per-stage deploy configuration, read from the CDK context (``cdk.json`` → ``stages.<stage>``).

``settings`` holds values of ``managed_accounts.config.Settings`` (camelCase keys); they are validated
with the very model the functions use, so a bad value fails the synth, not a cold start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from managed_accounts.config import Settings
from managed_accounts.routes import ROUTES, Route
from pydantic import BaseModel, ConfigDict, Field, model_validator
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


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class Throttle(_Camel):
    """An API Gateway method throttle: for the whole stage, all callers together (WAF limits each IP)."""

    rate: float = Field(gt=0)  # steady requests per second
    burst: int = Field(gt=0)


class ApiThrottles(_Camel):
    """Method throttles by route class, derived from the route table, and per-route overrides.

    Every client write reaches Dfns (about 2 signed calls), whose rate limit is per organisation (100 or
    1000 a minute by plan): writes get a small budget, reads a larger one, Dfns's webhook deliveries their
    own so a flood of client calls can never starve them (nor the reverse).
    """

    stage: Throttle = Throttle(rate=50, burst=100)  # anything without a route (CORS preflights)
    read: Throttle = Throttle(rate=50, burst=100)  # client GETs
    write: Throttle = Throttle(rate=5, burst=10)  # client POST/PUT/DELETE
    operator: Throttle = Throttle(rate=1, burst=2)  # operator routes (order runs)
    webhook: Throttle = Throttle(rate=20, burst=40)  # POST /webhooks/dfns
    routes: dict[str, Throttle] = Field(default_factory=dict)  # "POST /accounts" -> its own budget

    def for_route(self, route: Route) -> Throttle:
        override = self.routes.get(route_key(route))
        if override is not None:
            return override
        if route.auth == "webhook":
            return self.webhook
        if route.auth == "operator":
            return self.operator
        return self.read if route.method == "GET" else self.write

    def check(self, routes: Iterable[Route]) -> None:
        unknown = set(self.routes) - {route_key(r) for r in routes}
        if unknown:
            raise ValueError(f"apiThrottles.routes names no route of the table: {sorted(unknown)}")


def route_key(route: Route) -> str:
    return f"{route.method} {route.path}"


class StageConfig(_Camel):
    settings: dict[str, Any] = Field(default_factory=dict)
    alarm_email: str | None = None
    log_retention: str = "ONE_MONTH"  # an aws_logs.RetentionDays name
    api_throttles: ApiThrottles = Field(default_factory=ApiThrottles)
    # Only a throwaway stage (a developer's or CI's) loses its tables and secrets with the stack. Every
    # other stage retains them, with deletion protection on the tables.
    throwaway: bool = False

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "retainData" in data:
            raise ValueError(
                "retainData was replaced by throwaway (its inverse; default false): see DEPLOY.md"
            )
        return data

    @model_validator(mode="after")
    def _throttled_routes_exist(self) -> StageConfig:
        self.api_throttles.check(ROUTES)
        return self

    @property
    def retains_data(self) -> bool:
        return not self.throwaway

    def app_settings(self, stage: str) -> DeploySettings:
        values = {_snake(k): v for k, v in self.settings.items()}
        forbidden = RESOURCE_SETTINGS & values.keys()
        if forbidden:
            raise ValueError(f"stages.{stage}.settings cannot set {sorted(forbidden)}: the stack sets them")
        values.setdefault("dfns_api_url", DFNS_API_URL)
        settings = DeploySettings(stage=stage, **values)
        approvers = settings.compliance_approver_ids
        if approvers and settings.compliance_quorum > len(approvers):
            # The governance policy would wait forever for approvals nobody can give: every policy locked.
            raise ValueError(
                f"stages.{stage}.settings.complianceQuorum is {settings.compliance_quorum} but only "
                f"{len(approvers)} compliance approver(s) are listed"
            )
        return settings

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


def context_flag(value: object, name: str) -> bool | None:
    """A boolean ``-c name=true|false`` (a string on the command line, a bool in cdk.json); None if unset."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"-c {name}={value!r}: use true or false")


def load_stage_config(context: Any, stage: str, *, throwaway: object = None) -> StageConfig:
    """``stages.<stage>`` from the context (a stage without an entry gets the defaults); ``throwaway`` is
    the ``-c throwaway=…`` flag, which overrides the stage's own setting."""
    stages = context or {}
    if isinstance(stages, str):  # -c stages='{"…"}' arrives as a string
        stages = json.loads(stages)
    config = StageConfig.model_validate(stages.get(stage, {}))
    flag = context_flag(throwaway, "throwaway")
    return config if flag is None else config.model_copy(update={"throwaway": flag})

"""Per-stage configuration: validated with the functions' own Settings model, never from the synth
machine's environment, and unable to override what the stack owns."""

from __future__ import annotations

import json

import pytest
from managed_accounts.routes import ROUTES
from pydantic import ValidationError

from infra.config import StageConfig, Throttle, load_stage_config
from infra.constants import CDK_JSON


def test_settings_become_the_env_vars_settings_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLIANCE_APPROVER_IDS", '["us-from-my-laptop"]')  # must not leak into a deploy
    config = StageConfig.model_validate(
        {"settings": {"complianceApproverIds": ["us-1"], "limitProfiles": {"vip": {"countLimit": 5}}}}
    )
    env = config.function_environment("prod")
    assert env["COMPLIANCE_APPROVER_IDS"] == '["us-1"]'
    assert json.loads(env["LIMIT_PROFILES"])["vip"]["countLimit"] == 5
    assert env["DFNS_API_URL"].startswith("https://api.dfns.io")
    assert env["STAGE"] == "prod"
    assert "TABLE_NAME" not in env  # the stack sets it from the table it creates


def test_invalid_or_stack_owned_settings_fail_the_synth() -> None:
    with pytest.raises(ValidationError):
        StageConfig.model_validate({"settings": {"whitelistAction": "Allow"}}).app_settings("prod")
    with pytest.raises(ValueError, match="table_name"):
        StageConfig.model_validate({"settings": {"tableName": "x"}}).app_settings("prod")
    with pytest.raises(ValidationError):
        StageConfig.model_validate({"retainDta": True})  # typos in stage keys are errors too


def test_data_is_retained_in_every_stage_but_a_throwaway_one() -> None:
    assert load_stage_config({}, "dev").retains_data  # a stage's name decides nothing
    assert load_stage_config({}, "staging").retains_data
    assert not load_stage_config({"dev": {"throwaway": True}}, "dev").retains_data
    # -c throwaway=true|false (strings from the CLI) overrides the stage's own setting.
    assert not load_stage_config({}, "pr-42", throwaway="true").retains_data
    assert load_stage_config(json.dumps({"dev": {"throwaway": True}}), "dev", throwaway="false").retains_data
    with pytest.raises(ValueError, match="throwaway"):
        load_stage_config({}, "dev", throwaway="maybe")
    with pytest.raises(ValidationError, match="replaced by throwaway"):
        load_stage_config({"prod": {"retainData": True}}, "prod")


def test_cdk_json_retains_prod_and_throws_dev_away() -> None:
    stages = json.loads(CDK_JSON.read_text())["context"]["stages"]
    assert load_stage_config(stages, "prod").retains_data
    assert not load_stage_config(stages, "dev").retains_data
    # The production example asks for two approvers per policy change.
    assert load_stage_config(stages, "prod").function_environment("prod")["COMPLIANCE_QUORUM"] == "2"


def test_compliance_quorum_reaches_the_functions_and_fits_the_approvers() -> None:
    config = StageConfig.model_validate(
        {"settings": {"complianceApproverIds": ["us-1", "us-2"], "complianceQuorum": 2}}
    )
    assert config.function_environment("prod")["COMPLIANCE_QUORUM"] == "2"
    assert StageConfig().function_environment("dev")["COMPLIANCE_QUORUM"] == "1"  # one approval by default
    with pytest.raises(ValueError, match="complianceQuorum is 3 but only 2"):
        StageConfig.model_validate(
            {"settings": {"complianceApproverIds": ["us-1", "us-2"], "complianceQuorum": 3}}
        ).app_settings("prod")
    with pytest.raises(ValidationError):
        StageConfig.model_validate({"settings": {"complianceQuorum": 0}}).app_settings("prod")


def test_throttles_by_route_class_with_per_route_overrides() -> None:
    throttles = StageConfig.model_validate(
        {
            "apiThrottles": {
                "webhook": {"rate": 7, "burst": 9},
                "routes": {"POST /accounts": {"rate": 1, "burst": 1}},
            }
        }
    ).api_throttles
    by_key = {f"{r.method} {r.path}": throttles.for_route(r) for r in ROUTES}
    assert by_key["POST /webhooks/dfns"] == Throttle(rate=7, burst=9)
    assert by_key["POST /accounts"] == Throttle(rate=1, burst=1)
    assert by_key["GET /accounts/me"] == throttles.read
    assert by_key["POST /accounts/me/destination-requests"] == throttles.write
    assert (
        throttles.write.rate < throttles.read.rate
    )  # writes reach Dfns, whose rate limit is per organisation
    with pytest.raises(ValidationError, match="names no route"):
        StageConfig.model_validate({"apiThrottles": {"routes": {"POST /nowhere": {"rate": 1, "burst": 1}}}})

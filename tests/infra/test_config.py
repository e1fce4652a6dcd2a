"""Per-stage configuration: validated with the functions' own Settings model, never from the synth
machine's environment, and unable to override what the stack owns."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from infra.config import StageConfig, load_stage_config


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


def test_data_is_retained_everywhere_but_dev_unless_configured() -> None:
    assert not load_stage_config({}, "dev").retains_data("dev")
    assert load_stage_config({}, "staging").retains_data("staging")
    assert not load_stage_config({"qa": {"retainData": False}}, "qa").retains_data("qa")
    assert load_stage_config(json.dumps({"prod": {"retainData": True}}), "prod").retains_data("prod")

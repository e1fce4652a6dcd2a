"""The cold-start baseline of DESIGN.md §7: a bare Powertools REST handler with boto3 and nothing else."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Baseline")
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb", region_name="eu-west-1")


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

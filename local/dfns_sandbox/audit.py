"""``GET /auth/action/logs``: one CSV row per signed user action, with the columns of DFNS.md §6."""

from __future__ import annotations

import csv
import io

from dfns_sandbox.clock import iso, parse_iso
from dfns_sandbox.context import Ctx, Reply, Route
from dfns_sandbox.errors import bad_request

COLUMNS = [
    "Date Performed",
    "Audit Log ID",
    "User ID",
    "Username",
    "Primary Credential ID",
    "Action Path",
    "Summary",
]


def audit_csv(ctx: Ctx) -> Reply:
    try:
        start, end = parse_iso(ctx.args["startTime"]), parse_iso(ctx.args["endTime"])
    except KeyError as exc:
        raise bad_request("startTime and endTime are required (ISO UTC)") from exc
    except ValueError as exc:
        raise bad_request("startTime and endTime must be ISO dates") from exc
    user_id = ctx.args.get("userId")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in ctx.sb.store.audit:
        if start <= row.date <= end and (user_id is None or row.user_id == user_id):
            writer.writerow(
                [iso(row.date), row.id, row.user_id, row.username, row.cred_id, row.action_path, row.summary]
            )
    return Reply(200, out.getvalue(), content_type="text/csv; charset=utf-8")


ROUTES = [Route("GET", "/auth/action/logs", audit_csv)]

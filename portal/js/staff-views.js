// Operations: order runs (operators group). On the local stack only: the compliance officer's panel.
import { ApiError } from "./api.js";
import { badge, field, h, notice, replace, short, time } from "./dom.js";

// Processed: planned, and every leg went through the worker. Finished: no transfer still in flight.
function processed(report) {
  return report.status === "planned" && report.pending === 0;
}

function finished(report) {
  return processed(report) && report.inFlight === 0;
}

function reportTable(report) {
  const skipped = Object.entries(report.skipped.byReason).map(([reason, n]) => `${reason}: ${n}`).join(", ");
  const rows = [
    ["Run", h("span", { className: "mono" }, report.runId)], ["Status", badge(finished(report) ? "finished" : report.status)],
    ["Trigger", report.trigger], ["Started", time(report.createdAt)], ["Planned orders", report.planned], ["Not processed yet", report.pending],
    ["Submitted to Dfns", report.submitted], ["In flight", report.inFlight], ["Confirmed", report.confirmed],
    ["Failed", report.failed], ["Rejected", report.rejected], ["Skipped", `${report.skipped.total}${skipped ? ` (${skipped})` : ""}`],
    ["Circuit breaker", report.breaker.open ? h("strong", { className: "danger" }, `open since ${report.breaker.openedAt}`) : `closed (${report.breaker.consecutiveFailures}/${report.breaker.threshold} failures)`],
    ["Replays", report.replays], ["Last change", time(report.lastChangeAt)],
  ];
  return h("dl", { className: "facts", id: "run-report", dataset: { processed: String(processed(report)), finished: String(finished(report)), confirmed: String(report.confirmed) } },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export async function operatorView(ctx, main, runId) {
  const id = field({ id: "run-id", label: "Run id (optional)", hint: "Empty: a new run. An existing id replays that run; nothing is paid twice.", autocomplete: "off" });
  const status = h("div", { id: "run-status" });
  const form = h("form", { id: "start-run" }, id.element, h("button", { type: "submit", className: "primary" }, "Start an order run now"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    id.showError("");
    try {
      const report = await ctx.api.json("POST", "/admin/order-runs", { body: id.control.value.trim() ? { runId: id.control.value.trim() } : {} });
      ctx.navigate(`#/operator/${encodeURIComponent(report.runId)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) id.showError(error.message);
      else replace(status, notice("error", error.message));
    }
  });
  const report = h("section", { "aria-live": "polite" });
  replace(main, h("h1", {}, "Order runs"), h("p", { className: "lead" }, "Runs also start on their schedule. Each active mandate gets one order per run."), form, report);
  if (!runId) return;
  const show = async () => {
    const current = await ctx.api.get(`/admin/order-runs/${encodeURIComponent(runId)}`);
    replace(report, h("h2", {}, "Report"), reportTable(current));
    return !finished(current);
  };
  if (await show()) ctx.poll(show, 1500);
}

function approvalCard(ctx, approval, onDecided) {
  const reason = field({ id: `reason-${approval.approvalId}`, label: "Reason (optional)", maxlength: "200" });
  const status = h("div");
  const decide = (value) => async (event) => {
    event.currentTarget.disabled = true;
    try {
      const decided = await ctx.officerDecide(approval.approvalId, value, reason.control.value.trim());
      onDecided(decided);
    } catch (error) {
      replace(status, notice("error", error.message));
      event.currentTarget.disabled = false;
    }
  };
  const what = approval.addresses.length
    ? h("ul", { className: "addresses" }, approval.addresses.map((a) => h("li", { className: "mono" }, a)))
    : approval.transfer ? h("p", {}, `Transfer from ${approval.transfer.walletId} to ${approval.transfer.to}`) : null;
  return h("li", { className: "approval", dataset: { approvalId: approval.approvalId } },
    h("h3", {}, approval.policyName || approval.kind || "Approval"),
    h("p", {}, `${approval.kind} · asked by ${approval.initiatorId} · `, time(approval.dateCreated), ` · policy ${short(approval.policyId)}`),
    approval.addresses.length ? h("p", {}, "The whitelist would become:") : null, what,
    reason.element,
    h("div", { className: "row" },
      h("button", { type: "button", className: "primary", onclick: decide("Approved"), "aria-label": `Approve ${approval.approvalId}` }, "Approve"),
      h("button", { type: "button", className: "danger-button", onclick: decide("Denied"), "aria-label": `Deny ${approval.approvalId}` }, "Deny")),
    status);
}

export async function officerView(ctx, main) {
  const list = h("ul", { className: "approvals", id: "approvals" });
  const decisions = h("div", { id: "decisions", role: "status" });
  const load = async () => {
    const { items } = await ctx.officerApprovals();
    if (list.querySelector("input:focus")) return true; // never redraw under a typing officer
    replace(list, items.length ? items.map((a) => approvalCard(ctx, a, decided)) : h("li", { className: "empty" }, "No approval is waiting."));
    return true;
  };
  const decided = (approval) => {
    replace(decisions, notice("ok", `${approval.approvalId}: ${approval.status}. Dfns tells the product through its webhook.`));
    return load();
  };
  replace(main,
    h("div", { className: "sandbox-banner", role: "note" }, h("strong", {}, "Sandbox only."), " This panel stands in for the Dfns dashboard on the local stack: a human compliance officer decides in Dfns with their own credential. The product itself can never approve."),
    h("h1", {}, "Compliance officer (sandbox)"), decisions, h("h2", {}, "Waiting for a decision"), list);
  await load();
  ctx.poll(load, 2000);
}

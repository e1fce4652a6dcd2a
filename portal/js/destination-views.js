// Approved destinations, and the requests that change them (status moving live, by polling).
import { ApiError } from "./api.js";
import { badge, field, h, notice, replace, short, time } from "./dom.js";

const OPEN = new Set(["queued", "submitted"]);

export async function destinationsView(ctx, main) {
  const [destinations, open] = await Promise.all([
    ctx.api.get("/accounts/me/destinations"),
    ctx.api.all("/accounts/me/destination-requests", { status: "submitted" }),
  ]);
  const address = field({ id: "address", label: "Address", hint: "The wallet or account to send to (0x… on EVM networks).", autocomplete: "off", spellcheck: "false", required: true });
  const label = field({ id: "label", label: "Label (optional)", hint: "A name you will recognise, e.g. “My bank”.", maxlength: "64" });
  const status = h("div", { id: "request-status" });
  const form = h("form", { id: "request-destination", novalidate: true }, address.element, label.element,
    h("button", { type: "submit", className: "primary" }, "Ask to add this destination"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    address.showError("");
    label.showError("");
    replace(status);
    const body = { address: address.control.value.trim() };
    if (label.control.value.trim()) body.label = label.control.value.trim();
    try {
      const request = await ctx.api.json("POST", "/accounts/me/destination-requests", { body });
      replace(status, notice("ok", "Requested. A compliance officer approves every new destination; follow it under Requests."));
      ctx.navigate(`#/requests/${encodeURIComponent(request.requestId)}`);
    } catch (error) {
      // The API's message goes beside the input it is about.
      const target = /label/i.test(error.message) && !/address/i.test(error.message) ? label : address;
      if (error instanceof ApiError && [409, 422].includes(error.status)) target.showError(error.message);
      else replace(status, notice("error", error.message));
      target.control.focus();
    }
  });
  const removing = new Set(open.filter((r) => r.action === "remove").map((r) => r.address));
  replace(main,
    h("h1", {}, "Approved destinations"),
    destinations.items.length
      ? h("table", { id: "destinations" },
          h("thead", {}, h("tr", {}, ["Address", "Label", "Approved", "Approval", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, destinations.items.map((d) => h("tr", {},
            h("td", { className: "mono" }, d.address), h("td", {}, d.label || "—"), h("td", {}, time(d.approvedAt)), h("td", { className: "mono" }, short(d.approvalId)),
            h("td", {}, removing.has(d.address) ? badge("removal pending") : h("button", { type: "button", onclick: () => remove(ctx, d), "aria-label": `Remove ${d.label || d.address}` }, "Remove"))))))
      : h("p", { className: "empty", id: "destinations" }, "No approved destination yet."),
    h("h2", {}, "Add a destination"),
    form);
}

async function remove(ctx, destination) {
  if (!window.confirm(`Ask to remove ${destination.label || destination.address}? A compliance officer approves removals too.`)) return;
  try {
    const request = await ctx.api.json("DELETE", `/accounts/me/destinations/${encodeURIComponent(destination.address)}`);
    ctx.navigate(`#/requests/${encodeURIComponent(request.requestId)}`);
  } catch (error) {
    ctx.flash("error", error.message);
  }
}

function requestRow(r) {
  return h("tr", { dataset: { requestId: r.requestId, status: r.status } },
    h("td", {}, h("a", { href: `#/requests/${encodeURIComponent(r.requestId)}` }, r.action === "remove" ? "Remove" : "Add")),
    h("td", { className: "mono" }, r.address), h("td", {}, r.label || "—"), h("td", { className: "status" }, badge(r.status)),
    h("td", {}, time(r.createdAt)), h("td", {}, r.resolvedAt ? time(r.resolvedAt) : "—"), h("td", {}, r.reason || ""));
}

export async function requestsView(ctx, main) {
  const status = field({ id: "status-filter", label: "Show", type: "select", options: [["", "all requests"], ["queued", "queued"], ["submitted", "waiting for compliance"], ["approved", "approved"], ["rejected", "rejected"], ["failed", "failed"]] });
  status.control.value = ctx.query.status || "";
  status.control.addEventListener("change", () => ctx.navigate(`#/requests${status.control.value ? `?status=${status.control.value}` : ""}`));
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor;
  const load = async (reset) => {
    const page = await ctx.api.get("/accounts/me/destination-requests", { status: ctx.query.status, cursor: reset ? undefined : cursor, limit: 20 });
    if (reset) replace(body);
    body.append(...page.items.map(requestRow));
    cursor = page.nextCursor;
    more.hidden = !cursor;
    return page.items;
  };
  more.addEventListener("click", () => load(false).catch((e) => ctx.flash("error", e.message)));
  const first = await load(true);
  replace(main, h("h1", {}, "Requests"), status.element,
    h("table", { id: "requests" }, h("thead", {}, h("tr", {}, ["Change", "Address", "Label", "Status", "Asked", "Decided", "Reason"].map((t) => h("th", { scope: "col" }, t)))), body),
    first.length ? null : h("p", { className: "empty" }, "No request yet."), more);
  // Live: while something waits for compliance, poll the first page.
  if (first.some((r) => OPEN.has(r.status))) {
    ctx.poll(async () => {
      const items = await load(true);
      return items.some((r) => OPEN.has(r.status));
    }, 1500);
  }
}

export async function requestView(ctx, main, requestId) {
  let request;
  try {
    request = await ctx.api.get(`/accounts/me/destination-requests/${encodeURIComponent(requestId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(main, h("h1", {}, "Request"), notice("error", `No request ${requestId} on your account (${error.message}).`));
      return;
    }
    throw error;
  }
  const steps = [["Asked", request.createdAt], ["Sent to compliance", request.submittedAt], [request.status === "rejected" ? "Rejected" : "Approved", request.resolvedAt]];
  replace(main,
    h("h1", {}, `${request.action === "remove" ? "Remove" : "Add"} destination`),
    h("dl", { className: "facts", id: "request" },
      h("dt", {}, "Address"), h("dd", { className: "mono" }, request.address),
      h("dt", {}, "Label"), h("dd", {}, request.label || "—"),
      h("dt", {}, "Status"), h("dd", { className: "status", "aria-live": "polite" }, badge(request.status)),
      h("dt", {}, "Approval in Dfns"), h("dd", { className: "mono" }, request.approvalId || "not yet"),
      request.reason ? [h("dt", {}, "Reason"), h("dd", {}, request.reason)] : null,
      request.ungoverned ? [h("dt", {}, "Note"), h("dd", { className: "danger" }, "Applied without a compliance approval (no governance policy).")] : null),
    h("ol", { className: "timeline" }, steps.map(([what, at]) => h("li", { className: at ? "done" : "" }, what, ": ", at ? time(at) : "—"))),
    h("p", {}, h("a", { href: "#/requests" }, "← All requests")));
  if (OPEN.has(request.status)) ctx.poll(() => ctx.refresh(), 1500);
}

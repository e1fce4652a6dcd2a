// Activity, the audit trail and the statement (functions/reports).
import { badge, field, h, notice, replace, short, time } from "./dom.js";

function pager(ctx, path, query, renderRows, body, more) {
  let cursor;
  const load = async (reset) => {
    const page = await ctx.api.get(path, { ...query, cursor: reset ? undefined : cursor });
    if (reset) replace(body);
    body.append(...renderRows(page.items));
    cursor = page.nextCursor;
    more.hidden = !cursor;
    return page.items;
  };
  more.addEventListener("click", () => load(false).catch((e) => ctx.flash("error", e.message)));
  return load;
}

export async function activityView(ctx, main) {
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const rows = (items) => items.map((m) => h("tr", {},
    h("td", {}, time(m.occurredAt)), h("td", {}, m.direction === "In" ? "Received" : "Sent"),
    h("td", { className: "amount" }, `${m.amount ?? m.amountMinimumUnits} ${m.symbol || ""}`),
    h("td", {}, m.counterparty.label || h("span", { className: "mono" }, short(m.counterparty.address, 12))),
    h("td", {}, badge(m.status), m.reason ? ` ${m.reason}` : ""),
    h("td", { className: "mono" }, short(m.txHash, 10))));
  const items = await pager(ctx, "/accounts/me/activity", { limit: 20 }, rows, body, more)(true);
  replace(main, h("h1", {}, "Activity"),
    h("table", { id: "activity" }, h("thead", {}, h("tr", {}, ["When", "", "Amount", "Counterparty", "Status", "Transaction"].map((t) => h("th", { scope: "col" }, t)))), body),
    items.length ? null : h("p", { className: "empty" }, "No movement yet."), more);
}

export async function auditView(ctx, main) {
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const rows = (items) => items.map((e) => h("tr", { dataset: { kind: e.kind } },
    h("td", {}, time(e.occurredAt)), h("td", {}, e.summary),
    h("td", {}, e.actor?.name || e.actor?.id || "—"),
    h("td", {}, e.source === "dfns" ? "Dfns audit log" : "our records"),
    h("td", { className: "mono" }, short(e.approvalId)),
    h("td", {}, e.signedAction ? "signed by the officer's key" : "")));
  const items = await pager(ctx, "/accounts/me/audit", { limit: 50 }, rows, body, more)(true);
  replace(main, h("h1", {}, "Audit trail"),
    h("p", { className: "lead" }, "Who asked for what, who approved it and when: our own records and the rows of Dfns's audit log about your wallet and its policies."),
    h("table", { id: "audit" }, h("thead", {}, h("tr", {}, ["When", "What", "Who", "Source", "Approval", "Signature"].map((t) => h("th", { scope: "col" }, t)))), body),
    items.length ? null : h("p", { className: "empty" }, "Nothing recorded yet."), more);
}

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

export async function statementView(ctx, main) {
  const today = new Date();
  const from = field({ id: "from", label: "From", type: "date", value: isoDate(new Date(today.getTime() - 30 * 86400000)), required: true });
  const to = field({ id: "to", label: "To (included)", type: "date", value: isoDate(new Date(today.getTime() + 86400000)), required: true });
  const result = h("div", { id: "statement" });
  const status = h("div", { id: "statement-status" });
  const query = () => ({ from: from.control.value, to: to.control.value });
  const show = async () => {
    from.showError("");
    to.showError("");
    try {
      const statement = await ctx.api.get("/accounts/me/statement", { ...query(), format: "json" });
      replace(result,
        h("table", {}, h("caption", {}, `Balances ${statement.from.slice(0, 10)} – ${statement.to.slice(0, 10)} (to exclusive)`),
          h("thead", {}, h("tr", {}, ["Asset", "Opening", "In", "Out (incl. fees)", "Closing"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, statement.balances.map((b) => h("tr", {}, h("td", {}, b.symbol || b.asset), h("td", {}, b.opening), h("td", {}, b.in), h("td", {}, b.out), h("td", {}, b.closing))))),
        statement.movements.some((m) => m.unapprovedDestination)
          ? notice("error", `${statement.movements.length} confirmed movement(s). An outflow went to an address with no approval on record.`)
          : h("p", {}, `${statement.movements.length} confirmed movement(s); every outflow carries its destination's approval.`));
    } catch (error) {
      (/to/.test(error.message) ? to : from).showError(error.message);
    }
  };
  const download = h("button", { type: "button", id: "download-csv" }, "Download CSV");
  download.addEventListener("click", async () => {
    try {
      const response = await ctx.api.send("GET", "/accounts/me/statement", { query: { ...query(), format: "csv" }, accept: "text/csv" });
      const blob = await response.blob();
      const name = `statement-${query().from}-${query().to}.csv`;
      const link = h("a", { href: URL.createObjectURL(blob), download: name, id: "statement-file" }, `Save ${name} again`);
      document.body.append(link);
      link.click();
      link.remove();
      replace(status, notice("ok", `Downloaded ${name} (${blob.size} bytes).`));
    } catch (error) {
      replace(status, notice("error", error.message));
    }
  });
  const form = h("form", { id: "statement-form" }, h("div", { className: "row" }, from.element, to.element),
    h("div", { className: "row" }, h("button", { type: "submit", className: "primary" }, "Show"), download), status);
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  replace(main, h("h1", {}, "Statement"), form, result);
  await show();
}

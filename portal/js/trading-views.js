// Trading authorisation (the mandate) and the orders it produces.
import { ApiError } from "./api.js";
import { badge, field, h, notice, replace, short, time } from "./dom.js";

const TERMINAL = new Set(["confirmed", "failed", "rejected", "skipped"]);

async function mandateOrNone(ctx) {
  try {
    return await ctx.api.get("/accounts/me/trading-authorization");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function mandateSection(ctx, mandate, onChange) {
  if (!mandate) return h("p", { className: "empty" }, "Trading is not authorised: no order is ever placed for you.");
  const revoke = h("button", { type: "button", className: "danger-button" }, "Revoke");
  revoke.addEventListener("click", async () => {
    if (!window.confirm("Revoke trading? No further orders will be placed.")) return;
    try {
      await ctx.api.json("DELETE", "/accounts/me/trading-authorization");
      onChange();
    } catch (error) {
      ctx.flash("error", error.message);
    }
  });
  return [h("h2", { id: "mandate-title" }, "Your authorisation"),
    h("dl", { className: "facts" },
      h("dt", {}, "Status"), h("dd", { className: "status" }, badge(mandate.status)),
      h("dt", {}, "Pays"), h("dd", {}, `${mandate.amountPerRun} ${mandate.asset} per order run to ${mandate.exchange}`),
      h("dt", {}, "Exchange deposit address"), h("dd", { className: "mono" }, mandate.depositAddress),
      h("dt", {}, "Approved"), h("dd", {}, mandate.approvedAt ? time(mandate.approvedAt) : "waiting for compliance"),
      mandate.reason ? [h("dt", {}, "Reason"), h("dd", {}, mandate.reason)] : null),
    mandate.status === "pending_approval" ? h("p", {}, "The exchange's deposit address goes through the same approval as any destination.") : null,
    mandate.status === "active" || mandate.status === "pending_approval" ? revoke : null];
}

function ordersTable(orders) {
  if (!orders.length) return h("p", { className: "empty" }, "No order yet.");
  return h("table", {},
    h("thead", {}, h("tr", {}, ["Run", "Amount", "To", "Status", "Dfns transfer", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, orders.map((o) => h("tr", { dataset: { runId: o.runId, status: o.status } },
      h("td", { className: "mono" }, o.runId), h("td", {}, `${o.amount} ${o.asset}`), h("td", { className: "mono" }, short(o.to, 12)),
      h("td", { className: "status" }, badge(o.status), o.reason ? ` ${o.reason}` : ""), h("td", { className: "mono" }, short(o.transferId)), h("td", {}, time(o.updatedAt))))));
}

export async function tradingView(ctx, main) {
  const mandateBox = h("section", { id: "mandate", "aria-labelledby": "mandate-title", "aria-live": "polite" });
  const ordersBox = h("div", { id: "orders", "aria-live": "polite" });
  let live = false;
  // The mandate and the orders refresh in place (polling), so the form below keeps what is typed.
  const update = async () => {
    const [mandate, orders] = await Promise.all([mandateOrNone(ctx), ctx.api.all("/accounts/me/orders", {}, 50)]);
    replace(mandateBox, mandateSection(ctx, mandate, update));
    replace(ordersBox, ordersTable(orders));
    const moving = mandate?.status === "pending_approval" || orders.some((o) => !TERMINAL.has(o.status));
    if (moving && !live) {
      live = true;
      ctx.poll(async () => (live = await update()), 2000);
    }
    return moving;
  };
  const mandate = await mandateOrNone(ctx);
  const exchange = field({ id: "exchange", label: "Exchange", value: mandate?.exchange || "sandbox-exchange", required: true });
  const asset = field({ id: "asset", label: "Asset", value: mandate?.asset || "ETH", required: true });
  const amount = field({ id: "amount", label: "Amount per order run", hint: "A decimal amount of the asset, e.g. 0.05", inputmode: "decimal", value: mandate?.amountPerRun || "", required: true });
  const status = h("div", { id: "mandate-status" });
  const form = h("form", { id: "authorise" }, h("div", { className: "row" }, exchange.element, asset.element, amount.element),
    h("button", { type: "submit", className: "primary" }, "Authorise trading"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of [exchange, asset, amount]) f.showError("");
    replace(status);
    const body = { exchange: exchange.control.value.trim(), asset: asset.control.value.trim(), amountPerRun: amount.control.value.trim() };
    try {
      await ctx.api.json("PUT", "/accounts/me/trading-authorization", { body });
      replace(status, notice("ok", "Saved. A new exchange address waits for compliance; a new amount applies from the next run."));
      await update();
    } catch (error) {
      const target = /amount/i.test(error.message) ? amount : /asset/i.test(error.message) ? asset : /exchange/i.test(error.message) ? exchange : null;
      if (target && error.status === 422) target.showError(error.message);
      else replace(status, notice("error", error.message));
    }
  });
  replace(main, h("h1", {}, "Trading"), mandateBox, h("h2", {}, "Authorise trading, or change the authorisation"), form, h("h2", {}, "Orders"), ordersBox);
  await update();
}

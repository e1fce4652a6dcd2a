// The client's account, and what protects it (GET /accounts/me/restrictions).
import { ApiError } from "./api.js";
import { badge, h, notice, replace, short, time } from "./dom.js";

export async function accountView(ctx, main) {
  let account;
  try {
    account = await ctx.api.get("/accounts/me");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const status = h("div");
    const open = h("button", { type: "button", className: "primary", id: "onboard" }, "Open my account");
    open.addEventListener("click", async () => {
      open.disabled = true;
      replace(status, notice("info", "Opening your account: creating your wallet and its protections…"));
      try {
        await ctx.api.json("POST", "/accounts");
        ctx.refresh();
      } catch (failure) {
        replace(status, notice("error", failure.message));
        open.disabled = false;
      }
    });
    replace(main, h("h1", {}, "Welcome"),
      h("p", {}, "You have no managed account yet. Opening one creates your own wallet, guarded from the first moment by a list of approved destinations, limits, and a compliance officer who approves every change."),
      open, status);
    return;
  }
  replace(main,
    h("h1", {}, "My account"),
    h("dl", { className: "facts", id: "account" },
      h("dt", {}, "Status"), h("dd", {}, badge(account.status)),
      h("dt", {}, "Wallet address"), h("dd", { className: "mono" }, account.address || "shown once the account is active"),
      h("dt", {}, "Network"), h("dd", {}, account.network),
      h("dt", {}, "Limit profile"), h("dd", {}, account.limitProfile),
      h("dt", {}, "Opened"), h("dd", {}, time(account.createdAt))),
    h("p", {}, h("a", { href: "#/protection" }, "See what protects this account →")));
  if (account.status !== "active") ctx.poll(() => ctx.refresh(), 2000);
}

function plainWindow(minutes) {
  if (!minutes) return "";
  if (minutes % 1440 === 0) return minutes === 1440 ? "any 24 hours" : `any ${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "any hour" : `any ${minutes / 60} hours`;
  return `any ${minutes} minutes`;
}

function money(value, currency) {
  if (value === null || value === undefined) return "—";
  return currency ? `${Number(value).toLocaleString()} ${currency}` : Number(value).toLocaleString();
}

// A limit policy in plain words, with its window.
export function plainLimit(policy) {
  switch (policy.rule) {
    case "TransactionAmountLimit":
      return `No single transfer above ${money(policy.limit, policy.currency)}.`;
    case "TransactionAmountVelocity":
      return `At most ${money(policy.limit, policy.currency)} in total in ${plainWindow(policy.timeframeMinutes)}.`;
    case "TransactionCountVelocity":
      return `At most ${money(policy.limit)} transfers in ${plainWindow(policy.timeframeMinutes)}.`;
    default:
      return `${policy.rule || "A rule"}: ${money(policy.limit, policy.currency)}.`;
  }
}

function governanceWords(governance) {
  if (!governance.present || !governance.active) return "No compliance approval is in force for changes to your destinations.";
  const who = governance.approversCount === null ? "any officer of the organisation" : `${governance.approversCount} named compliance officer${governance.approversCount === 1 ? "" : "s"}`;
  return `Every change to your approved destinations needs the approval of ${governance.quorum ?? 1} of ${who}, in Dfns. The company cannot approve its own changes.`;
}

export async function protectionView(ctx, main) {
  const view = await ctx.api.get("/accounts/me/restrictions");
  const { whitelist, limits, governance, wallet } = view;
  const drift = view.drift.length
    ? h("section", { className: "drift", id: "drift", role: "alert", "aria-labelledby": "drift-title" },
        h("h2", { id: "drift-title" }, "Warning: what Dfns enforces differs from our records"),
        h("ul", {}, view.drift.map((d) => h("li", { className: `severity-${d.severity}` }, h("strong", {}, `${d.severity}: `), d.message))))
    : notice("ok", "Dfns enforces exactly what is shown here.");
  replace(main,
    h("h1", {}, "What protects my account"),
    h("p", { className: "lead" }, "These rules are read live from Dfns, the custody platform that holds your wallet: they are what is actually enforced, not a copy."),
    drift,
    h("section", { id: "whitelist", "aria-labelledby": "whitelist-title" },
      h("h2", { id: "whitelist-title" }, "Where money can go"),
      h("p", {}, whitelist.action === "Block" ? "A transfer to any other address is blocked." : `A transfer to any other address: ${whitelist.action}.`),
      whitelist.addresses.length
        ? h("table", {},
            h("caption", { className: "visually-hidden" }, "Approved destinations"),
            h("thead", {}, h("tr", {}, ["Address", "Label", "Approved", "Approval", "Enforced by Dfns"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, whitelist.addresses.map((a) => h("tr", {},
              h("td", { className: "mono" }, a.address), h("td", {}, a.label || "—"), h("td", {}, time(a.approvedAt)),
              h("td", { className: "mono" }, short(a.approvalId)), h("td", {}, a.enforcedByDfns ? "yes" : "NO")))))
        : h("p", { className: "empty" }, "No approved destination yet: money cannot leave this wallet."),
      h("p", { className: "verified" }, "Verified in Dfns at ", time(whitelist.verifiedAt), ` · policy ${whitelist.policyId || "—"}`)),
    h("section", { id: "limits", "aria-labelledby": "limits-title" },
      h("h2", { id: "limits-title" }, `Limits (profile “${limits.profile}”)`),
      h("ul", {}, limits.policies.map((p) => h("li", {}, plainLimit(p), p.bindsWallet ? "" : h("strong", { className: "danger" }, " Not binding this wallet!"), h("span", { className: "verified" }, " Verified ", time(p.verifiedAt)))))),
    h("section", { id: "governance", "aria-labelledby": "governance-title" },
      h("h2", { id: "governance-title" }, "Who approves changes"),
      h("p", {}, governanceWords(governance)),
      h("p", { className: "verified" }, "Verified in Dfns at ", time(governance.verifiedAt))),
    h("section", { id: "pending", "aria-labelledby": "pending-title" },
      h("h2", { id: "pending-title" }, "Waiting for approval"),
      view.pendingRequests.length
        ? h("ul", {}, view.pendingRequests.map((r) => h("li", {}, `${r.action === "remove" ? "Remove" : "Add"} `, h("span", { className: "mono" }, r.address), " ", badge(r.status), " since ", time(r.createdAt))))
        : h("p", { className: "empty" }, "Nothing is waiting.")),
    h("section", { id: "wallet-tags", "aria-labelledby": "tags-title" },
      h("h2", { id: "tags-title" }, "Your wallet is bound to these rules"),
      h("p", {}, `Tag ${wallet.clientTag}: ${wallet.clientTagPresent ? "present" : "MISSING"} · tag ${wallet.limitsTag}: ${wallet.limitsTagPresent ? "present" : "MISSING"}`),
      h("p", { className: "verified" }, "Verified in Dfns at ", time(wallet.verifiedAt), ` · generated ${new Date(view.generatedAt).toLocaleTimeString()}`)));
  ctx.poll(() => ctx.refresh(), 10000);
}

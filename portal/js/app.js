// The shell: configuration, sign-in, navigation (hash routes), and the polling the views ask for.
import { accountView, protectionView } from "./account-views.js";
import { Api } from "./api.js";
import { completeCognitoSignIn, currentSession, loadConfig, signInLocally, signInWithCognito, signOut } from "./auth.js";
import { destinationsView, requestsView, requestView } from "./destination-views.js";
import { field, h, notice, replace } from "./dom.js";
import { activityView, auditView, statementView } from "./report-views.js";
import { officerView, operatorView } from "./staff-views.js";
import { tradingView } from "./trading-views.js";

const DEV_CLIENTS = [["alice", "alice (client)"], ["bob", "bob (client)"], ["ops", "ops (operator)"]];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const flashArea = document.getElementById("flash");
let config;
let timers = [];
let signedOutBecause = null; // shown on the sign-in screen (e.g. the API answered 401)
let generation = 0;

function navItems(session) {
  const items = [["#/account", "My account"], ["#/protection", "What protects my account"], ["#/destinations", "Destinations"],
    ["#/requests", "Requests"], ["#/activity", "Activity"], ["#/audit", "Audit trail"], ["#/statement", "Statement"], ["#/trading", "Trading"]];
  if (session.operator) items.push(["#/operator", "Order runs"]);
  if (config.environment === "local") items.push(["#/officer", "Compliance officer (sandbox)"]);
  return items;
}

function route() {
  const [path, search] = (window.location.hash.slice(1) || "/account").split("?");
  const [, name = "account", arg] = path.split("/");
  return { name, arg: arg && decodeURIComponent(arg), query: Object.fromEntries(new URLSearchParams(search || "")) };
}

const VIEWS = {
  account: accountView, protection: protectionView, destinations: destinationsView, activity: activityView, audit: auditView,
  statement: statementView, trading: tradingView, operator: operatorView, officer: officerView,
  requests: (ctx, el, arg) => (arg ? requestView(ctx, el, arg) : requestsView(ctx, el)),
};

function stopPolling() {
  for (const timer of timers) clearTimeout(timer);
  timers = [];
}

function context(session, mine) {
  const api = new Api(config.apiUrl, session.token, { onUnauthorized: () => {
    sessionStorage.clear();
    signedOutBecause = "Your session has ended: please sign in again.";
  } });
  const ctx = {
    api, session, config, query: route().query,
    refresh: () => render(),
    navigate: go,
    flash: (kind, text) => replace(flashArea, notice(kind, text)),
    // Call fn every `ms` while this view is on screen; fn returning false stops it.
    poll(fn, ms) {
      const tick = async () => {
        if (mine !== generation) return;
        let again = true;
        try {
          again = (await fn()) !== false;
        } catch (error) {
          ctx.flash("error", error.message);
        }
        if (again && mine === generation) timers.push(setTimeout(tick, ms));
      };
      timers.push(setTimeout(tick, ms));
    },
    async officerApprovals() {
      const response = await fetch(config.sandbox.approvalsUrl, { cache: "no-store" });
      const body = await response.json();
      if (!response.ok) throw new Error(body?.error?.message || `the sandbox answered ${response.status}`);
      return body;
    },
    async officerDecide(approvalId, value, reason) {
      const response = await fetch(`${config.sandbox.approvalsUrl}/${encodeURIComponent(approvalId)}/decisions`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ value, reason: reason || undefined }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body?.error?.message || `the sandbox answered ${response.status}`);
      return body;
    },
  };
  return ctx;
}

// Show `hash`: a change of hash renders (hashchange); the same hash renders again.
function go(hash) {
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

// Each render owns the page until the next one starts: a view is built off-screen and shown only if no
// newer render (a click, a hash change) began while it waited for the API.
async function render() {
  const mine = ++generation;
  stopPolling();
  replace(flashArea);
  const session = currentSession();
  if (!session) {
    signInScreen();
    return;
  }
  const current = route();
  replace(who, `Signed in as ${session.name}${session.operator ? " (operator)" : ""} `,
    h("button", { type: "button", id: "sign-out", onclick: () => { signOut(config); render(); } }, "Sign out"));
  replace(nav, h("ul", {}, navItems(session).map(([href, text]) => h("li", {},
    h("a", { href, "aria-current": href.slice(2) === current.name ? "page" : false, className: href === "#/officer" ? "sandbox-link" : "" }, text)))));
  const view = VIEWS[current.name];
  const ctx = context(session, mine);
  const slot = h("div", { className: "view" });
  main.setAttribute("aria-busy", "true");
  try {
    if (!view) replace(slot, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/account" }, "Back to my account")));
    else await view(ctx, slot, current.arg);
  } catch (error) {
    if (mine !== generation) return;
    if (error.status === 401) return render();
    replace(slot, h("h1", {}, "Something went wrong"), notice("error", error.message));
  }
  if (mine !== generation) return; // a newer render owns the page
  main.removeAttribute("aria-busy");
  replace(main, slot);
  document.title = `${slot.querySelector("h1")?.textContent || "Portal"} · Managed account`;
}

function signInScreen() {
  replace(who);
  replace(nav);
  document.title = "Sign in · Managed account";
  if (config.auth.kind === "cognito") {
    replace(main, h("h1", {}, "Sign in"), h("p", {}, "You sign in on the company's sign-in page (with your second factor)."),
      h("button", { type: "button", className: "primary", onclick: () => signInWithCognito(config) }, "Sign in"));
    return;
  }
  const client = field({ id: "client-id", label: "Client id", hint: "Any id signs in as that client on the local stack; operators may start order runs.", value: "alice", autocomplete: "username", required: true, list: "dev-clients" });
  const operator = h("input", { type: "checkbox", id: "operator" });
  const status = h("div");
  const form = h("form", { id: "sign-in" },
    signedOutBecause ? notice("error", signedOutBecause) : null,
    notice("info", "Local stack: a development sign-in standing in for Cognito. Pick a client or type any id."),
    client.element, h("datalist", { id: "dev-clients" }, DEV_CLIENTS.map(([id, text]) => h("option", { value: id }, text))),
    h("div", { className: "check" }, operator, h("label", { for: "operator" }, "In the operators group")),
    h("button", { type: "submit", className: "primary" }, "Sign in"), status);
  client.control.addEventListener("input", () => { operator.checked = client.control.value === "ops"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    client.showError("");
    try {
      await signInLocally(config, client.control.value.trim(), operator.checked);
      signedOutBecause = null;
      go("#/account");
    } catch (error) {
      client.showError(error.message);
    }
  });
  replace(main, h("h1", {}, "Sign in"), form);
  client.control.focus();
}

async function start() {
  try {
    config = await loadConfig();
    document.body.dataset.environment = config.environment;
    await completeCognitoSignIn(config);
  } catch (error) {
    replace(main, h("h1", {}, "The portal is not configured"), notice("error", error.message));
    return;
  }
  window.addEventListener("hashchange", () => render());
  render();
}

start();

// Sign-in. On the local stack (config.auth.kind "local") the page asks the stack's local-only token
// endpoint for a dev ID token. In AWS (kind "cognito") it uses the Cognito hosted UI with the
// authorization code flow and PKCE, and keeps the ID token: API Gateway's Cognito authorizer takes ID tokens.

const SESSION = "managed-accounts.session";
const PKCE = "managed-accounts.pkce";

export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error("config.json is missing beside the page (see config.example.json).");
  return response.json();
}

function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(payload))));
}

function sessionFrom(token) {
  const claims = claimsOf(token);
  const groups = claims["cognito:groups"] || [];
  return {
    token,
    clientId: claims.sub,
    name: claims["cognito:username"] || claims.email || claims.sub,
    operator: (Array.isArray(groups) ? groups : String(groups).split(",")).includes("operators"),
    expiresAt: (claims.exp || 0) * 1000,
  };
}

export function currentSession() {
  const raw = sessionStorage.getItem(SESSION);
  if (!raw) return null;
  const session = JSON.parse(raw);
  return session.expiresAt > Date.now() ? session : null;
}

export function signOut(config) {
  sessionStorage.removeItem(SESSION);
  if (config?.auth?.kind === "cognito") {
    const url = new URL("/logout", config.auth.domain);
    url.searchParams.set("client_id", config.auth.clientId);
    url.searchParams.set("logout_uri", config.auth.redirectUri);
    window.location.assign(url);
  }
}

function keep(token) {
  const session = sessionFrom(token);
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}

// --- the local stack ---------------------------------------------------------------------------------

export async function signInLocally(config, clientId, operator) {
  const response = await fetch(config.auth.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ clientId, operator }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message || `sign-in failed (${response.status})`);
  return keep(body.token);
}

// --- Cognito hosted UI ----------------------------------------------------------------------------------

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function signInWithCognito(config) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", config.auth.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.auth.clientId,
    redirect_uri: config.auth.redirectUri,
    scope: (config.auth.scopes || ["openid"]).join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(url);
}

// Back from the hosted UI with ?code=…&state=…: exchange the code for tokens.
export async function completeCognitoSignIn(config) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (config.auth?.kind !== "cognito" || !code) return null;
  const pkce = JSON.parse(sessionStorage.getItem(PKCE) || "{}");
  sessionStorage.removeItem(PKCE);
  window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  if (!pkce.verifier || params.get("state") !== pkce.state) throw new Error("sign-in was not started here; please try again");
  const response = await fetch(new URL("/oauth2/token", config.auth.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.auth.clientId,
      code,
      redirect_uri: config.auth.redirectUri,
      code_verifier: pkce.verifier,
    }),
  });
  const tokens = await response.json();
  if (!response.ok) throw new Error(tokens.error_description || tokens.error || "sign-in failed");
  return keep(tokens.id_token);
}

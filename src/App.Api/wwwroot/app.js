// The demo page: passkey sign-up and sign-in, then a streamed chat with the access token.
// Tokens live in memory only: a reload signs you out (nothing for a script elsewhere to steal).
"use strict";

const state = { access: null, refresh: null, expiresAt: 0, timer: null };
const $ = (id) => document.getElementById(id);

const b64urlToBytes = (s) => {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};
const bytesToB64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function showError(message) { $("error").textContent = message || ""; }

async function postJson(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((json && (json.title + (json.detail ? " " + json.detail : ""))) || response.statusText);
  return json;
}

function publicKeyForCreate(options) {
  return {
    ...options,
    challenge: b64urlToBytes(options.challenge),
    user: { ...options.user, id: b64urlToBytes(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: b64urlToBytes(c.id) })),
  };
}

function publicKeyForGet(options) {
  return {
    ...options,
    challenge: b64urlToBytes(options.challenge),
    allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: b64urlToBytes(c.id) })),
  };
}

function attestationJson(credential) {
  return {
    id: credential.id,
    rawId: bytesToB64url(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: bytesToB64url(credential.response.attestationObject),
      clientDataJSON: bytesToB64url(credential.response.clientDataJSON),
      transports: credential.response.getTransports ? credential.response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

function assertionJson(credential) {
  return {
    id: credential.id,
    rawId: bytesToB64url(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: bytesToB64url(credential.response.authenticatorData),
      clientDataJSON: bytesToB64url(credential.response.clientDataJSON),
      signature: bytesToB64url(credential.response.signature),
      userHandle: credential.response.userHandle ? bytesToB64url(credential.response.userHandle) : null,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

async function signUp(event) {
  event.preventDefault();
  showError("");
  try {
    // With an invitation the tenant is the invitation's; without one, the tenant to create.
    const invitation = $("invitation").value.trim();
    const tenant = $("tenant").value.trim();
    const start = await postJson("/auth/passkeys/register/options", {
      userName: $("user-name").value,
      ...(tenant ? { tenant } : {}),
      ...(invitation ? { invitation } : {}),
    });
    const credential = await navigator.credentials.create({ publicKey: publicKeyForCreate(start.options) });
    await signedIn(await postJson("/auth/passkeys/register", { ceremonyId: start.ceremonyId, credential: attestationJson(credential) }));
  } catch (e) { showError("Sign-up failed: " + e.message); }
}

async function signIn() {
  showError("");
  try {
    const start = await postJson("/auth/passkeys/login/options", {});
    const credential = await navigator.credentials.get({ publicKey: publicKeyForGet(start.options) });
    await signedIn(await postJson("/auth/passkeys/login", { ceremonyId: start.ceremonyId, credential: assertionJson(credential) }));
  } catch (e) { showError("Sign-in failed: " + e.message); }
}

async function signedIn(tokens) {
  useTokens(tokens);
  const me = await (await fetch("/auth/me", { headers: { Authorization: "Bearer " + state.access } })).json();
  $("who").textContent = `${me.subject} · tenant ${me.tenant} · ${me.scopes.join(" ")}`;
  $("who").dataset.tenant = me.tenant;
  const models = await (await fetch("/v1/models", { headers: { Authorization: "Bearer " + state.access } })).json();
  $("model").replaceChildren(...models.data.map((m) => new Option(m.id, m.id)));
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
}

function useTokens(tokens) {
  state.access = tokens.access_token;
  state.refresh = tokens.refresh_token;
  state.expiresAt = Date.now() + tokens.expires_in * 1000;
  $("expires").textContent = new Date(state.expiresAt).toLocaleTimeString();
  $("expires").dataset.token = tokens.access_token.slice(-16);
  clearTimeout(state.timer);
  // Refresh a little before expiry; the refresh token rotates each time.
  state.timer = setTimeout(refresh, Math.max(5, tokens.expires_in - 30) * 1000);
}

async function refresh() {
  try {
    useTokens(await postJson("/auth/refresh", { refresh_token: state.refresh }));
  } catch (e) {
    showError("Your session ended: " + e.message);
    signedOut();
  }
}

async function signOut() {
  try { await postJson("/auth/logout", { refresh_token: state.refresh }); } catch { /* signed out anyway */ }
  signedOut();
}

function signedOut() {
  clearTimeout(state.timer);
  Object.assign(state, { access: null, refresh: null, expiresAt: 0 });
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  $("answer").textContent = "";
}

async function chat(event) {
  event.preventDefault();
  showError("");
  const body = { model: $("model").value, messages: [{ role: "user", content: $("prompt").value }], stream: true };
  if ($("deterministic").checked) body.temperature = 0;
  $("answer").textContent = "";
  $("chat-status").textContent = "streaming";
  // rum.js times the answer from these two events; nothing about the message goes with them.
  document.dispatchEvent(new Event("chat:send"));
  $("send-button").disabled = true;
  try {
    let response = await send(body);
    if (response.status === 401) { await refresh(); response = await send(body); }
    if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
    $("cache").textContent = response.headers.get("x-cache") || "-";
    await readStream(response);
  } catch (e) {
    $("chat-status").textContent = "failed";
    showError(e.message);
  } finally {
    $("send-button").disabled = false;
  }
}

function send(body) {
  return fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.access },
    body: JSON.stringify(body),
  });
}

async function readStream(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let shown = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = (event.match(/^event: (.*)$/m) || [])[1];
      const data = (event.match(/^data: (.*)$/m) || [])[1];
      if (!data) continue;
      if (type === "error") { $("chat-status").textContent = "interrupted"; showError(JSON.parse(data).error.message); return; }
      if (data === "[DONE]") { $("chat-status").textContent = "done"; return; }
      const chunk = JSON.parse(data);
      for (const choice of chunk.choices) {
        if (!choice.delta.content) continue;
        $("answer").textContent += choice.delta.content;
        if (!shown) { shown = true; document.dispatchEvent(new Event("chat:first-token")); }
      }
    }
  }
  $("chat-status").textContent = "ended without [DONE]";
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-up").addEventListener("submit", signUp);
  $("sign-in-button").addEventListener("click", signIn);
  $("refresh-button").addEventListener("click", refresh);
  $("sign-out-button").addEventListener("click", signOut);
  $("chat").addEventListener("submit", chat);
});

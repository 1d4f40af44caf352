// Sip's operator console: tickets with their conversations, feedback, charts of the last
// days and CSV exports. The admin key is asked once and kept in sessionStorage (gone when
// the tab closes); every call sends it as X-Sip-Admin-Key. Texts are set with textContent.

import { chart, PALETTE } from "./charts.js";

const KEY = "sip.adminKey";
const $ = (id) => document.getElementById(id);
const MODES = [
  ["llm", "model"], ["fallback", "fallback"], ["cache", "cache"], ["offline", "offline"],
  ["human", "escalation"], ["refusal", "refusal"],
];

class AuthError extends Error {}

function adminKey() {
  try { return sessionStorage.getItem(KEY) || ""; } catch { return ""; }
}

async function api(path, accept = "application/json") {
  const headers = { Accept: accept };
  if (adminKey()) headers["X-Sip-Admin-Key"] = adminKey();
  const response = await fetch(path, { headers });
  if (response.status === 401) throw new AuthError("The admin key is wrong.");
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return accept === "application/json" ? response.json() : response.blob();
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  row.append(td);
  return td;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const money = (v) => `$${Number(v || 0).toFixed(v >= 1 ? 2 : 4)}`;
const count = (v) => Number(v || 0).toLocaleString();
const ms = (v) => (v == null ? "–" : `${Math.round(v)} ms`);

function renderCards(summary, live) {
  const cards = [
    ["Conversations", count(summary.conversations)], ["Customer turns", count(summary.turns)],
    ["Customers", count(summary.users)], ["Unanswered", count(summary.unanswered)],
    ["Tokens", count(summary.usage.total_tokens)], ["Cost", money(summary.usage.cost_usd)],
    ["Latency p50", ms(summary.latency_p50_ms)], ["Latency p95", ms(summary.latency_p95_ms)],
    ["Open tickets", count(summary.tickets.open + summary.tickets.taken)],
    ["👍 / 👎", `${summary.feedback_up} / ${summary.feedback_down}`],
    ["429s avoided", count(live.rate_limits_avoided)], ["429s met", count(live.rate_limits_met)],
  ];
  const list = $("cards");
  list.replaceChildren();
  for (const [label, value] of cards) {
    const box = document.createElement("div");
    box.className = "card";
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    box.append(dt, dd);
    list.append(box);
  }
}

function renderCharts(data) {
  const days = data.daily;
  const labels = days.map((d) => d.day.slice(5));
  const pick = (key) => days.map((d) => d[key]);
  const limits = data.rate_limits;
  const charts = [
    chart("Conversations per day", { labels, series: [
      { name: "conversations", values: pick("conversations"), color: PALETTE.conversations }] }),
    chart("Answer modes per day", { labels, series: MODES.map(([mode, name]) => ({
      name, values: days.map((d) => d.modes[mode] || 0), color: PALETTE[mode] })) }),
    chart("Tokens per day", { labels, series: [
      { name: "prompt", values: pick("prompt_tokens"), color: PALETTE.prompt },
      { name: "completion", values: pick("completion_tokens"), color: PALETTE.completion }],
      format: (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v))), minTop: 100 }),
    chart("Cost per day (USD)", { labels, series: [
      { name: "cost", values: pick("cost_usd"), color: PALETTE.cost }], format: money, minTop: 0.001 }),
    chart("Latency per day", { labels, kind: "lines", format: ms, minTop: 100, series: [
      { name: "p50", values: pick("latency_p50_ms"), color: PALETTE.p50 },
      { name: "p95", values: pick("latency_p95_ms"), color: PALETTE.p95 }] }),
    chart("429s avoided by the limiter (this process)", {
      labels: limits.map((p) => p.at.slice(11, 16)), series: [
        { name: "avoided", values: limits.map((p) => p.avoided), color: PALETTE.avoided },
        { name: "met", values: limits.map((p) => p.met), color: PALETTE.met }] }),
  ];
  $("charts").replaceChildren(...charts);
}

function renderTickets(tickets) {
  const body = $("ticket-rows");
  body.replaceChildren();
  if (!tickets.length) {
    const row = document.createElement("tr");
    cell(row, "No open tickets.").colSpan = 7;
    body.append(row);
  }
  for (const ticket of tickets) {
    const row = document.createElement("tr");
    cell(row, `#${ticket.id}`);
    cell(row, when(ticket.created_at));
    cell(row, ticket.user_id);
    cell(row, ticket.channel);
    cell(row, ticket.reason);
    cell(row, ticket.summary.length > 240 ? `${ticket.summary.slice(0, 240)}…` : ticket.summary, "summary");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = `View #${ticket.id}`;
    button.addEventListener("click", () => showTicket(ticket.id));
    cell(row, "").append(button);
    body.append(row);
  }
}

async function showTicket(id) {
  const ticket = await api(`/api/admin/tickets/${id}`);
  const box = $("ticket-detail");
  box.replaceChildren();
  const title = document.createElement("h3");
  title.textContent = `Ticket #${ticket.id} · ${ticket.status} · ${ticket.channel} · ${ticket.user_id}`;
  const summary = document.createElement("p");
  summary.className = "summary";
  summary.textContent = ticket.summary || "(no summary)";
  const log = document.createElement("ol");
  log.className = "log";
  log.setAttribute("aria-label", "Conversation");
  for (const message of ticket.messages) {
    const item = document.createElement("li");
    item.className = `msg ${message.role}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${message.role === "user" ? "customer" : `sip · ${message.mode || ""}`} · ${when(message.created_at)}`;
    const text = document.createElement("div");
    text.className = "body";
    text.style.whiteSpace = "pre-wrap";
    text.textContent = message.text;
    item.append(who, text);
    log.append(item);
  }
  box.append(title, summary, log);
  box.hidden = false;
  box.focus();
}

function renderFeedback(items) {
  const body = $("feedback-rows");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    cell(row, when(item.created_at));
    cell(row, item.rating > 0 ? "👍" : "👎").setAttribute("aria-label", item.rating > 0 ? "helpful" : "not helpful");
    cell(row, item.user_id);
    cell(row, item.comment || "");
    cell(row, item.answer ? `${item.answer.slice(0, 160)}${item.answer.length > 160 ? "…" : ""}` : "", "summary");
    body.append(row);
  }
}

async function load() {
  $("status").textContent = "Loading…";
  const days = $("days").value;
  const [stats, tickets, feedback] = await Promise.all([
    api(`/api/admin/stats?days=${days}`), api("/api/admin/tickets"), api("/api/admin/feedback"),
  ]);
  renderCards(stats.summary, stats.live);
  renderCharts(stats);
  renderTickets(tickets);
  renderFeedback(feedback);
  $("status").textContent = `Updated ${new Date().toLocaleTimeString()} · answering in ${stats.mode} mode`;
}

async function download(kind) {
  const blob = await api(`/api/admin/export/${kind}.csv?days=${$("days").value}`, "text/csv");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `sip-${kind}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function showLogin(message = "") {
  $("console").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("admin-key").focus();
}

async function start() {
  try {
    await api("/api/admin/session");
  } catch (error) {
    showLogin(error instanceof AuthError && adminKey() ? error.message : (error instanceof AuthError ? "" : error.message));
    return;
  }
  $("login").hidden = true;
  $("console").hidden = false;
  await load().catch(report);
}

function report(error) {
  if (error instanceof AuthError) showLogin(error.message);
  else $("status").textContent = `Error: ${error.message}`;
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  try { sessionStorage.setItem(KEY, $("admin-key").value); } catch { /* storage off */ }
  $("admin-key").value = "";
  start();
});
$("logout").addEventListener("click", () => {
  try { sessionStorage.removeItem(KEY); } catch { /* storage off */ }
  showLogin();
});
$("refresh").addEventListener("click", () => load().catch(report));
$("days").addEventListener("change", () => load().catch(report));
for (const button of document.querySelectorAll("[data-export]")) {
  button.addEventListener("click", () => download(button.dataset.export).catch(report));
}
start();

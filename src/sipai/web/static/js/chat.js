// Sip's web chat: streams answers over SSE (fetch + a small parser), renders them as safe
// Markdown, shows their sources, takes 👍/👎 and "talk to a person", and keeps the
// visitor's conversation across reloads (a random visitor id in localStorage; the server
// keeps the messages). Spanish or English by the browser's language, with a toggle.

import { renderMarkdown } from "./markdown.js";

const TEXTS = {
  es: {
    tagline: "Asistente de soporte de tu VPN", new: "Nueva conversación", langHint: "Cambiar idioma",
    langButton: "English", conversation: "Conversación", skip: "Ir al mensaje",
    hello: "Hola, soy Sip. Cuéntame qué le pasa a tu VPN.", label: "Tu mensaje",
    placeholder: "Escribe tu pregunta… (Enter para enviar, Mayús+Enter para salto de línea)",
    send: "Enviar", human: "Hablar con una persona", you: "Tú", sip: "Sip",
    sources: "Fuentes", rate: "Valora esta respuesta", helpful: "Útil", unhelpful: "No útil", thanks: "¡Gracias por tu opinión!",
    typing: "Sip está escribiendo…", ready: "Respuesta lista.", failed: "No pude enviar tu mensaje. Inténtalo de nuevo.",
    ticket: (id, created) => created
      ? `Abrí el ticket #${id}. Una persona del equipo te contestará pronto.`
      : `Ya tienes el ticket #${id} abierto. Una persona del equipo te contestará pronto.`,
    fresh: "Nueva conversación empezada.", slow: "Vas muy rápido. Espera unos segundos.",
  },
  en: {
    tagline: "Your VPN's support assistant", new: "New conversation", langHint: "Change language",
    langButton: "Español", conversation: "Conversation", skip: "Skip to message",
    hello: "Hi, I'm Sip. Tell me what's wrong with your VPN.", label: "Your message",
    placeholder: "Type your question… (Enter to send, Shift+Enter for a new line)",
    send: "Send", human: "Talk to a person", you: "You", sip: "Sip",
    sources: "Sources", rate: "Rate this answer", helpful: "Helpful", unhelpful: "Not helpful", thanks: "Thanks for your feedback!",
    typing: "Sip is typing…", ready: "Answer ready.", failed: "I couldn't send your message. Please try again.",
    ticket: (id, created) => created
      ? `I opened ticket #${id}. A person from the team will answer you soon.`
      : `You already have ticket #${id} open. A person from the team will answer you soon.`,
    fresh: "New conversation started.", slow: "You're going too fast. Wait a few seconds.",
  },
};

const $ = (id) => document.getElementById(id);
const store = {
  get: (key, fallback) => { try { return localStorage.getItem(key) ?? fallback; } catch { return fallback; } },
  set: (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
};

let lang = store.get("sip.lang", (navigator.language || "es").toLowerCase().startsWith("es") ? "es" : "en");
const t = (key) => TEXTS[lang][key];
let busy = false;

function visitorId() {
  let id = store.get("sip.visitor", "");
  if (!/^[A-Za-z0-9-]{16,64}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = crypto.randomUUID ? crypto.randomUUID()
      : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    store.set("sip.visitor", id);
  }
  return id;
}

const ratings = JSON.parse(store.get("sip.ratings", "{}") || "{}");

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  $("lang").textContent = t("langButton");
  document.title = `Sip · ${t("tagline")}`;
  for (const el of document.querySelectorAll(".msg")) relabel(el);
}

function relabel(item) {
  const who = item.querySelector(".who");
  if (who) who.textContent = item.classList.contains("user") ? t("you") : t("sip");
  const heading = item.querySelector(".sources-title");
  if (heading) heading.textContent = t("sources");
  const group = item.querySelector(".rating");
  if (group) group.setAttribute("aria-label", t("rate"));
  for (const button of item.querySelectorAll("button.rate")) {
    button.setAttribute("aria-label", button.dataset.rating === "1" ? t("helpful") : t("unhelpful"));
    button.title = button.getAttribute("aria-label");
  }
}

async function call(path, options = {}) {
  const headers = { "X-Sip-Visitor": visitorId(), ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  return fetch(path, { ...options, headers });
}

async function errorText(response) {
  if (response.status === 429) return t("slow");
  try {
    const body = await response.json();
    return body?.error?.message || t("failed");
  } catch {
    return t("failed");
  }
}

function addMessage(role, text) {
  $("empty").hidden = true;
  const item = document.createElement("li");
  item.className = `msg ${role}`;
  const who = document.createElement("span");
  who.className = "who";
  const body = document.createElement("div");
  body.className = "body";
  if (role === "user") body.textContent = text;
  else body.innerHTML = renderMarkdown(text);
  item.append(who, body);
  relabel(item);
  $("log").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function addNote(text) {
  $("empty").hidden = true;
  const item = document.createElement("li");
  item.className = "msg note";
  item.textContent = text;
  $("log").append(item);
  item.scrollIntoView({ block: "end" });
}

function finishAnswer(item, reply) {
  item.querySelector(".body").innerHTML = renderMarkdown(reply.answer ?? reply.text ?? "");
  item.dataset.messageId = reply.message_id || reply.id || "";
  const sources = reply.sources || [];
  if (sources.length) {
    const box = document.createElement("div");
    box.className = "sources";
    const title = document.createElement("span");
    title.className = "sources-title";
    const list = document.createElement("ul");
    for (const source of sources) {
      const li = document.createElement("li");
      if (source.url && /^https?:\/\//.test(source.url)) {
        const a = document.createElement("a");
        a.href = source.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = source.title;
        li.append(a);
      } else {
        li.textContent = source.title;
      }
      list.append(li);
    }
    box.append(title, list);
    item.append(box);
  }
  if (item.dataset.messageId) item.append(rateButtons(item.dataset.messageId));
  relabel(item);
}

function rateButtons(messageId) {
  const group = document.createElement("div");
  group.className = "rating";
  group.setAttribute("role", "group");
  for (const [rating, face] of [["1", "👍"], ["-1", "👎"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "rate";
    button.dataset.rating = rating;
    button.textContent = face;
    button.setAttribute("aria-pressed", String(ratings[messageId] === rating));
    button.addEventListener("click", () => rate(messageId, rating, group));
    group.append(button);
  }
  return group;
}

async function rate(messageId, rating, group) {
  const response = await call("/web/feedback", {
    method: "POST", body: JSON.stringify({ rating: Number(rating), message_id: messageId }),
  });
  if (!response.ok) {
    $("status").textContent = await errorText(response);
    return;
  }
  ratings[messageId] = rating;
  store.set("sip.ratings", JSON.stringify(ratings));
  for (const button of group.querySelectorAll("button.rate")) {
    button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
  }
  $("status").textContent = t("thanks");
}

// Reads Sip's SSE stream: "delta" events carry text, "reply" the final reply object.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    const frames = buffer.split(/\r?\n\r?\n/);
    buffer = frames.pop();
    for (const frame of frames) {
      let event = "message";
      const data = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, JSON.parse(data.join("\n")));
    }
    if (done) return;
  }
}

async function send(text) {
  busy = true;
  $("send").disabled = true;
  addMessage("user", text);
  const item = addMessage("assistant", "");
  item.classList.add("streaming");
  $("log").setAttribute("aria-busy", "true");
  $("status").textContent = t("typing");
  let shown = "";
  let frame = 0;
  try {
    const response = await call("/web/chat", {
      method: "POST", headers: { Accept: "text/event-stream" },
      body: JSON.stringify({ message: text, stream: true }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    await readEvents(response, (event, data) => {
      if (event === "delta") {
        shown += data.text;
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(() => {
          item.querySelector(".body").innerHTML = renderMarkdown(shown);
          item.scrollIntoView({ block: "end" });
        });
      } else if (event === "reply") {
        cancelAnimationFrame(frame);
        finishAnswer(item, data);
      } else if (event === "error") {
        throw new Error(data?.error?.message || t("failed"));
      }
    });
    $("status").textContent = t("ready");
  } catch (error) {
    item.querySelector(".body").textContent = error.message || t("failed");
    item.classList.add("error");
    $("status").textContent = "";
  } finally {
    item.classList.remove("streaming");
    $("log").setAttribute("aria-busy", "false");
    busy = false;
    $("send").disabled = false;
    $("message").focus();
  }
}

async function loadHistory() {
  const response = await call("/web/history");
  if (!response.ok) return;
  const history = await response.json();
  for (const message of history.messages) {
    if (message.role === "user") addMessage("user", message.text);
    else finishAnswer(addMessage("assistant", ""), message);
  }
}

function wire() {
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text || busy) return;
    $("message").value = "";
    send(text);
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("form").requestSubmit();
    }
  });
  $("human").addEventListener("click", async () => {
    const response = await call("/web/escalate", { method: "POST" });
    if (!response.ok) {
      $("status").textContent = await errorText(response);
      return;
    }
    const ticket = await response.json();
    addNote(TEXTS[lang].ticket(ticket.ticket_id, ticket.created));
  });
  $("new-chat").addEventListener("click", async () => {
    const response = await call("/web/conversation", { method: "POST" });
    if (!response.ok) return;
    $("log").replaceChildren();
    $("empty").hidden = false;
    $("status").textContent = t("fresh");
    $("message").focus();
  });
  $("lang").addEventListener("click", () => {
    lang = lang === "es" ? "en" : "es";
    store.set("sip.lang", lang);
    applyLanguage();
  });
}

window.sipRenderMarkdown = renderMarkdown; // for tests and the curious
applyLanguage();
wire();
loadHistory().catch(() => { $("status").textContent = t("failed"); });

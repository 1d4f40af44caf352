#!/usr/bin/env node
'use strict';
/*
 * telegram-test-api 4.2.x (an independent Bot API emulator) adapted for python-telegram-bot 22.
 *
 *   node server.js [--host 127.0.0.1] [--port 0] [--exit-on-stdin-close]
 *   (or TG_EMU_HOST / TG_EMU_PORT; port 0 = any free port; TG_EMU_BOT_USERNAME, TG_EMU_STORE_SECONDS)
 *
 * When listening it prints one line on stdout: {"event":"ready","host":"127.0.0.1","port":N}.
 * It stops on SIGTERM/SIGINT, and with --exit-on-stdin-close when its parent (pytest) goes away.
 * Bot API:   http://HOST:PORT/bot<token>/<method>   (python-telegram-bot: base_url=http://HOST:PORT/bot)
 * Customer:  the package's client routes (/sendMessage, /sendCommand, /sendCallback, /getUpdates,
 *            /getUpdatesHistory) plus Sip's control routes under /_sip/ (see the bottom).
 *
 * Quirks of the package with python-telegram-bot 22, and how each is handled here:
 *  Q1  getMe has no `is_bot` (PTB's User requires it) and a fixed id 666: replaced; the id is the
 *      token's numeric prefix, as on Telegram, and the username comes from TG_EMU_BOT_USERNAME.
 *  Q2  sendMessage returns `date` in milliseconds (PTB: year 50000+), a chat hard-coded as a private
 *      chat named "Bot", no `from`, and every request parameter spread into the Message (PTB would
 *      mis-parse e.g. link_preview_options): addBotMessage is wrapped to return a clean Message.
 *  Q3  editMessageText answers `result: null`, ignores unknown messages and keeps the inline keyboard:
 *      replaced; answers the edited Message (what Telegram answers for chat messages; PTB accepts
 *      Message or True), 400 "message to edit not found", 400 "message is not modified", and drops
 *      the keyboard when reply_markup is absent. editMessageReplyMarkup likewise.
 *  Q4  PTB posts form-encoded bodies whose numbers, booleans and objects are JSON strings: decoded.
 *  Q5  getUpdates ignores offset/limit/timeout: it answered at once (a busy loop for pollers) and
 *      marked updates read when served (a poll cancelled in flight lost them): replaced with
 *      Telegram's semantics (offset confirms, limit, long polling up to `timeout` s, 409 Conflict
 *      while a webhook is set or when a newer getUpdates of the same token takes over).
 *      `allowed_updates` is still ignored: every update kind is delivered.
 *  Q6  deleteWebhook ignores drop_pending_updates; setWebhook answers null and has no secret: replaced.
 *  Q7  Webhook deliveries carry no X-Telegram-Bot-Api-Secret-Token header, run unordered, and a
 *      non-2xx answer became an unhandled promise rejection that killed node: deliveries are queued
 *      per token, carry the secret, are tried 3 times, and failures show in getWebhookInfo.
 *  Q8  Methods answer `result: null` where Telegram answers true (answerCallbackQuery, deleteMessage):
 *      true. deleteMessage's errors came with HTTP 200 (PTB then fails on a missing `result`): the
 *      HTTP status is the error_code, so PTB raises BadRequest.
 *  Q9  callback_query lacks `chat_instance` (required by PTB's CallbackQuery): added.
 *  Q10 updates carry the client's `botToken` inside `message`: stripped (it is the bot's token).
 *  Q11 parse_mode is not interpreted: HTML is validated like Telegram does (400 "can't parse
 *      entities"), the returned Message has Telegram's plain text + entities, the stored message
 *      keeps what the bot sent. Over 4096 characters after parsing: 400 "message is too long".
 *  Q12 Unknown methods (sendChatAction, sendMessageDraft, ...) answer HTTP 500 {message}: kept (PTB
 *      raises NetworkError), with `description` naming the method; /_sip/accept can make a token's
 *      calls of such methods succeed. setMyCommands/getMyCommands/deleteMyCommands and
 *      getWebhookInfo are implemented.
 *  Q13 Stored messages expire after 60 s: TG_EMU_STORE_SECONDS, default 3600.
 *  Q14 Client routes returned null, did not await their promise (a bad body crashed node with an
 *      unhandled rejection): they answer {message_id, update_id} and report errors as HTTP 400.
 *  Q15 config.port 0 meant 9000: the port is set after construction so 0 picks a free port.
 *  Message ids are one counter across all chats (Telegram counts per chat); harmless.
 */
const { TelegramServer } = require('telegram-test-api/lib/telegramServer');
const { routes } = require('telegram-test-api/lib/routes/index');
const { handle } = require('telegram-test-api/lib/routes/bot/utils');
const { getMe } = require('telegram-test-api/lib/routes/bot/getMe');
const { getUpdates } = require('telegram-test-api/lib/routes/bot/getUpdates');
const { sendMessage } = require('telegram-test-api/lib/routes/bot/sendMessage');
const { editMessageText } = require('telegram-test-api/lib/routes/bot/editMessageText');
const { editMessageReplyMarkup } = require('telegram-test-api/lib/routes/bot/editMessageReplyMarkup');
const { setWebhook } = require('telegram-test-api/lib/routes/bot/setWebhook');
const { deleteWebhook } = require('telegram-test-api/lib/routes/bot/deleteWebhook');
const { unknownMethod } = require('telegram-test-api/lib/routes/bot/unknownMethod');
const clientRoutes = require('telegram-test-api/lib/routes/client/index').clientRoutes;
const { html } = require('./html');

function option(name, envName, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at !== -1 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  return process.env[envName] !== undefined ? process.env[envName] : fallback;
}

const HOST = option('host', 'TG_EMU_HOST', '127.0.0.1');
const PORT = Number(option('port', 'TG_EMU_PORT', '0'));
const BOT_USERNAME = option('bot-username', 'TG_EMU_BOT_USERNAME', 'SipTestBot');
const STORE_SECONDS = Number(option('store-seconds', 'TG_EMU_STORE_SECONDS', '3600'));
const MAX_TEXT = 4096;
const LONG_POLL_MAX_SECONDS = 50;

// Q4: fields PTB sends JSON-encoded in a form body, by the kind of value they hold.
const JSON_FIELDS = new Set(['reply_markup', 'entities', 'reply_parameters', 'link_preview_options',
  'allowed_updates', 'caption_entities', 'commands', 'scope']);
const NUMBER_FIELDS = new Set(['chat_id', 'message_id', 'message_thread_id', 'offset', 'limit',
  'timeout', 'draft_id', 'max_connections', 'cache_time', 'reply_to_message_id']);
const BOOL_FIELDS = new Set(['disable_notification', 'protect_content', 'drop_pending_updates',
  'show_alert', 'allow_sending_without_reply', 'disable_web_page_preview']);

function decodeParams(raw) {
  const params = {};
  for (const [key, value] of Object.entries(raw || {})) {
    let decoded = value;
    if (typeof value === 'string') {
      if (JSON_FIELDS.has(key)) {
        try { decoded = JSON.parse(value); } catch (_e) { decoded = value; }
      } else if (NUMBER_FIELDS.has(key) && /^-?\d+$/.test(value)) {
        decoded = Number(value);
      } else if (BOOL_FIELDS.has(key) && (value === 'true' || value === 'false')) {
        decoded = value === 'true';
      }
    }
    params[key] = decoded;
  }
  return params;
}

function botIdOf(token) {
  const match = /^(\d+):/.exec(String(token));
  return match ? Number(match[1]) : 666;
}

function botUser(token) {
  return { id: botIdOf(token), is_bot: true, first_name: 'Sip', username: BOT_USERNAME };
}

// The chat a bot message goes to, as customers showed it in their updates (Q2).
function chatFor(server, chatId) {
  const known = server.sipChats.get(String(chatId));
  if (known) return known;
  const id = Number(chatId);
  if (id < 0) return { id, type: id < -1e12 ? 'supergroup' : 'group', title: `Chat ${id}` };
  return { id, type: 'private', first_name: `User ${id}` };
}

function compact(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined && v !== null));
}

function inlineMarkup(markup) {
  return markup && typeof markup === 'object' && 'inline_keyboard' in markup ? markup : undefined;
}

// Telegram's view of a stored bot message (what sendMessage/edit* answer and callbacks embed).
function messageView(server, stored) {
  const sent = stored.message;
  const rendered = renderText(sent);
  return compact({
    message_id: stored.messageId,
    date: Math.floor(stored.time / 1000),
    edit_date: stored.sipEditedAt ? Math.floor(stored.sipEditedAt / 1000) : undefined,
    chat: chatFor(server, sent.chat_id),
    from: botUser(stored.botToken),
    message_thread_id: sent.message_thread_id,
    text: rendered.text,
    entities: rendered.entities.length ? rendered.entities : undefined,
    reply_markup: inlineMarkup(sent.reply_markup),
  });
}

function renderText(sent) {
  const text = sent.text === undefined ? '' : String(sent.text);
  if (String(sent.parse_mode || '').toUpperCase() === 'HTML') return html(text);
  return { text, entities: Array.isArray(sent.entities) ? sent.entities : [] };
}

class ApiError extends Error {
  constructor(status, description, parameters) {
    super(description);
    this.status = status;
    this.parameters = parameters;
  }
}

function sendApiError(res, error) {
  res.status(error.status).json(compact({
    ok: false, error_code: error.status, description: error.message, parameters: error.parameters,
  }));
}

// Q11: the text checks Telegram applies to sendMessage and editMessageText.
function checkText(sent) {
  let rendered;
  try {
    rendered = renderText(sent);
  } catch (error) {
    throw new ApiError(400, `Bad Request: can't parse entities: ${error.message}`);
  }
  if (!rendered.text.trim()) throw new ApiError(400, 'Bad Request: message text is empty');
  if (rendered.text.length > MAX_TEXT) throw new ApiError(400, 'Bad Request: message is too long');
}

function findBotMessage(server, token, params) {
  return server.storage.botMessages.find((u) => u.botToken === token
    && String(u.messageId) === String(params.message_id)
    && String(u.message.chat_id) === String(params.chat_id));
}

function pendingUpdates(server, token, offset) {
  return server.storage.userMessages.filter(
    (u) => u.botToken === token && !u.isRead && u.updateId >= offset,
  );
}

// Q7: one ordered delivery queue per token; the update stays pending until the webhook says 2xx.
function scheduleDelivery(server, update) {
  const token = update.botToken;
  const previous = server.sipDeliveries.get(token) || Promise.resolve();
  const next = previous.then(() => deliver(server, update)).catch((error) => {
    process.stderr.write(`webhook delivery error: ${error}\n`);
  });
  server.sipDeliveries.set(token, next);
}

async function deliver(server, update) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const hook = server.webhooks[update.botToken];
    if (!hook || update.isRead) return;
    const headers = { 'content-type': 'application/json' };
    if (hook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret_token;
    try {
      const response = await fetch(hook.url, {
        method: 'POST', headers, body: JSON.stringify(TelegramServer.formatUpdate(update)),
        signal: AbortSignal.timeout(10000),
      });
      await response.arrayBuffer();
      if (response.ok) {
        update.isRead = true;
        return;
      }
      hook.sipLastError = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    } catch (error) {
      hook.sipLastError = `Connection failed: ${error.cause ? error.cause.code || error.cause : error}`;
    }
    hook.sipLastErrorDate = Math.floor(Date.now() / 1000);
    await new Promise((resolve) => { setTimeout(resolve, 200 * attempt); });
  }
}

// --- TelegramServer patches -------------------------------------------------------------------

const originalAddBotMessage = TelegramServer.prototype.addBotMessage;
TelegramServer.prototype.addBotMessage = function addBotMessage(rawMessage, botToken) {
  originalAddBotMessage.call(this, rawMessage, botToken);
  // Q2: answer Telegram's Message (date in seconds) for the message just stored.
  return messageView(this, this.storage.botMessages[this.storage.botMessages.length - 1]);
};

// Q5/Q7: store every customer update (pending for getUpdates or a webhook) and wake long polls.
TelegramServer.prototype.addUserUpdate = async function addUserUpdate(update) {
  if (!update.botToken) throw new ApiError(400, 'Bad Request: the update needs a `botToken` field');
  const source = update.callbackQuery ? update.callbackQuery.message : update.message;
  if (source && source.chat && source.chat.id !== undefined && !update.callbackQuery) {
    this.sipChats.set(String(source.chat.id), source.chat);
  }
  this.storage.userMessages.push(update);
  this.updateId++;
  if (this.webhooks[update.botToken]) scheduleDelivery(this, update);
  this.emit('SipUserUpdate', update.botToken);
};

const originalFormatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = function formatUpdate(update) {
  const formatted = originalFormatUpdate(update);
  if (formatted.message) delete formatted.message.botToken; // Q10
  if (formatted.callback_query) { // Q9
    const query = update.callbackQuery;
    const chatId = query.message && query.message.chat ? query.message.chat.id : query.from.id;
    formatted.callback_query.chat_instance = query.chat_instance || `ci${chatId}`;
  }
  return formatted;
};

// --- routes -----------------------------------------------------------------------------------

function botMiddleware(app, server) {
  app.use((req, res, next) => {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path);
    if (!match) { next(); return; }
    const [, token, method] = match;
    req.body = decodeParams({ ...req.query, ...req.body });
    const calls = server.sipCalls.get(token) || [];
    calls.push({ seq: calls.length + 1, method, params: req.body, at: Date.now() / 1000 });
    server.sipCalls.set(token, calls);
    const json = res.json.bind(res);
    res.json = (body) => {
      if (body && body.ok === undefined && 'message' in body) { // Q12: the package's errors
        return json({ ok: false, error_code: res.statusCode, description: body.message });
      }
      if (body && body.ok === false && res.statusCode === 200) res.status(body.error_code || 400); // Q8
      if (body && body.ok === true && body.result === null) return json({ ...body, result: true }); // Q8
      return json(body);
    };
    const faults = (server.sipFaults.get(token) || {})[method];
    if (faults && faults.length) {
      const fault = faults[0];
      fault.times -= 1;
      if (fault.times <= 0) faults.shift();
      const parameters = fault.retry_after ? { retry_after: fault.retry_after } : undefined;
      sendApiError(res, new ApiError(fault.status, fault.description, parameters));
      return;
    }
    if ((server.sipAccepted.get(token) || new Set()).has(method)) {
      res.json({ ok: true, result: true });
      return;
    }
    next();
  });
}

function route(path, handler) {
  return (app, server) => handle(app, path, (req, res) => {
    try {
      handler(req, res, server, req.params.token, req.body);
    } catch (error) {
      if (error instanceof ApiError) sendApiError(res, error);
      else sendApiError(res, new ApiError(500, `Internal Server Error: ${error.message}`));
    }
  });
}

const getMeRoute = route('/bot:token/getMe', (req, res, server, token) => { // Q1
  res.json({
    ok: true,
    result: {
      ...botUser(token), can_join_groups: true, can_read_all_group_messages: false,
      supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false,
    },
  });
});

const getUpdatesRoute = route('/bot:token/getUpdates', (req, res, server, token, params) => { // Q5
  if (server.webhooks[token]) {
    throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
      + 'use deleteWebhook to delete the webhook first');
  }
  const offset = Number(params.offset || 0);
  const limit = Math.min(Math.max(Number(params.limit || 100), 1), 100);
  const timeout = Math.min(Math.max(Number(params.timeout || 0), 0), LONG_POLL_MAX_SECONDS);
  server.storage.userMessages.forEach((u) => {
    if (u.botToken === token && offset > 0 && u.updateId < offset) u.isRead = true;
  });
  const previous = server.sipPolls.get(token);
  if (previous) previous(); // a newer poll takes over, as on Telegram
  let timer = null;
  const finish = (conflict) => {
    server.off('SipUserUpdate', onUpdate);
    clearTimeout(timer);
    if (server.sipPolls.get(token) === terminate) server.sipPolls.delete(token);
    if (res.writableEnded || res.destroyed) return;
    if (conflict) {
      sendApiError(res, new ApiError(409, 'Conflict: terminated by other getUpdates request; '
        + 'make sure that only one bot instance is running'));
      return;
    }
    const updates = pendingUpdates(server, token, offset).slice(0, limit);
    res.json({ ok: true, result: updates.map((u) => TelegramServer.formatUpdate(u)) });
  };
  const terminate = () => finish(true);
  const onUpdate = (updateToken) => { if (updateToken === token) finish(false); };
  if (pendingUpdates(server, token, offset).length || timeout === 0) { finish(false); return; }
  server.sipPolls.set(token, terminate);
  server.on('SipUserUpdate', onUpdate);
  timer = setTimeout(() => finish(false), timeout * 1000);
  res.on('close', () => { // the poller went away: nothing is consumed
    server.off('SipUserUpdate', onUpdate);
    clearTimeout(timer);
    if (server.sipPolls.get(token) === terminate) server.sipPolls.delete(token);
  });
});

const sendMessageRoute = route('/bot:token/sendMessage', (req, res, server, token, params) => {
  if (params.chat_id === undefined || params.chat_id === '') {
    throw new ApiError(400, 'Bad Request: chat_id is empty');
  }
  checkText(params);
  res.json({ ok: true, result: server.addBotMessage(params, token) });
});

const editMessageTextRoute = route('/bot:token/editMessageText', (req, res, server, token, params) => {
  if (params.inline_message_id) { res.json({ ok: true, result: true }); return; }
  const stored = findBotMessage(server, token, params);
  if (!stored) throw new ApiError(400, 'Bad Request: message to edit not found');
  checkText(params);
  const before = stored.message;
  const after = { ...before, text: params.text, parse_mode: params.parse_mode,
    entities: params.entities, reply_markup: params.reply_markup };
  const same = (a, b) => JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
  if (same(renderText(before), renderText(after)) && same(inlineMarkup(before.reply_markup), inlineMarkup(after.reply_markup))) {
    throw new ApiError(400, 'Bad Request: message is not modified: specified new message content '
      + 'and reply markup are exactly the same as a current content and reply markup of the message');
  }
  stored.message = after;
  stored.sipEditCount = (stored.sipEditCount || 0) + 1;
  stored.sipEditedAt = Date.now();
  server.emit('EditedMessageText');
  res.json({ ok: true, result: messageView(server, stored) });
});

const editMarkupRoute = route('/bot:token/editMessageReplyMarkup', (req, res, server, token, params) => {
  if (params.inline_message_id) { res.json({ ok: true, result: true }); return; }
  const stored = findBotMessage(server, token, params);
  if (!stored) throw new ApiError(400, 'Bad Request: message to edit not found');
  stored.message = { ...stored.message, reply_markup: params.reply_markup };
  stored.sipEditCount = (stored.sipEditCount || 0) + 1;
  stored.sipEditedAt = Date.now();
  server.emit('EditedMessageReplyMarkup');
  res.json({ ok: true, result: messageView(server, stored) });
});

function dropPending(server, token) {
  server.storage.userMessages.forEach((u) => { if (u.botToken === token) u.isRead = true; });
}

const setWebhookRoute = route('/bot:token/setWebhook', (req, res, server, token, params) => { // Q6
  if (params.drop_pending_updates) dropPending(server, token);
  if (!params.url) {
    server.deleteWebhook(token);
  } else {
    server.setWebhook({ url: params.url, secret_token: params.secret_token,
      max_connections: params.max_connections, allowed_updates: params.allowed_updates }, token);
    pendingUpdates(server, token, 0).forEach((u) => scheduleDelivery(server, u));
  }
  res.json({ ok: true, result: true, description: params.url ? 'Webhook was set' : 'Webhook was deleted' });
});

const deleteWebhookRoute = route('/bot:token/deleteWebhook', (req, res, server, token, params) => {
  if (params.drop_pending_updates) dropPending(server, token);
  server.deleteWebhook(token);
  res.json({ ok: true, result: true, description: 'Webhook was deleted' });
});

const getWebhookInfoRoute = route('/bot:token/getWebhookInfo', (req, res, server, token) => {
  const hook = server.webhooks[token] || {};
  res.json({
    ok: true,
    result: compact({
      url: hook.url || '', has_custom_certificate: false,
      pending_update_count: pendingUpdates(server, token, 0).length,
      last_error_date: hook.sipLastErrorDate, last_error_message: hook.sipLastError,
      max_connections: hook.url ? hook.max_connections || 40 : undefined,
      allowed_updates: hook.allowed_updates,
    }),
  });
});

function commandsKey(params) {
  return `${JSON.stringify(params.scope || { type: 'default' })}|${params.language_code || ''}`;
}

const commandRoutes = [
  route('/bot:token/setMyCommands', (req, res, server, token, params) => {
    server.sipCommands.set(`${token}|${commandsKey(params)}`, params.commands || []);
    res.json({ ok: true, result: true });
  }),
  route('/bot:token/getMyCommands', (req, res, server, token, params) => {
    res.json({ ok: true, result: server.sipCommands.get(`${token}|${commandsKey(params)}`) || [] });
  }),
  route('/bot:token/deleteMyCommands', (req, res, server, token, params) => {
    server.sipCommands.delete(`${token}|${commandsKey(params)}`);
    res.json({ ok: true, result: true });
  }),
];

// Q14: customer routes that answer the ids they assigned and never crash the process.
function clientRoute(path, add) {
  return (app, server) => app.post(path, (req, res) => {
    const body = req.body || {};
    if (!body.botToken) { sendApiError(res, new ApiError(400, 'Bad Request: botToken is required')); return; }
    const ids = { update_id: server.updateId, message_id: server.messageId, callback_query_id: String(server.callbackId) };
    add(server, body).then(() => res.json({ ok: true, result: ids }))
      .catch((error) => sendApiError(res, new ApiError(400, `Bad Request: ${error.message}`)));
  });
}

const clientSendMessage = clientRoute('/sendMessage', (server, body) => server.addUserMessage(body));
const clientSendCommand = clientRoute('/sendCommand', (server, body) => server.addUserCommand(body));
const clientSendCallback = clientRoute('/sendCallback', (server, body) => server.addUserCallback(body));

// Sip's control routes: what the bot sent to a chat, the bot's API calls, faults, optional methods.
function controlRoutes(app, server) {
  app.get('/_sip/health', (req, res) => res.json({ ok: true, result: { bot_username: BOT_USERNAME } }));
  app.post('/_sip/chat', (req, res) => {
    const { token, chat_id: chatId } = req.body || {};
    const result = server.storage.botMessages
      .filter((u) => u.botToken === token && (chatId === undefined || String(u.message.chat_id) === String(chatId)))
      .map((u) => {
        let plain;
        try { plain = renderText(u.message).text; } catch (_e) { plain = String(u.message.text); }
        return { message: messageView(server, u), sent: u.message, plain_text: plain,
          edit_count: u.sipEditCount || 0 };
      });
    res.json({ ok: true, result });
  });
  app.post('/_sip/calls', (req, res) => {
    const { token, method } = req.body || {};
    const calls = (server.sipCalls.get(token) || []).filter((c) => !method || c.method === method);
    res.json({ ok: true, result: calls });
  });
  app.post('/_sip/accept', (req, res) => {
    const { token, methods } = req.body || {};
    server.sipAccepted.set(token, new Set(methods || []));
    res.json({ ok: true, result: true });
  });
  app.post('/_sip/fail', (req, res) => {
    const { token, method, status = 500, description = 'Internal Server Error', times = 1, retry_after: retryAfter } = req.body || {};
    const faults = server.sipFaults.get(token) || {};
    (faults[method] = faults[method] || []).push({ status, description, times, retry_after: retryAfter });
    server.sipFaults.set(token, faults);
    res.json({ ok: true, result: true });
  });
}

// --- wiring: replace entries of the package's routes array before constructing the server ----

function replaceRoute(original, replacement) {
  const at = routes.indexOf(original);
  if (at === -1) throw new Error('telegram-test-api routes changed; update tests/telegram/server.js');
  routes[at] = replacement;
}

replaceRoute(getMe, getMeRoute);
replaceRoute(getUpdates, getUpdatesRoute);
replaceRoute(sendMessage, sendMessageRoute);
replaceRoute(editMessageText, editMessageTextRoute);
replaceRoute(editMessageReplyMarkup, editMarkupRoute);
replaceRoute(setWebhook, setWebhookRoute);
replaceRoute(deleteWebhook, deleteWebhookRoute);
replaceRoute(clientRoutes[0], clientSendMessage);
replaceRoute(clientRoutes[1], clientSendCommand);
replaceRoute(clientRoutes[2], clientSendCallback);
routes.splice(routes.indexOf(unknownMethod), 0, getWebhookInfoRoute, ...commandRoutes);
routes.unshift(controlRoutes, botMiddleware);

async function main() {
  const server = new TelegramServer({ host: HOST, port: 9000, storeTimeout: STORE_SECONDS });
  Object.assign(server, {
    sipChats: new Map(), sipCalls: new Map(), sipFaults: new Map(), sipAccepted: new Map(),
    sipCommands: new Map(), sipPolls: new Map(), sipDeliveries: new Map(),
  });
  server.setMaxListeners(0); // one long poll per bot token waits on SipUserUpdate
  server.config.port = PORT; // Q15
  await server.start();
  const { port } = server.server.address();
  process.stdout.write(`${JSON.stringify({ event: 'ready', host: HOST, port })}\n`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.argv.includes('--exit-on-stdin-close')) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main().catch((error) => {
  process.stderr.write(`telegram emulator failed to start: ${error.stack || error}\n`);
  process.exit(1);
});

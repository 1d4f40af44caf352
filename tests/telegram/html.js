'use strict';
/*
 * Telegram's HTML parse mode, as far as the Bot API documents it: the supported tags become
 * entities, &lt; &gt; &amp; &quot; and numeric entities are decoded, and malformed markup throws
 * the message Telegram puts after "Bad Request: can't parse entities: ". Offsets and lengths are
 * UTF-16 code units like Telegram's (JavaScript strings are UTF-16). Like Telegram, a '&' that
 * starts no entity and a stray '>' are taken literally; a '<' that starts no supported tag fails.
 */

const TAGS = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', ins: 'underline',
  s: 'strikethrough', strike: 'strikethrough', del: 'strikethrough', 'tg-spoiler': 'spoiler',
  span: 'spoiler', a: 'text_link', code: 'code', pre: 'pre', blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};
const NAMED = { lt: '<', gt: '>', amp: '&', quot: '"' };
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*>/y;
const ENTITY = /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/y;
const ATTRIBUTE = /([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function decodeEntities(value) {
  return value.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : Number(body.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[body] === undefined ? whole : NAMED[body];
  });
}

function attributes(source) {
  const found = {};
  for (const match of source.matchAll(ATTRIBUTE)) {
    const value = match[2] ?? match[3] ?? match[4] ?? '';
    found[match[1].toLowerCase()] = decodeEntities(value);
  }
  return found;
}

function byteOffset(text, index) {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

function startEntity(name, attrs, at) {
  const type = TAGS[name];
  if (type === undefined) throw new Error(`Unsupported start tag "${name}" at byte offset ${at}`);
  if (name === 'span' && attrs.class !== 'tg-spoiler') {
    throw new Error(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
  }
  const extra = {};
  if (name === 'a') {
    if (!attrs.href) throw new Error(`Can't find URL of the link at byte offset ${at}`);
    extra.url = attrs.href;
  }
  if (name === 'tg-emoji') extra.custom_emoji_id = attrs['emoji-id'];
  if (name === 'blockquote' && 'expandable' in attrs) return { type: 'expandable_blockquote', extra };
  return { type, extra };
}

/** Parse `text` in HTML parse mode into {text, entities}, or throw Telegram's parse error. */
function html(text) {
  let plain = '';
  const entities = [];
  const open = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '<') {
      TAG.lastIndex = i;
      const match = TAG.exec(text);
      const at = byteOffset(text, i);
      if (!match) {
        const name = (/^<\/?([^\s>/]*)/.exec(text.slice(i, i + 40)) || ['', ''])[1];
        throw new Error(`Unsupported start tag "${name}" at byte offset ${at}`);
      }
      const name = match[2].toLowerCase();
      if (match[1]) {
        const top = open.pop();
        if (!top) throw new Error(`Unexpected end tag at byte offset ${at}`);
        if (top.name !== name) {
          throw new Error(`Unmatched end tag at byte offset ${at}, expected "</${top.name}>", found "</${name}>"`);
        }
        const length = plain.length - top.offset;
        if (length > 0) entities.push({ type: top.type, offset: top.offset, length, ...top.extra });
      } else {
        const { type, extra } = startEntity(name, attributes(match[3]), at);
        open.push({ name, type, extra, offset: plain.length });
      }
      i = TAG.lastIndex;
      continue;
    }
    if (ch === '&') {
      ENTITY.lastIndex = i;
      const match = ENTITY.exec(text);
      const decoded = match ? decodeEntities(match[0]) : ch;
      if (match && decoded !== match[0]) {
        plain += decoded;
        i = ENTITY.lastIndex;
        continue;
      }
    }
    plain += ch;
    i += 1;
  }
  if (open.length) {
    throw new Error(`Can't find end tag corresponding to start tag "${open[open.length - 1].name}"`);
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: plain, entities };
}

module.exports = { html };

// Safe Markdown for Sip's answers: escape every HTML character first, then turn a small
// subset into tags — paragraphs, line breaks, **bold**, *italics*, `code`, ``` blocks,
// "-"/"1." lists, "#" headings (as bold lines) and [links](https://…) with http(s) only.
// Nothing the text contains can become a tag or an attribute: "<" is already "&lt;" and
// a quote is "&quot;" before any tag is made, and links open in a new tab without referrer.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

// Inline spans of one (already escaped) line.
function inline(text) {
  const kept = [];
  const keep = (html) => `\u0000${kept.push(html) - 1}\u0000`;
  let out = text.replace(/`([^`]+)`/g, (_, code) => keep(`<code>${code}</code>`));
  out = out.replace(/\[([^\]]+)\]\((https?:\/\/[^\s()<>"]+)\)/g, (_, label, url) =>
    keep(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`));
  out = out.replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, "<strong>$1</strong>");
  out = out.replace(/__(?=\S)([^_]*?\S)__/g, "<strong>$1</strong>");
  out = out.replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?![*\w])/g, "$1<em>$2</em>");
  out = out.replace(/(^|[^_\w])_(?=\S)([^_]*?\S)_(?![_\w])/g, "$1<em>$2</em>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, index) => kept[Number(index)]);
}

export function renderMarkdown(source) {
  const clean = String(source ?? "").replace(/\u0000/g, "").replace(/\r\n?/g, "\n");
  const lines = escapeHtml(clean).split("\n");
  const html = [];
  let paragraph = [];
  let list = null; // { tag: "ul" | "ol", items: [], start }
  let code = null; // lines of an open ``` block

  const flushParagraph = () => {
    if (paragraph.length) html.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (!list) return;
    const start = list.tag === "ol" && list.start !== 1 ? ` start="${list.start}"` : "";
    html.push(`<${list.tag}${start}>${list.items.map((item) =>
      `<li>${item.map(inline).join("<br>")}</li>`).join("")}</${list.tag}>`);
    list = null;
  };

  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) {
      if (code === null) {
        flushParagraph();
        flushList();
        code = [];
      } else {
        html.push(`<pre><code>${code.join("\n")}</code></pre>`);
        code = null;
      }
      continue;
    }
    if (code !== null) {
      code.push(line);
      continue;
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*(\d{1,9})[.)]\s+(.*)$/.exec(line);
    const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tag !== tag) {
        flushList();
        list = { tag, items: [], start: numbered ? Number(numbered[1]) : 1 };
      }
      list.items.push([bullet ? bullet[1] : numbered[2]]);
    } else if (heading) {
      flushParagraph();
      flushList();
      html.push(`<p class="heading"><strong>${inline(heading[1])}</strong></p>`);
    } else if (!line.trim()) {
      flushParagraph();
      flushList();
    } else if (list && /^\s{2,}\S/.test(line)) {
      list.items[list.items.length - 1].push(line.trim());
    } else {
      flushList();
      paragraph.push(line);
    }
  }
  if (code !== null) html.push(`<pre><code>${code.join("\n")}</code></pre>`);
  flushParagraph();
  flushList();
  return html.join("");
}

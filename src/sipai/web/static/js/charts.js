// Small SVG charts for the console, drawn with the DOM (no library, no CDN).
// chart(title, { labels, series: [{ name, values, color }], kind, format, minTop }) returns a
// <figure>: "stacked" bars, or "lines" (null values leave gaps). Each figure carries a
// legend, hover titles, and a visually hidden table with the same numbers for screen readers.

const NS = "http://www.w3.org/2000/svg";
const W = 480;
const H = 220;
const M = { left: 48, right: 10, top: 12, bottom: 30 };

export const PALETTE = {
  llm: "#2563eb", fallback: "#7c3aed", cache: "#0d9488", offline: "#ea580c", human: "#dc2626",
  refusal: "#6b7280", unknown: "#a3a3a3", prompt: "#0ea5e9", completion: "#6366f1",
  cost: "#16a34a", p50: "#2563eb", p95: "#dc2626", avoided: "#16a34a", met: "#dc2626",
  conversations: "#2563eb", turns: "#0d9488",
};

function svg(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function html(name, attrs = {}, text) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function axes(root, top, format, labels) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = M.top + plotH - (plotH * i) / 4;
    root.append(svg("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "axis" }));
    root.append(svg("text", { x: M.left - 6, y: y + 3, "text-anchor": "end" }, format((top * i) / 4)));
  }
  const every = Math.max(1, Math.ceil(labels.length / 7));
  labels.forEach((label, i) => {
    if ((labels.length - 1 - i) % every !== 0) return; // count back from the latest label
    const x = M.left + (plotW * (i + 0.5)) / labels.length;
    root.append(svg("text", { x, y: H - M.bottom + 14, "text-anchor": "middle" }, label));
  });
  return { plotW, plotH };
}

function legend(series) {
  const list = html("ul", { class: "legend" });
  for (const s of series) {
    const item = html("li");
    const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.background = s.color;
    item.append(swatch, document.createTextNode(s.name));
    list.append(item);
  }
  return list;
}

function dataTable(title, labels, series, format) {
  const table = html("table", { class: "visually-hidden" });
  table.append(html("caption", {}, title));
  const head = html("tr");
  head.append(html("th", { scope: "col" }, ""));
  for (const s of series) head.append(html("th", { scope: "col" }, s.name));
  table.append(head);
  labels.forEach((label, i) => {
    const row = html("tr");
    row.append(html("th", { scope: "row" }, label));
    for (const s of series) row.append(html("td", {}, s.values[i] == null ? "–" : format(s.values[i])));
    table.append(row);
  });
  return table;
}

export function chart(title, { labels, series, kind = "stacked", format = (v) => String(Math.round(v)),
  minTop = 4 }) {
  const figure = html("figure", { class: "chart" });
  figure.dataset.chart = title;
  figure.append(html("figcaption", {}, title));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  root.append(svg("title", {}, title));
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const peak = kind === "lines"
    ? Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v != null)))
    : Math.max(0, ...totals);
  const top = Math.max(niceMax(peak), minTop);
  const { plotW, plotH } = axes(root, top, format, labels);
  const slot = plotW / Math.max(1, labels.length);
  const y = (v) => M.top + plotH - (plotH * v) / top;

  if (kind === "lines") {
    for (const s of series) {
      let path = "";
      s.values.forEach((v, i) => {
        if (v == null) return;
        const x = M.left + slot * (i + 0.5);
        path += `${path && s.values[i - 1] != null ? "L" : "M"}${x.toFixed(1)},${y(v).toFixed(1)}`;
        const dot = svg("circle", { cx: x, cy: y(v), r: 2.5, fill: s.color });
        dot.append(svg("title", {}, `${labels[i]} · ${s.name}: ${format(v)}`));
        root.append(dot);
      });
      if (path) root.append(svg("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 2 }));
    }
  } else {
    labels.forEach((label, i) => {
      let base = 0;
      for (const s of series) {
        const v = s.values[i] || 0;
        if (v <= 0) continue;
        const bar = svg("rect", {
          x: M.left + slot * i + slot * 0.15, width: Math.max(1, slot * 0.7),
          y: y(base + v), height: Math.max(0.5, y(base) - y(base + v)), fill: s.color, rx: 1.5,
        });
        bar.append(svg("title", {}, `${label} · ${s.name}: ${format(v)}`));
        root.append(bar);
        base += v;
      }
    });
  }
  figure.append(root, legend(series), dataTable(title, labels, series, format));
  return figure;
}

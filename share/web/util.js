// util.js — small DOM and formatting helpers shared by the views.

// el('tag#id.class', {attr: value, onclick: fn}, child, ...): an element.
// Children may be strings (text nodes, never parsed as HTML), nodes, arrays or null.
export function el(spec, attrs, ...children) {
  const [head, ...classes] = spec.split('.');
  const [tag, id] = head.split('#');
  const e = document.createElement(tag);
  if (id) e.id = id;
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVGNS = 'http://www.w3.org/2000/svg';
// svg('rect', {x: 0, ...}, children...): an SVG element.
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const usd = new Intl.NumberFormat('en-US');
// Whole USD, "1,234,567".
export const money = (n) => usd.format(Number(n || 0));
export const num = money;

// A table: columns [{label, key|fn, num}], rows of objects; caption text.
export function table(caption, columns, rows, opts = {}) {
  const t = el('table', {class: opts.class});
  if (caption) t.append(el('caption', {}, caption));
  t.append(el('thead', {}, el('tr', {}, columns.map((c) => el('th', {scope: 'col', class: c.num ? 'num' : null}, c.label)))));
  const tb = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const c of columns) {
      const v = c.fn ? c.fn(r) : r[c.key];
      tr.append(el('td', {class: c.num ? 'num' : null}, c.num && (typeof v === 'number' || /^-?\d+$/.test(v)) ? money(v) : v));
    }
    tb.append(tr);
  }
  if (!rows.length) tb.append(el('tr', {}, el('td', {colspan: columns.length, class: 'empty'}, opts.empty || 'Nothing to show.')));
  t.append(tb);
  return t;
}

// RFC 4180 CSV of a header row, an optional HXL row, and rows of cells.
export function csv(columns, hxl, rows) {
  const q = (v) => {
    const s = String(v ?? '');
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const lines = [columns.map(q).join(',')];
  if (hxl && hxl.length) lines.push(hxl.map(q).join(','));
  for (const r of rows) lines.push(r.map(q).join(','));
  return lines.join('\r\n') + '\r\n';
}

// Offers text (or a Blob) as a download named name.
export function download(name, data, type = 'text/csv;charset=utf-8') {
  const blob = data instanceof Blob ? data : new Blob([data], {type});
  const a = el('a', {href: URL.createObjectURL(blob), download: name, class: 'hidden'});
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// Clears a node and fills it with children.
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// A status line for a failed load: the service's own message.
export function problemText(err) {
  return err && err.problem ? `${err.problem.title}: ${err.problem.detail}` : String(err && err.message || err);
}

// Local date and time of Unix milliseconds, ISO 8601 without seconds' fractions.
export function isoTime(ms) {
  const d = new Date(Number(ms));
  return isNaN(d) ? '-' : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

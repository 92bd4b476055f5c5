// gaps.js — requested, proposed, endorsed, committed and unmet by category ×
// regional group (GET /v1/reports/gaps), drawn in SVG, each chart with its
// table and a CSV/HXL download, and a table by country.
import * as api from './api.js';
import {el, svg, fill, money, table, csv, download, problemText} from './util.js';

const MEASURES = ['committed', 'endorsed', 'proposed', 'unmet']; // stacked, left to right
const LABELS = {committed: 'committed', endorsed: 'endorsed', proposed: 'proposed', unmet: 'unmet'};
let root = null;
let stale = true;

export function show(section) {
  root = section;
  if (stale) load();
}

export function onEvent(type) {
  if (type === 'run') {
    stale = true;
    if (root && !root.hidden) load();
  }
}

// Sums the report's rows by the cells named in keys.
function sum(rep, keys) {
  const ix = (c) => rep.columns.indexOf(c);
  const out = new Map();
  for (const r of rep.rows) {
    const k = keys.map((c) => r.cells[ix(c)]).join(' · ');
    const o = out.get(k) || Object.fromEntries([['key', k], ...keys.map((c) => [c, r.cells[ix(c)]]),
      ...['needs', 'requested', ...MEASURES].map((m) => [m, 0])]);
    for (const m of ['needs', 'requested', ...MEASURES]) o[m] += Number(r.cells[ix(m)] || 0);
    out.set(k, o);
  }
  return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

// A horizontal stacked bar chart of bars [{key, committed, endorsed, proposed, unmet}].
function chart(id, title, bars) {
  const max = Math.max(1, ...bars.map((b) => b.requested));
  const rowH = 22, labelW = 150, width = 720, plotW = width - labelW - 90;
  const g = svg('svg', {id, class: 'chart', viewBox: `0 0 ${width} ${bars.length * rowH + 30}`, role: 'img',
    'aria-labelledby': id + '-t', width: '100%'}, svg('title', {id: id + '-t'}, title));
  bars.forEach((b, i) => {
    const y = i * rowH + 4;
    g.append(svg('text', {x: labelW - 6, y: y + 13, 'text-anchor': 'end', class: 'lbl'}, b.key));
    let x = labelW;
    for (const m of MEASURES) {
      const w = (b[m] / max) * plotW;
      g.append(svg('rect', {x: x.toFixed(2), y, width: w.toFixed(2), height: rowH - 6, class: 'm-' + m,
        'data-measure': m, 'data-value': b[m], 'data-bar': b.key}, svg('title', {}, `${b.key}: ${LABELS[m]} ${money(b[m])} USD`)));
      x += w;
    }
    g.append(svg('text', {x: x + 4, y: y + 13, class: 'val'}, money(b.requested)));
  });
  const ly = bars.length * rowH + 18;
  MEASURES.forEach((m, i) => {
    g.append(svg('rect', {x: labelW + i * 110, y: ly - 9, width: 10, height: 10, class: 'm-' + m}));
    g.append(svg('text', {x: labelW + i * 110 + 14, y: ly, class: 'lbl'}, LABELS[m]));
  });
  return g;
}

function block(id, title, keys, rows, hxlKeys) {
  const cols = [...keys.map((k) => ({label: k, key: k})), {label: 'needs', key: 'needs', num: true},
    {label: 'requested', key: 'requested', num: true}, ...MEASURES.map((m) => ({label: m, key: m, num: true}))];
  const hxl = [...hxlKeys, '#activity+num+needs', '#value+requested+usd', ...MEASURES.map((m) => `#value+${m}+usd`)];
  const data = rows.map((r) => cols.map((c) => r[c.key]));
  const name = id.replace(/^g-/, 'gaps-');
  return el('figure.block', {id: id + '-fig'},
    el('figcaption', {}, el('h3', {}, title)),
    rows.length && id !== 'g-country' ? chart(id + '-chart', title, rows) : null,
    el('div.dl', {}, el('button', {type: 'button', onclick: () => download(name + '.csv', csv(cols.map((c) => c.label), null, data))}, 'Download CSV'),
      el('button', {type: 'button', onclick: () => download(name + '-hxl.csv', csv(cols.map((c) => c.label), hxl, data))}, 'Download CSV with HXL')),
    el('div.tablewrap', {}, table(null, cols, rows, {class: 'gaps-table'})));
}

async function load() {
  stale = false;
  let rep;
  try {
    rep = await api.get('/v1/reports/gaps');
  } catch (e) {
    fill(root, el('h2', {id: 'gaps-h'}, 'Funding gaps'), el('p.err', {role: 'alert'}, problemText(e)));
    return;
  }
  const t = rep.totals || {};
  fill(root,
    el('h2', {id: 'gaps-h'}, 'Funding gaps'),
    el('p', {}, `Requested ${money(t.requested)} USD: proposed ${money(t.proposed)}, endorsed ${money(t.endorsed)}, `,
       `committed ${money(t.committed)}, unmet ${money(t.unmet)} (run ${rep.run}).`),
    block('g-cat-group', 'By category and regional group', ['category', 'group'], sum(rep, ['category', 'group']), ['#sector+code', '#region+name']),
    block('g-group', 'By regional group', ['group'], sum(rep, ['group']), ['#region+name']),
    block('g-country', 'By country', ['country', 'group'], sum(rep, ['country', 'group']), ['#country+code', '#region+name']),
    el('ul.notes', {}, (rep.notes || []).map((n) => el('li', {}, n))));
}

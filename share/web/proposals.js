// proposals.js — the ranked proposals: filters, free-text search, paging by
// the API's cursor, a stacked score bar of factor points per row, and live
// marking of what the latest run changed.
import * as api from './api.js';
import {el, fill, money, problemText, download} from './util.js';
import {mark} from './session.js';

let explain = null; // explain.js, loaded when a proposal is first opened

export const FACTORS = ['priority', 'context', 'thematic', 'modality', 'urgency', 'equity', 'ldc', 'completeness'];
const GROUPS = ['AFRICAN', 'APG', 'EEG', 'GRULAC', 'WEOG'];
const STATES = ['proposed', 'endorsed', 'committed', 'delivered'];

let root = null;
let built = false;
let query = {};         // the filters applied
let cursor = '';        // the API's cursor of the page shown ('' = first)
let history = [];       // cursors of the pages before it
let limit = 50;
let changed = new Set(); // ids the latest runs published (marked new)
let dirty = false;
let searchTimer = null;
let liveTimer = null;
let loading = null;
let early = null;        // {path, page}: a first page asked for at sign-in

export function show(section) {
  root = section;
  if (!built) build();
  if (dirty || !loading || early) load(); // early: a sign-in asked for a fresh first page
}

function field(id, label, input) {
  return el('div.field', {}, el('label', {for: id}, label), input,
            el('span.err', {id: id + '-err', role: 'alert'}));
}

function select(id, options, first = 'any') {
  return el('select', {id, name: id.replace(/^f-/, '')}, el('option', {value: ''}, first),
            options.map((o) => (Array.isArray(o) ? el('option', {value: o[0]}, o[1]) : el('option', {value: o}, o))));
}

function build() {
  built = true;
  const form = el('form#filters.filters', {role: 'search', 'aria-label': 'Filter proposals', onsubmit: (e) => { e.preventDefault(); apply(); }},
    field('f-q', 'Search', el('input', {id: 'f-q', name: 'q', type: 'search', maxlength: 64,
          placeholder: 'country, standard, project, donor…', oninput: () => { clearTimeout(searchTimer); searchTimer = setTimeout(apply, 350); }})),
    field('f-country', 'Country', el('input', {id: 'f-country', name: 'country', maxlength: 3, size: 4,
          pattern: '[A-Za-z]{3}', placeholder: 'COD', autocomplete: 'off'})),
    field('f-group', 'Regional group', select('f-group', GROUPS)),
    field('f-category', 'Category', select('f-category', [['A', 'A custody, juvenile, restorative'],
          ['B', 'B international cooperation'], ['C', 'C prevention and victims'], ['D', 'D governance and integrity']])),
    field('f-standard', 'Standard', el('input', {id: 'f-standard', name: 'standard', maxlength: 32, size: 10, placeholder: 'D-JUDIC'})),
    field('f-donor', 'Donor', select('f-donor', [])),
    field('f-project', 'Project', select('f-project', [])),
    field('f-state', 'State', select('f-state', STATES)),
    el('div.actions', {}, el('button', {type: 'submit'}, 'Apply'),
       el('button', {type: 'button', onclick: reset}, 'Clear')));
  for (const id of ['f-group', 'f-category', 'f-donor', 'f-project', 'f-state'])
    form.querySelector('#' + id).addEventListener('change', apply);
  const legend = el('ul.legend', {'aria-label': 'Score bar: points of each factor'},
    FACTORS.map((f, i) => el('li', {}, el('span.swatch', {class: 'swatch f' + i, 'aria-hidden': 'true'}), f)));
  fill(root,
    el('h2', {id: 'proposals-h'}, 'Proposals'),
    el('p.run', {id: 'p-run'}),
    form,
    el('div.bar', {},
      el('p', {id: 'p-count', role: 'status', 'aria-live': 'polite'}),
      el('div.pager', {},
        el('button', {type: 'button', id: 'p-prev', onclick: prev}, '‹ Previous'),
        el('button', {type: 'button', id: 'p-next', onclick: next}, 'Next ›'),
        el('label', {for: 'p-limit'}, 'Rows'),
        el('select', {id: 'p-limit', onchange: (e) => { limit = Number(e.target.value); apply(); }},
           [25, 50, 100, 200].map((n) => el('option', {value: n, selected: n === limit}, n))),
        el('button', {type: 'button', onclick: () => csv(false)}, 'CSV'),
        el('button', {type: 'button', onclick: () => csv(true)}, 'CSV with HXL'))),
    legend,
    el('aside#explain.explain', {hidden: true, 'aria-labelledby': 'x-h', tabindex: '-1'}),
    el('div.tablewrap', {}, el('table#p-table.proposals', {'aria-describedby': 'p-count'},
      el('caption.sr', {}, 'Ranked proposals; choose a proposal to see why it is what it is'),
      el('thead', {}, el('tr', {}, ['Rank', 'Proposal', 'Country', 'Group', 'Cat.', 'Standard', 'Modality', 'Project',
        'Donors', 'Amount (USD)', 'Score', 'State'].map((h) => el('th', {scope: 'col', class: /Amount|Score|Rank/.test(h) ? 'num' : null}, h)))),
      el('tbody', {id: 'p-rows', onclick: rowClick}))),
    el('h3', {id: 'changes-h'}, 'Live changes'),
    el('ul#changes.changes', {'aria-labelledby': 'changes-h', 'aria-live': 'polite'}));
}

// Donors and projects for the filter choices (after the table: not on its path).
async function fillChoices() {
  try {
    const [donors, projects] = await Promise.all([api.getAll('/v1/donors?limit=1000'), api.getAll('/v1/projects?limit=1000')]);
    const d = root.querySelector('#f-donor'), p = root.querySelector('#f-project');
    for (const x of donors) d.append(el('option', {value: x.id}, `${x.id} — ${x.name}`));
    for (const x of projects) p.append(el('option', {value: x.project.id}, x.project.id));
  } catch (e) { /* the filters still work by typing in the other fields */ }
}

function readForm() {
  const f = root.querySelector('#filters');
  const q = {};
  for (const [k, v] of new FormData(f).entries()) {
    const s = String(v).trim();
    if (s) q[k] = k === 'country' ? s.toUpperCase() : s;
  }
  return q;
}

function apply() {
  query = readForm();
  cursor = '';
  history = [];
  load();
}

function reset() {
  root.querySelector('#filters').reset();
  apply();
}

function prev() {
  if (!history.length) return;
  cursor = history.pop();
  load();
}

function next() {
  const n = root.querySelector('#p-next').dataset.cursor;
  if (!n) return;
  history.push(cursor);
  cursor = n;
  load();
}

function path() {
  const p = new URLSearchParams(query);
  p.set('limit', String(limit));
  if (cursor) p.set('cursor', cursor);
  return '/v1/proposals?' + p.toString();
}

async function csv(hxl) {
  const p = new URLSearchParams(query);
  p.set('limit', '1000');
  try {
    download(hxl ? 'proposals-hxl.csv' : 'proposals.csv', await api.getCsv('/v1/proposals?' + p.toString(), hxl));
  } catch (e) {
    root.querySelector('#p-count').textContent = problemText(e);
  }
}

// A page of rows is one HTML string, parsed once (innerHTML): far less work
// than building each cell with the DOM API. Every value is escaped; a click
// anywhere in a row (or Enter on its button) opens it (one listener, on tbody).
const ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
const esc = (v) => String(v === undefined || v === null ? '' : v).replace(/[&<>"']/g, (c) => ESC[c]);

// The score as a bar of its factors' points (of 10,000).
function scoreBarHtml(p) {
  let x = 0, rects = '';
  for (const f of p.factors || []) {
    const i = FACTORS.indexOf(f.name), w = Number(f.points) || 0;
    rects += `<rect x="${x}" y="0" width="${w}" height="10" class="f${i < 0 ? 7 : i}"></rect>`;
    x += w;
  }
  const label = `score ${p.score} of 10000: ` + (p.factors || []).map((f) => `${f.name} ${f.points}`).join(', ');
  return '<span class="score"><svg viewBox="0 0 10000 10" preserveAspectRatio="none" role="img" class="scorebar" ' +
    `width="120" height="12"><title>${esc(label)}</title><rect x="0" y="0" width="10000" height="10" class="track"></rect>` +
    `${rects}</svg><span class="scorenum">${esc(p.score)}</span></span>`;
}

function rowHtml(p) {
  const isNew = changed.has(p.id);
  const td = (v) => `<td>${esc(v)}</td>`;
  return `<tr data-id="${esc(p.id)}"${isNew ? ' class="new"' : ''}><td class="num">${esc(p.rank)}</td>` +
    `<td><button type="button" class="linkish pid" aria-label="Explain proposal ${esc(p.id)}">${esc(p.id)}</button>` +
    `${isNew ? '<span class="badge">new</span>' : ''}</td>` +
    td(p.country) + td(p.group) + td(p.category) + td(p.standard) + td(p.modality) + td(p.project) +
    td((p.donors || []).join(', ')) + `<td class="num">${esc(money(p.amount))}</td><td class="num">${scoreBarHtml(p)}</td>` +
    `<td class="state s-${esc(p.state)}">${esc(p.state + (p.fixed_only ? ' (held)' : ''))}</td></tr>`;
}

function rowClick(e) {
  const tr = e.target.closest('tr[data-id]');
  if (tr) open(tr.dataset.id);
}

async function load() {
  const my = (loading = path());
  dirty = false;
  mark('proposals-request');
  let page;
  try {
    const pre = early && early.path === my ? early.page : null;
    early = null;
    page = await (pre || api.get(my, {withLink: true}));
  } catch (e) {
    if (loading !== my) return;
    root.querySelector('#p-count').textContent = problemText(e);
    for (const [k] of Object.entries(query)) {
      const ptr = (e.problem && e.problem.errors || []).find((x) => x.pointer === '/' + k);
      const span = root.querySelector(`#f-${k}-err`);
      if (span) span.textContent = ptr ? ptr.detail : '';
    }
    fill(root.querySelector('#p-rows'));
    return;
  }
  if (loading !== my) return; // a later request superseded this one
  mark('proposals-response');
  for (const s of root.querySelectorAll('#filters .err')) s.textContent = '';
  const {data} = page;
  const tbody = root.querySelector('#p-rows');
  const items = data.items || [];
  if (items.length) {
    tbody.innerHTML = items.map(rowHtml).join('');
    mark('first-row');
    mark('rows-built');
  } else {
    fill(tbody, el('tr', {}, el('td.empty', {colspan: 12}, 'No proposal matches these filters.')));
  }
  const first = Number(new URLSearchParams(my.split('?')[1]).get('cursor') || 0);
  root.querySelector('#p-count').textContent = data.total
    ? `Proposals ${first + 1}–${first + items.length} of ${data.total}` : 'No proposals';
  root.querySelector('#p-run').textContent = `Run ${data.run} · inputs ${String(data.hash).slice(0, 12)}`;
  const nextCursor = page.next ? new URLSearchParams(page.next.split('?')[1]).get('cursor') : '';
  const nb = root.querySelector('#p-next');
  nb.dataset.cursor = nextCursor || '';
  nb.disabled = !nextCursor;
  root.querySelector('#p-prev').disabled = !history.length;
  root.querySelector('#p-table').dataset.run = data.run;
  void tbody.offsetHeight; // laid out: the rows are on screen and answer clicks
  mark('interactive');
  if (!choicesFilled) {
    choicesFilled = true;
    fillChoices(); // after the table: not on its path
  }
}
let choicesFilled = false;

async function open(id) {
  if (!explain) explain = await import('./explain.js');
  explain.open(root.querySelector('#explain'), id);
}

// Asks for the first page before the view is built (beside /v1/whoami).
export function prefetch() {
  const p = path();
  mark('proposals-request');
  early = {path: p, page: api.get(p, {withLink: true})};
  early.page.catch(() => {}); // load() reports a failure
}

// Live: a run's proposals mark their rows new; the page reloads itself
// in place when the run's events have arrived. The run event comes last: it
// closes its run (proto/FEEDS.md), so the proposals before it are the run's.
let fresh = new Set();
export function onEvent(type, data) {
  if (type === 'run') {
    if (fresh.size) changed = fresh;
    fresh = new Set();
  } else if (type === 'proposal' && data) {
    fresh.add(data.id);
    const list = document.getElementById('changes');
    if (list) {
      list.prepend(el('li', {class: 'new', dataset: {id: data.id}},
        el('span.badge', {}, 'new'), ` ${data.id} · ${data.country} · ${data.project} · `,
        `${money(data.amount)} USD · ${data.state} · ${String(data.reason).replace('_', ' ')}`));
      while (list.children.length > 12) list.lastChild.remove();
    }
  } else if (type === 'reset') {
    fresh = new Set();
  } else {
    return;
  }
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    changed = fresh.size ? fresh : changed;
    dirty = true;
    if (root && !root.hidden) {
      load();
      if (explain) explain.refresh();
    }
  }, 300);
}

// pipeline.js — decisions by state, what needs a manager's attention, and
// the audit log (who, when, why) from GET /v1/history, paged.
import * as api from './api.js';
import {el, fill, money, table, csv, download, problemText, isoTime} from './util.js';

let root = null;
let stale = true;
let next = null;

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

function reportTable(part) {
  const cols = part.columns.map((c, i) => ({label: c, num: part.numeric && part.numeric[i] !== '0',
    fn: (r) => (part.numeric && part.numeric[i] === '1' && /^-?\d+$/.test(r.cells[i]) ? money(r.cells[i]) : r.cells[i])}));
  return el('section.block', {'aria-label': part.title},
    el('span.dl', {},
      el('button', {type: 'button', onclick: () => download('pipeline.csv', csv(part.columns, null, part.rows.map((r) => r.cells)))}, 'Download CSV'),
      el('button', {type: 'button', onclick: () => download('pipeline-hxl.csv', csv(part.columns, part.hxl, part.rows.map((r) => r.cells)))}, 'Download CSV with HXL')),
    el('div.tablewrap', {}, table(part.title, cols, part.rows, {class: 'report', empty: 'None.'})));
}

const AUDIT = [{label: 'Seq', key: 'seq', num: true}, {label: 'When', fn: (e) => isoTime(e.at)},
  {label: 'Who', key: 'principal'}, {label: 'Role', key: 'role'}, {label: 'Act', key: 'act'},
  {label: 'Proposal', key: 'proposal'}, {label: 'From → to', fn: (e) => `${e.from} → ${e.to}`},
  {label: 'Amount (USD)', fn: (e) => (e.amount ? money(e.amount) : '')}, {label: 'Why', key: 'reason'}];

async function more(tbodyHost, button) {
  try {
    const page = await api.get(next, {withLink: true});
    next = page.next;
    const t = table(null, AUDIT, page.data.items || []);
    const tb = tbodyHost.querySelector('tbody');
    for (const tr of t.querySelectorAll('tbody tr')) if (!tr.querySelector('.empty')) tb.append(tr);
    button.hidden = !next;
  } catch (e) {
    button.replaceWith(el('p.err', {role: 'alert'}, problemText(e)));
  }
}

async function load() {
  stale = false;
  let rep, first;
  try {
    [rep, first] = await Promise.all([api.get('/v1/reports/pipeline'), api.get('/v1/history?limit=100', {withLink: true})]);
  } catch (e) {
    fill(root, el('h2', {id: 'pipeline-h'}, 'Pipeline and audit'), el('p.err', {role: 'alert'}, problemText(e)));
    return;
  }
  next = first.next;
  const audit = table('Audit log: who, when and why', AUDIT, first.data.items || [], {class: 'audit', empty: 'No decision yet.'});
  const moreBtn = el('button', {type: 'button', hidden: !next}, 'More entries');
  moreBtn.addEventListener('click', () => more(audit, moreBtn));
  fill(root,
    el('h2', {id: 'pipeline-h'}, 'Pipeline and audit'),
    reportTable({title: 'Decisions by state', columns: rep.columns, hxl: rep.hxl, numeric: rep.numeric, rows: rep.rows}),
    (rep.more || []).map(reportTable),
    el('div.tablewrap', {}, audit), moreBtn,
    el('ul.notes', {}, (rep.notes || []).map((n) => el('li', {}, n))));
}

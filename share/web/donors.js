// donors.js — donors and projects: per project its utilisation, the money
// no declared need can use (stranded earmarks) and its dual price as "one
// more dollar here funds …"; each project's ledger; the donors report.
import * as api from './api.js';
import {el, svg, fill, money, table, csv, download, problemText} from './util.js';

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

function utilBar(used, received) {
  const share = received > 0 ? Math.min(1, used / received) : 0;
  const pct = Math.round(share * 100);
  return el('span.util', {}, svg('svg', {viewBox: '0 0 100 10', preserveAspectRatio: 'none', width: 80, height: 10,
    role: 'img', 'aria-label': `${pct}% used`}, svg('rect', {x: 0, y: 0, width: 100, height: 10, class: 'track'}),
    svg('rect', {x: 0, y: 0, width: pct, height: 10, class: 'used'})), ` ${pct}%`);
}

function dualText(ps) {
  if (!ps) return 'not in the current run';
  if (ps.dual <= 0) return 'one more dollar here funds nothing more: no need it may fund is left unfunded';
  return `one more dollar here funds ${money(ps.dual)} score points of unmet need` +
    (ps.dual_range > 0 ? `, and so does each of the next ${money(ps.dual_range)} USD` : '');
}

function reportCsv(part, name) {
  return el('span.dl', {},
    el('button', {type: 'button', onclick: () => download(name + '.csv', csv(part.columns, null, part.rows.map((r) => r.cells)))}, 'Download CSV'),
    el('button', {type: 'button', onclick: () => download(name + '-hxl.csv', csv(part.columns, part.hxl, part.rows.map((r) => r.cells)))}, 'Download CSV with HXL'));
}

function reportTable(part) {
  const cols = part.columns.map((c, i) => ({label: c, num: part.numeric && part.numeric[i] !== '0',
    fn: (r) => (part.numeric && part.numeric[i] === '1' && /^-?\d+$/.test(r.cells[i]) ? money(r.cells[i]) : r.cells[i])}));
  return table(part.title, cols, part.rows, {class: 'report'});
}

async function ledger(id, where) {
  fill(where, el('p', {}, `Loading the ledger of ${id}…`));
  try {
    const items = await api.getAll('/v1/projects/' + encodeURIComponent(id) + '/ledger');
    fill(where, table(`Ledger of ${id}`, [{label: 'Date', key: 'date'}, {label: 'Kind', key: 'kind'},
      {label: 'Amount (USD)', key: 'amount', num: true}, {label: 'Note', key: 'note'}, {label: 'By', key: 'by'}], items,
      {empty: 'No ledger entries.', class: 'ledger'}));
    where.querySelector('caption').setAttribute('tabindex', '-1');
    where.querySelector('caption').focus();
  } catch (e) {
    fill(where, el('p.err', {role: 'alert'}, problemText(e)));
  }
}

async function load() {
  stale = false;
  let rep, run, projects;
  try {
    [rep, run, projects] = await Promise.all([api.get('/v1/reports/donors'), api.get('/v1/runs/current'),
      api.getAll('/v1/projects?limit=1000')]);
  } catch (e) {
    fill(root, el('h2', {id: 'donors-h'}, 'Donors and projects'), el('p.err', {role: 'alert'}, problemText(e)));
    return;
  }
  const ix = (c) => rep.columns.indexOf(c);
  const per = new Map();
  for (const r of rep.rows) {
    const id = r.cells[ix('project')];
    const o = per.get(id) || {received: 0, committed: 0, endorsed: 0, proposed: 0, unallocated: 0};
    for (const k of Object.keys(o)) o[k] += Number(r.cells[ix(k)] || 0);
    per.set(id, o);
  }
  const state = new Map((run.project_state || []).map((p) => [p.project, p]));
  const stranded = (rep.more || [])[0];
  const strandedBy = new Map((stranded ? stranded.rows : []).map((r) => [r.cells[0], r.cells]));
  const ledgerBox = el('div#ledger.ledgerbox', {'aria-live': 'polite'});
  const rows = projects.map((x) => {
    const p = x.project, m = per.get(p.id) || {received: x.received, committed: 0, endorsed: 0, proposed: 0, unallocated: 0};
    return {p, m, ps: state.get(p.id), s: strandedBy.get(p.id)};
  });
  const ptable = table('Projects: utilisation, stranded earmarks and the dual price', [
    {label: 'Project', fn: (r) => el('span', {}, el('strong', {}, r.p.id), el('br'), r.p.title)},
    {label: 'Donors', fn: (r) => (r.p.donors || []).map((d) => `${d.donor} ${d.percent}%`).join(', ')},
    {label: 'Status', fn: (r) => r.p.status},
    {label: 'Received', fn: (r) => money(r.m.received), num: true},
    {label: 'Used (committed + endorsed + proposed)', fn: (r) => utilBar(r.m.committed + r.m.endorsed + r.m.proposed, r.m.received)},
    {label: 'Unallocated', fn: (r) => money(r.m.unallocated), num: true},
    {label: 'Stranded earmark', fn: (r) => (r.s ? `${money(r.s[2])} USD: ${r.s[4]}` : '—')},
    {label: 'One more dollar here…', fn: (r) => el('span', {dataset: {dual: r.ps ? r.ps.dual : ''}}, dualText(r.ps))},
    {label: 'Ledger', fn: (r) => el('button', {type: 'button', 'aria-label': `Ledger of ${r.p.id}`,
      onclick: () => ledger(r.p.id, ledgerBox)}, 'Ledger')},
  ], rows, {class: 'projects'});
  fill(root,
    el('h2', {id: 'donors-h'}, 'Donors and projects'),
    el('p', {}, `Run ${run.run}: ${money(run.funded)} USD proposed or fixed of ${money(run.requested)} requested; `,
       `${run.projects} active projects. The dual price is the score one more dollar would add: where new or `,
       're-earmarked money does most good.'),
    el('div.tablewrap', {}, ptable),
    ledgerBox,
    stranded ? el('section.block', {'aria-label': stranded.title}, reportCsv(stranded, 'stranded'), el('div.tablewrap', {}, reportTable(stranded))) : null,
    el('section.block', {'aria-label': rep.title}, reportCsv(rep, 'donors'), el('div.tablewrap', {}, reportTable(rep))),
    el('ul.notes', {}, (rep.notes || []).map((n) => el('li', {}, n))));
}

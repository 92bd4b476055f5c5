// explain.js — why a proposal is what it is (GET /v1/proposals/{need}/{project}):
// factors × weights, eligibility, binding constraints, the dual price,
// alternatives, the money, its history; and the decisions the role allows.
import * as api from './api.js';
import {el, fill, money, table, problemText, isoTime} from './util.js';
import {may, session} from './session.js';

let panel = null;
let current = null;

// Which acts the pipeline allows from a pair's state (docs/pipeline.md).
const NEXT = {
  proposed: ['endorse', 'decline'], unfunded: ['endorse', 'decline'], withdrawn: ['endorse', 'decline'],
  endorsed: ['commit', 'withdraw'], committed: ['deliver'], delivered: [], declined: [],
  ineligible: [], need_closed: [],
};
const VERB = {endorse: 'Endorse', decline: 'Decline', commit: 'Commit funds', deliver: 'Mark delivered', withdraw: 'Withdraw'};

export function open(node, id) {
  panel = node;
  current = id;
  panel.hidden = false;
  fill(panel, el('p', {}, `Loading ${id}…`));
  render(true);
}

// After a new run: show the panel's proposal as it is now.
export function refresh() {
  if (panel && !panel.hidden && current) render(false);
}

function close() {
  panel.hidden = true;
  const b = document.querySelector(`#p-rows tr[data-id="${CSS.escape(current)}"] button`);
  current = null;
  if (b) b.focus();
}

// The proposal's own entries: the service filters the log by need and project.
function history(id) {
  const slash = id.indexOf('/');
  const need = encodeURIComponent(id.slice(0, slash)), project = encodeURIComponent(id.slice(slash + 1));
  return api.getAll(`/v1/history?need=${need}&project=${project}&limit=1000`, 10000);
}

async function render(focus) {
  const id = current;
  let x, hist;
  try {
    [x, hist] = await Promise.all([api.get('/v1/proposals/' + id), history(id)]);
  } catch (e) {
    if (id === current) fill(panel, el('h3', {id: 'x-h'}, id), el('p.err', {role: 'alert'}, problemText(e)),
                             el('button', {type: 'button', onclick: close}, 'Close'));
    return;
  }
  if (id !== current) return;
  const p = x.proposal;
  const factors = (p.factors || []).map((f) => ({name: f.name, value: (f.value / 10000).toFixed(4),
    weight: (f.weight / 1000).toFixed(3), points: f.points}));
  const dual = x.project_dual > 0
    ? `One more dollar for ${p.project} funds ${money(x.project_dual)} score points of need` +
      (x.project_dual_range > 0 ? `, and so does each of the next ${money(x.project_dual_range)} USD.` : '.')
    : `One more dollar for ${p.project} funds nothing more: no need it may fund is left unfunded.`;
  const m = x.money || {};
  fill(panel,
    el('div.xhead', {}, el('h3', {id: 'x-h', tabindex: '-1'}, `Proposal ${p.id}`),
       el('button', {type: 'button', class: 'close', onclick: close, 'aria-label': 'Close the explanation'}, 'Close')),
    el('p', {}, el('strong', {id: 'x-state', class: 's-' + x.state}, x.state), ` · rank ${x.rank || '-'} · `,
       `${money(p.amount)} USD from ${p.project} (${(p.donors || []).join(', ')}) to need ${p.need}: `,
       `${p.country} (${p.group}), ${p.standard}, ${p.modality} · score ${p.score} · run ${x.run}`),
    actions(x),
    table('Factors × weights', [{label: 'Factor', key: 'name'}, {label: 'Value (0–1)', key: 'value'},
      {label: 'Weight', key: 'weight'}, {label: 'Points', key: 'points', num: true}], factors, {class: 'factors'}),
    el('h4', {}, 'Eligibility'), el('ul', {}, (x.eligibility || []).map((s) => el('li', {}, s))),
    el('h4', {}, 'Binding constraints'), el('ul', {}, (x.binding || []).length ? x.binding.map((s) => el('li', {}, s)) : el('li', {}, 'none')),
    el('h4', {}, 'Dual price'), el('p', {id: 'x-dual'}, dual),
    table('Alternatives: other projects for this need', [{label: 'Project', key: 'project'},
      {label: 'Score', key: 'score', num: true}, {label: 'Proposed (USD)', key: 'amount', num: true}], x.alternatives || [],
      {empty: 'No other eligible project.'}),
    table('Money (USD)', [{label: '', key: 'k'}, {label: 'requested / received', key: 'a', num: true},
      {label: 'proposed', key: 'b', num: true}, {label: 'endorsed', key: 'c', num: true},
      {label: 'committed', key: 'd', num: true}, {label: 'unmet / unallocated', key: 'e', num: true}],
      [{k: `need ${p.need}`, a: m.need_requested, b: m.need_proposed, c: m.need_endorsed, d: m.need_committed, e: m.need_unmet},
       {k: `project ${p.project}`, a: m.project_received, b: m.project_proposed, c: m.project_endorsed, d: m.project_committed, e: m.project_unallocated}]),
    el('h4', {}, 'How each value was obtained'), el('ul.basis', {}, (x.basis || []).map((s) => el('li', {}, s))),
    table('History', [{label: 'When', fn: (e) => isoTime(e.at)}, {label: 'Who', key: 'principal'},
      {label: 'Role', key: 'role'}, {label: 'Act', key: 'act'}, {label: 'From → to', fn: (e) => `${e.from} → ${e.to}`},
      {label: 'Amount', fn: (e) => (e.amount ? money(e.amount) : '')}, {label: 'Why', key: 'reason'}], hist,
      {empty: 'No decision yet.', class: 'history'}));
  if (focus) panel.querySelector('#x-h').focus();
}

// The decision form: only the acts the role allows and the state admits.
function actions(x) {
  const acts = (NEXT[x.state] || []).filter(may);
  if (!acts.length) {
    return el('p.note', {id: 'x-noact'}, session.me && !['endorse', 'decline', 'commit', 'deliver', 'withdraw'].some(may)
      ? 'Your role may read proposals; decisions are taken by programme managers and donor liaison.'
      : 'No decision is open to your role in this state.');
  }
  const needsAmount = (a) => a === 'endorse' || a === 'commit';
  const form = el('form#decide.decide', {novalidate: true, 'aria-label': 'Decide on this proposal'},
    el('fieldset', {}, el('legend', {}, 'Decision'),
      acts.map((a, i) => el('label.radio', {}, el('input', {type: 'radio', name: 'act', value: a, checked: i === 0,
        onchange: sync}), ' ', VERB[a]))),
    el('div.field', {id: 'd-amount-field'}, el('label', {for: 'd-amount'}, 'Amount (USD)'),
      el('input', {id: 'd-amount', name: 'amount', type: 'number', min: 0, step: 1, inputmode: 'numeric',
        value: x.proposal.amount || '', 'aria-describedby': 'd-amount-err'}),
      el('span.err', {id: 'd-amount-err', role: 'alert'})),
    el('div.field', {}, el('label', {for: 'd-reason'}, 'Reason (required, recorded in the audit log)'),
      el('textarea', {id: 'd-reason', name: 'reason', rows: 2, maxlength: 1000, required: true, 'aria-describedby': 'd-reason-err'}),
      el('span.err', {id: 'd-reason-err', role: 'alert'})),
    el('div.actions', {}, el('button', {type: 'submit', id: 'd-submit'}, 'Submit'),
      el('span.err', {id: 'd-err', role: 'alert'}), el('span.ok', {id: 'd-ok', role: 'status'})));
  function sync() {
    const a = form.querySelector('input[name=act]:checked').value;
    form.querySelector('#d-amount-field').hidden = !needsAmount(a);
    form.querySelector('#d-submit').textContent = VERB[a];
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const act = form.querySelector('input[name=act]:checked').value;
    const reason = form.querySelector('#d-reason').value.trim();
    const amountText = form.querySelector('#d-amount').value.trim();
    for (const s of form.querySelectorAll('.err, .ok')) s.textContent = '';
    if (!reason) {
      form.querySelector('#d-reason-err').textContent = 'A reason is required.';
      form.querySelector('#d-reason').focus();
      return;
    }
    const body = {proposal: x.proposal.id, act, reason, run: x.run};
    if (needsAmount(act) && amountText !== '') {
      if (!/^\d+$/.test(amountText)) {
        form.querySelector('#d-amount-err').textContent = 'Whole US dollars, no sign or decimals.';
        form.querySelector('#d-amount').focus();
        return;
      }
      body.amount = Number(amountText);
    }
    form.querySelector('#d-submit').disabled = true;
    try {
      await api.post('/v1/decisions', body);
      form.querySelector('#d-ok').textContent = `${VERB[act]}: recorded. The next run will reflect it.`;
    } catch (e) {
      const errs = (e.problem && e.problem.errors) || [];
      let placed = false;
      for (const er of errs) {
        const sel = er.pointer === '/reason' ? '#d-reason-err' : er.pointer === '/amount' ? '#d-amount-err' : '';
        const span = sel ? form.querySelector(sel) : null;
        if (span) { span.textContent = er.detail; placed = true; }
      }
      if (!placed) form.querySelector('#d-err').textContent = problemText(e);
    } finally {
      form.querySelector('#d-submit').disabled = false;
    }
  });
  setTimeout(sync, 0);
  return form;
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && panel && !panel.hidden) close();
});

// app.js — the dashboard's shell: sign-in (a token typed in, or /#token=TOKEN),
// who you are, the views by URL fragment, and live updates from /v1/stream.
import * as api from './api.js';
import {el, fill, problemText} from './util.js';
import * as proposals from './proposals.js';
import {session, mark} from './session.js';

// The proposals view comes with the page; the others load when first shown.
const views = {proposals};
const later = {gaps: () => import('./gaps.js'), donors: () => import('./donors.js'),
               pipeline: () => import('./pipeline.js')};
const $ = (id) => document.getElementById(id);
const state = {view: null, stopStream: null};

function showSignin(message) {
  $('signin').hidden = false;
  $('nav').hidden = true;
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  fill($('who'));
  $('token-err').textContent = message || '';
  $('token').focus();
}

// prefetch: also ask for the first page of proposals at once, beside
// /v1/whoami, when the proposals view is what will show (a sign-in link or a
// token kept from before; not a token being typed in, which may be wrong).
async function signIn(token, prefetch) {
  api.setToken(token);
  if (prefetch && ['', 'proposals'].includes(location.hash.replace(/^#/, ''))) proposals.prefetch();
  try {
    session.me = await api.get('/v1/whoami');
    mark('whoami');
  } catch (e) {
    api.setToken('');
    session.me = null;
    showSignin(e.status === 401 ? 'That token is not valid (revoked, or mistyped).' : problemText(e));
    return false;
  }
  $('signin').hidden = true;
  $('nav').hidden = false;
  const roles = session.me.roles.join(', ') || 'no role';
  fill($('who'), el('span', {}, 'Signed in as ', el('strong', {id: 'me'}, session.me.id),
                      ' · role ', el('strong', {id: 'roles'}, roles),
                      session.me.respondent ? ` · respondent ${session.me.respondent}` : ''),
       ' ', el('button.linkish', {type: 'button', id: 'signout', onclick: signOut}, 'Sign out'));
  startStream();
  return true;
}

function signOut() {
  if (state.stopStream) state.stopStream();
  state.stopStream = null;
  api.setToken('');
  session.me = null;
  location.hash = '';
  showSignin('');
}

// Live: every event goes to the view showing; the status line says we follow.
function startStream() {
  if (state.stopStream) state.stopStream();
  const live = $('live');
  state.stopStream = api.stream('/v1/stream', (type, data, id) => {
    for (const v of Object.values(views)) if (v && v.onEvent) v.onEvent(type, data, id);
    if (type === 'run') live.textContent = `Live · run ${data.run} at ${new Date().toLocaleTimeString()}`;
  }, (s) => {
    live.textContent = s === 'live' ? 'Live: following changes' : 'Live: reconnecting…';
    live.dataset.state = s;
  });
}

function route() {
  const h = location.hash.replace(/^#/, '');
  if (h.startsWith('token=')) {
    // A sign-in link: take the token, then drop it from the address bar and history.
    const token = decodeURIComponent(h.slice(6));
    history.replaceState(null, '', location.pathname + '#proposals');
    signIn(token, true).then((ok) => ok && route());
    return;
  }
  if (!session.me) return;
  const name = views[h] || later[h] ? h : 'proposals';
  if (!views[name]) {
    later[name]().then((m) => { views[name] = m; route(); });
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const k of ['proposals', ...Object.keys(later)]) $('view-' + k).hidden = k !== name;
  state.view = name;
  views[name].show($('view-' + name));
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  if (!t) {
    $('token-err').textContent = 'Enter a token.';
    return;
  }
  if (await signIn(t)) {
    $('token').value = '';
    route();
  }
});
window.addEventListener('hashchange', route);
// Leaving the page ends the stream: a browser opens at most 6 HTTP/1.1
// connections per host, and a stream left open (a page kept in the
// back-forward cache) would hold one of them.
window.addEventListener('pagehide', () => {
  if (state.stopStream) state.stopStream();
  state.stopStream = null;
});
window.addEventListener('pageshow', (e) => {
  if (e.persisted && session.me) startStream();
});

(async function start() {
  mark('start');
  try {
    if (location.hash.startsWith('#token=')) return route();
    if (api.getToken() && await signIn(api.getToken(), true)) return route();
    showSignin('');
  } finally {
    window.tamatchEarly = null; // boot.js's answers serve the first sign-in only
  }
})();

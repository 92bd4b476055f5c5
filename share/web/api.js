// api.js — the dashboard's only way to the system: tam-gateway's /v1 API,
// with the signed-in user's bearer token. Errors are RFC 9457 problems.

let token = sessionStorage.getItem('tamatch.token') || '';
window.tamatchModules = true; // boot.js, if it runs only now, asks for nothing

export const getToken = () => token;
export function setToken(t) {
  token = t || '';
  if (token) sessionStorage.setItem('tamatch.token', token);
  else sessionStorage.removeItem('tamatch.token');
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.status = status;
    this.problem = problem; // {status, title, detail, errors: [{pointer, detail}]}
  }
}

// An answer boot.js asked for before the modules ran, taken once.
function early(method, path, accept) {
  const e = window.tamatchEarly;
  if (method !== 'GET' || accept || !e || e.token !== token || !e.answers[path]) return null;
  const p = e.answers[path];
  delete e.answers[path];
  return p;
}

async function request(method, path, {body, accept, signal} = {}) {
  const headers = {Authorization: 'Bearer ' + token};
  if (accept) headers.Accept = accept;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const init = {method, headers, signal, cache: 'no-cache',
                body: body === undefined ? undefined : JSON.stringify(body)};
  let res = null;
  const pre = early(method, path, accept);
  if (pre) {
    try { res = await pre; } catch (e) { res = null; } // a network failure: ask again below
  }
  for (let attempt = 0; !res; attempt++) {
    try {
      res = await fetch(path, init);
      break;
    } catch (e) {
      // A network failure (the browser saw the host's network change, the
      // gateway restarted): a read is tried again; a write is not (it may
      // have been taken: the audit log tells).
      if (method !== 'GET' || attempt >= 4 || (signal && signal.aborted)) throw e;
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  }
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch (e) { problem = null; }
    throw new ApiError(res.status, problem);
  }
  return res;
}

// GET path as JSON; with {withLink: true} also the Link rel="next" target.
export async function get(path, opts = {}) {
  const res = await request('GET', path, opts);
  const data = await res.json();
  if (!opts.withLink) return data;
  const m = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('Link') || '');
  return {data, next: m ? m[1] : null};
}

// Every page of a list (following Link), at most max items.
export async function getAll(path, max = 5000) {
  let items = [];
  let next = path;
  while (next && items.length < max) {
    const page = await get(next, {withLink: true});
    items = items.concat(page.data.items || []);
    next = page.next;
  }
  return items;
}

// A list as CSV (with an HXL row when hxl), as a Blob.
export async function getCsv(path, hxl) {
  const sep = path.includes('?') ? '&' : '?';
  const res = await request('GET', path + (hxl ? sep + 'hxl=1' : ''), {accept: 'text/csv'});
  return res.blob();
}

export async function post(path, body) {
  const res = await request('POST', path, {body});
  return res.json();
}

// Follows /v1/stream (Server-Sent Events) with fetch, which, unlike
// EventSource, can send the Authorization header. onEvent(type, data, id) for
// each event; reconnects with Last-Event-ID after a drop. Returns stop().
export function stream(path, onEvent, onState) {
  let stopped = false;
  let lastId = '';
  let ctl = null;
  async function run() {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const headers = {Authorization: 'Bearer ' + token, Accept: 'text/event-stream'};
        if (lastId) headers['Last-Event-ID'] = lastId;
        const res = await fetch(path, {headers, signal: ctl.signal, cache: 'no-store'});
        if (!res.ok || !res.body) throw new ApiError(res.status, null);
        onState && onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let type = 'message', data = '', id = null;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'event') type = val;
              else if (field === 'data') data += (data ? '\n' : '') + val;
              else if (field === 'id') id = val;
            }
            if (id) lastId = id;
            if (data) {
              let parsed = null;
              try { parsed = JSON.parse(data); } catch (e) { parsed = null; }
              onEvent(type, parsed, id);
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      onState && onState('reconnecting');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  run();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}

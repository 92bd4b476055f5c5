"""soak_load.py — scripts/soak's load: writers with markers, HTTP readers, feed and SSE
subscribers (docs/reliability.md)."""
import glob, json, os, random, subprocess, threading, time, urllib.parse, urllib.request, http.client, uuid
import zmq
import soak_net as sn
from soak_net import ROOT, RPC_SERVICES, now
from soak_services import Rpc, feed_snapshot


# ---- the load ---------------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}      # kind -> {marker: info}
        self.unacked = {}    # kind -> set(marker): sent, never answered (may or may not exist)
        self.refused = {}    # kind -> count of error answers (nothing written)
        self.resends = 0
        self.reads = {}      # what -> [ok, failed]
        self.sse = {'events': 0, 'joins': 0, 'resets': 0}

    def ack(self, kind, marker, info=None):
        with self.lock:
            self.acked.setdefault(kind, {})[marker] = info

    def lost(self, kind, marker):
        with self.lock:
            self.unacked.setdefault(kind, set()).add(marker)

    def refuse(self, kind, code):
        with self.lock:
            d = self.refused.setdefault(kind, {})
            d[code] = d.get(code, 0) + 1

    def read(self, what, ok):
        with self.lock:
            r = self.reads.setdefault(what, [0, 0])
            r[0 if ok else 1] += 1


class Load:
    def __init__(self, dep, tally, rng_seed):
        self.dep, self.tally = dep, tally
        self.stop = threading.Event()
        self.ctx = zmq.Context()
        self.seed = rng_seed
        self.threads = []
        self.replies = []
        for p in sorted(glob.glob(os.path.join(ROOT, 'config/samples/demo/replies/*.json')))[:24]:
            r = json.load(open(p))
            r.pop('submitted', None)
            self.replies.append(r)
        self.projects = [p['id'] for p in json.load(open(os.path.join(ROOT, 'config/samples/demo/projects.json')))
                         if p['status'] in ('active', 'pipeline')]

    def spawn(self, fn, *a):
        t = threading.Thread(target=fn, args=a, daemon=True)
        t.start()
        self.threads.append(t)

    def _write(self, rpc, kind, mtype, body, marker, rng):
        """One write, resent with its id until answered (after stop: for at most 90 s)."""
        rid = marker
        st, ans, resends = rpc.call(mtype, body, rid=rid, until=None)
        self.tally.resends += resends
        if st == 'ok':
            self.tally.ack(kind, marker, ans)
            return ans
        if st is None:
            self.tally.lost(kind, marker)
            return None
        code = (ans or {}).get('code', '?')
        self.tally.refuse(kind, code)
        if code == 'superseded':
            # A resend whose first send was stored, and revised since by another request
            # (proto/RPC.md): stored once, like a write never answered.
            self.tally.lost(kind, marker)
        return None

    def submitter(self, n):
        rng = random.Random(self.seed * 100 + n)
        rpc = Rpc(self.ctx, self.dep, 'ingest', 'manager')
        while not self.stop.is_set():
            r = json.loads(json.dumps(rng.choice(self.replies)))
            marker = 'sub-%d-%s' % (n, uuid.uuid4().hex[:20])
            std = r['answers'][0]['standard']
            r.setdefault('difficulties', []).insert(0, {'standard': std, 'text': 'soak ' + marker})
            r['difficulties'] = r['difficulties'][:200]
            for need in r.get('needs', []):
                if rng.random() < 0.3:
                    need['priority'] = rng.randint(1, 5)
                if rng.random() < 0.1:
                    need['cost'] = max(1, int(need['cost'] * rng.uniform(0.8, 1.2)))
            if r.get('needs') and rng.random() < 0.15:
                r['needs'] = r['needs'][:-1]  # a revision that withdraws a need
            self._write(rpc, 'submission', 'ingest.submit', r, marker, rng)
            time.sleep(rng.uniform(0.02, 0.08))
        rpc.close()

    def ledger(self, n):
        rng = random.Random(self.seed * 200 + n)
        rpc = Rpc(self.ctx, self.dep, 'registry', 'donor_liaison')
        while not self.stop.is_set():
            marker = 'led-%d-%s' % (n, uuid.uuid4().hex[:20])
            kind = rng.choice(['receipt', 'receipt', 'receipt', 'pledge'])
            body = {'project': rng.choice(self.projects), 'kind': kind,
                    'amount': rng.randint(100, 20000), 'note': marker}
            ans = self._write(rpc, 'ledger', 'registry.ledger_add', body, marker, rng)
            if ans is not None:
                self.tally.acked['ledger'][marker] = body
            time.sleep(rng.uniform(0.02, 0.08))
        rpc.close()

    def decider(self, n):
        rng = random.Random(self.seed * 300 + n)
        mgr = Rpc(self.ctx, self.dep, 'pipeline', 'manager')
        dl = Rpc(self.ctx, self.dep, 'pipeline', 'donor_liaison')
        match = Rpc(self.ctx, self.dep, 'match', 'manager', timeout=1.0)
        pl = Rpc(self.ctx, self.dep, 'pipeline', 'manager', timeout=1.0)
        total = 200
        # Delivered is final: a load that commits and delivers much soon funds every need and
        # runs out of acts. Mostly endorse and withdraw, so that it lasts.
        while not self.stop.is_set():
            x = rng.random()
            act = None
            if x < 0.45:
                st, ans, _ = match.call('match.proposals', {'offset': rng.randint(0, max(0, total - 20)),
                                                            'limit': 20}, until=now() + 2)
                total = ans.get('total', total) if st == 'ok' else total
                items = [p for p in (ans or {}).get('items', []) if p.get('state') == 'proposed'] \
                    if st == 'ok' else []
                if items:
                    p = rng.choice(items)
                    act = (mgr, {'proposal': p['id'], 'act': 'endorse'})
            else:
                want = 'endorsed' if x < 0.97 else 'committed'
                st, ans, _ = pl.call('pipeline.decisions', {'state': want, 'has_state': True, 'limit': 50},
                                     until=now() + 2)
                items = (ans or {}).get('items', []) if st == 'ok' else []
                if items:
                    d = rng.choice(items)
                    if want == 'committed':
                        act = (mgr, {'proposal': d['proposal'], 'act': 'deliver'})
                    elif rng.random() < 0.05:
                        act = (dl, {'proposal': d['proposal'], 'act': 'commit'})
                    else:
                        act = (mgr, {'proposal': d['proposal'], 'act': 'withdraw'})
            if act:
                marker = 'act-%d-%s' % (n, uuid.uuid4().hex[:20])
                act[1]['reason'] = marker
                self._write(act[0], 'decision', 'pipeline.act', act[1], marker, rng)
            time.sleep(rng.uniform(0.05, 0.15))
        for r in (mgr, dl, match, pl):
            r.close()

    def http_reader(self, n):
        rng = random.Random(self.seed * 400 + n)
        paths = ['/v1/proposals?limit=20', '/v1/needs?limit=20', '/v1/projects', '/v1/reports/gaps',
                 '/v1/runs/current', '/v1/history?limit=20', '/v1/donors', '/v1/gaps']
        hdr = {'Authorization': 'Bearer ' + self.dep.tokens['viewer']}
        while not self.stop.is_set():
            path = rng.choice(paths)
            what = path.split('?')[0]
            try:
                with urllib.request.urlopen(urllib.request.Request(self.dep.gw_url + path, headers=hdr),
                                            timeout=3) as r:
                    r.read()
                    self.tally.read(what, r.status == 200)
            except Exception:
                self.tally.read(what, False)
            time.sleep(rng.uniform(0.02, 0.1))

    def feed_subscribers(self):
        self.feeds = {}
        for f in RPC_SERVICES:
            out = open(os.path.join(self.dep.dir, 'logs', 'feed-%s.out' % f), 'w')
            self.feeds[f] = subprocess.Popen([os.path.join(sn.BIN, 'tam-soak-feed'), '-c', self.dep.cfg,
                                              '--as', 'viewer', '--feed', f], stdout=out,
                                             stderr=subprocess.STDOUT)


# ---- SSE ---------------------------------------------------------------------------------

class SseSubscriber:
    """Follows GET /v1/stream, leaving and joining (resuming with Last-Event-ID); its state
    is the proposals by id, loaded from match.proposals after a reset."""

    def __init__(self, load, n):
        self.load, self.n = load, n
        self.rng = random.Random(load.seed * 500 + n)
        self.state, self.base_run, self.last_id, self.need_reload = {}, 0, None, True
        self.match = Rpc(load.ctx, load.dep, 'match', 'viewer', timeout=2.0)

    def reload(self):
        st, ans, _ = self.match.call('match.proposals', {'limit': 10000}, until=now() + 30)
        if st != 'ok':
            return False
        self.state = {p['id']: (p['amount'], p['state']) for p in ans['items'] if p['rank'] > 0}
        self.base_run = ans['run']
        self.need_reload = False
        self.load.tally.sse['resets'] += 1
        return True

    def apply(self, ev, data):
        if ev == 'reset':
            self.need_reload = True
        elif ev == 'proposal' and not self.need_reload:
            p = json.loads(data)
            if p['run'] <= self.base_run:
                return
            if p['rank'] > 0:
                self.state[p['id']] = (p['amount'], p['state'])
            else:
                self.state.pop(p['id'], None)
        self.load.tally.sse['events'] += 1

    def session(self, secs, quiet_end=None):
        """One connection for about secs (or until quiet_end seconds without events)."""
        dep = self.load.dep
        u = urllib.parse.urlsplit(dep.gw_url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
        hdr = {'Authorization': 'Bearer ' + dep.tokens['viewer'], 'Accept': 'text/event-stream'}
        if self.last_id and not self.need_reload:
            hdr['Last-Event-ID'] = self.last_id
        try:
            conn.request('GET', '/v1/stream', headers=hdr)
            r = conn.getresponse()
            if r.status != 200:
                return False
            self.load.tally.sse['joins'] += 1
            if not hdr.get('Last-Event-ID'):
                self.need_reload = True
            if self.need_reload and not self.reload():
                return False
            end, last_ev = now() + secs, now()
            ev, data, eid = None, None, None
            while now() < end:
                try:
                    line = r.readline()
                except Exception:
                    # a socket timeout (nothing for 2 s): a file object that timed out cannot
                    # be read again, so the session ends here (the next one resumes)
                    return bool(quiet_end) and now() - last_ev >= quiet_end
                if not line:
                    return False
                line = line.decode().rstrip('\n')
                if line.startswith('event:'):
                    ev = line[6:].strip()
                elif line.startswith('data:'):
                    data = line[5:].strip()
                elif line.startswith('id:'):
                    eid = line[3:].strip()
                elif line == '' and ev:
                    self.apply(ev, data)
                    if ev == 'reset' and not self.reload():
                        return False
                    if eid:
                        self.last_id = eid
                    ev, data, eid = None, None, None
                    last_ev = now()
                if quiet_end and now() - last_ev > quiet_end:
                    return True
            return True
        except Exception:
            return False
        finally:
            conn.close()

    def run(self):
        while not self.load.stop.is_set():
            self.session(self.rng.uniform(2, 8))
            time.sleep(self.rng.uniform(0.2, 2))

    def check(self):
        """A last session until the stream is quiet, then the state against a fresh load."""
        for _ in range(5):
            if self.session(60, quiet_end=2):
                break
            time.sleep(1)
        st, ans, _ = self.match.call('match.proposals', {'limit': 10000}, until=now() + 30)
        fresh = {p['id']: (p['amount'], p['state']) for p in ans['items'] if p['rank'] > 0}
        missing = sum(1 for k in fresh if k not in self.state)
        extra = sum(1 for k in self.state if k not in fresh)
        differ = sum(1 for k in fresh if k in self.state and self.state[k] != fresh[k])
        snap = feed_snapshot(self.load, 'match', 'prop/')
        snap = {p['id']: (p['amount'], p['state']) for p in snap if p.get('rank', 0) > 0}
        self.snap_vs_fresh = (sum(1 for k in fresh if snap.get(k) != fresh[k]) + sum(1 for k in snap if k not in fresh))
        self.snap_vs_sse = (sum(1 for k in snap if self.state.get(k) != snap[k]) + sum(1 for k in self.state if k not in snap))
        self.examples = [(k, self.state.get(k), fresh.get(k)) for k in sorted(set(fresh) | set(self.state))
                         if self.state.get(k) != fresh.get(k)][:5]
        return len(self.state), len(fresh), missing, extra, differ

"""soak_check.py — scripts/soak's checks at the end and its memory sampler (docs/reliability.md)."""
import os, re, signal, subprocess, threading, time
import soak_net as sn
from soak_net import SERVICES, now
from soak_services import Rpc


# ---- memory --------------------------------------------------------------------------------

class Memory:
    """VmRSS and RssAnon of each service's current process, every 2 s."""

    def __init__(self, sup):
        self.sup, self.samples, self.stop = sup, [], threading.Event()

    def run(self, t0):
        while not self.stop.is_set():
            for s in SERVICES:
                pid = self.sup.pid(s)
                if not pid:
                    continue
                try:
                    st = open('/proc/%d/status' % pid).read()
                    rss = int(re.search(r'VmRSS:\s+(\d+)', st).group(1))
                    anon = int(re.search(r'RssAnon:\s+(\d+)', st).group(1))
                    age = now() - self.sup.started.get(s, now())
                    self.samples.append((now() - t0, s, rss, anon, age))
                except Exception:
                    pass
            self.stop.wait(2)

    def table(self, duration, warm):
        """RSS over time per service (median of the samples of each tenth of the run, MB), and
        whether the anonymous memory of processes older than warm s is flat: the median of
        the last third of the run within 25 % + 8 MB of the median of the second third."""
        rows, verdict = [], {}
        for s in SERVICES:
            cells = []
            for k in range(10):
                v = sorted(x[2] for x in self.samples if x[1] == s and k * duration / 10 <= x[0] < (k + 1) * duration / 10)
                cells.append('%5.1f' % (v[len(v) // 2] / 1024) if v else '    -')
            rows.append('  %-9s %s' % (s, ' '.join(cells)))

            def med(lo, hi):
                v = sorted(x[3] for x in self.samples
                           if x[1] == s and x[4] >= warm and lo * duration <= x[0] < hi * duration)
                return v[len(v) // 2] / 1024 if v else None
            mid, last = med(1 / 3, 2 / 3), med(2 / 3, 1.01)
            verdict[s] = (mid, last, mid is None or last is None or last <= mid * 1.25 + 8)
        return rows, verdict


# ---- checks ----------------------------------------------------------------------------------

def pages(rpc, mtype, body, key_after='after', next_key='next'):
    """Every item of a paged list."""
    items, after = [], 0
    while True:
        b = dict(body)
        if after:
            b[key_after] = after
        st, ans, _ = rpc.call(mtype, b, until=now() + 60)
        if st != 'ok':
            raise RuntimeError('%s: %s' % (mtype, ans))
        items += ans['items']
        after = ans.get(next_key) or 0
        if not after:
            return items


def count_markers(found, tally, kind):
    """lost: acknowledged markers not found; duplicated: markers found more than once."""
    acked = tally.acked.get(kind, {})
    lost = [m for m in acked if found.get(m, 0) == 0]
    dup = [m for m, c in found.items() if c > 1]
    unacked_present = sum(1 for m in tally.unacked.get(kind, ()) if found.get(m, 0) == 1)
    return len(acked), lost, dup, unacked_present


def check_ingest(load, tally):
    rpc = Rpc(load.ctx, load.dep, 'ingest', 'admin', timeout=10)
    replies = pages(rpc, 'ingest.replies', {'status': 'any', 'limit': 1000})
    found = {}
    for r in replies:
        st, full, _ = rpc.call('ingest.reply_get', {'id': r['id']}, until=now() + 60)
        if st != 'ok':
            raise RuntimeError('ingest.reply_get %s: %s' % (r['id'], full))
        for d in full['reply'].get('difficulties', []):
            if d['text'].startswith('soak sub-'):
                m = d['text'][5:]
                found[m] = found.get(m, 0) + 1
    rpc.close()
    return len(replies), count_markers(found, tally, 'submission')


def check_registry(load, tally):
    rpc = Rpc(load.ctx, load.dep, 'registry', 'admin', timeout=10)
    found, totals, bad = {}, {}, []
    for p in load.projects:
        st, ans, _ = rpc.call('registry.ledger', {'id': p}, until=now() + 60)
        if st != 'ok':
            raise RuntimeError('registry.ledger %s: %s' % (p, ans))
        pledged = sum(e['amount'] for e in ans['items'] if e['kind'] == 'pledge')
        received = sum(e['amount'] for e in ans['items'] if e['kind'] != 'pledge')
        for e in ans['items']:
            n = e.get('note', '')
            if n.startswith('led-'):
                found[n] = found.get(n, 0) + 1
        st, rec, _ = rpc.call('registry.project_get', {'id': p}, until=now() + 60)
        totals[p] = rec['received']
        if rec['pledged'] != pledged or rec['received'] != received:
            bad.append('%s: ledger sums %d/%d, project totals %d/%d' % (p, pledged, received,
                                                                       rec['pledged'], rec['received']))
    rpc.close()
    return count_markers(found, tally, 'ledger'), totals, bad


def check_pipeline(load, tally, reg_received):
    rpc = Rpc(load.ctx, load.dep, 'pipeline', 'admin', timeout=10)
    audit = pages(rpc, 'pipeline.audit', {'limit': 10000})
    found = {}
    for e in audit:
        if e['reason'].startswith('act-'):
            found[e['reason']] = found.get(e['reason'], 0) + 1
    st, money, _ = rpc.call('pipeline.money', {}, until=now() + 60)
    st2, dec, _ = rpc.call('pipeline.decisions', {'limit': 10000}, until=now() + 60)
    bad, held = [], {}
    for d in dec['items']:
        h = held.setdefault(d['project'], [0, 0])
        if d['state'] in ('committed', 'delivered'):
            h[0] += d['committed']
        elif d['state'] == 'endorsed':
            h[1] += d['endorsed']
    for m in money['items']:
        p = m['project']
        c, e = held.get(p, [0, 0])
        if p in reg_received and m['received'] != reg_received[p]:
            bad.append('%s: pipeline received %d, registry %d' % (p, m['received'], reg_received[p]))
        if m['committed'] != c or m['endorsed'] != e:
            bad.append('%s: money committed/endorsed %d/%d, decisions %d/%d' % (p, m['committed'], m['endorsed'], c, e))
        if m['available'] != m['received'] - m['committed'] - m['endorsed']:
            bad.append('%s: available %d != received - committed - endorsed' % (p, m['available']))
    missing = [p for p in reg_received if p not in {m['project'] for m in money['items']}]
    bad += ['%s: not in the pipeline\'s money' % p for p in missing]
    rpc.close()
    return len(audit), count_markers(found, tally, 'decision'), bad, len(money['items'])


def match_run(load, as_rpc=None):
    rpc = as_rpc or Rpc(load.ctx, load.dep, 'match', 'admin', timeout=3)
    st, ans, _ = rpc.call('match.run', {}, until=now() + 30)
    if not as_rpc:
        rpc.close()
    return ans if st == 'ok' else None


def settle(load, quiet=6, limit=180):
    """Waits until tam-match's run has not changed for quiet seconds. Returns the run."""
    last, since, end = None, now(), now() + limit
    while now() < end:
        r = match_run(load)
        key = r and (r['run'], r['hash'])
        if key != last:
            last, since = key, now()
        elif key and now() - since >= quiet:
            return r
        time.sleep(1)
    return None


def fresh_match(load, sup):
    """A second tam-match on other ports (its own netns address: the gateway's), built from
    fresh snapshots: its run hash must equal the long-lived one's."""
    dep = load.dep
    ip = dep.net.ip['gateway']
    ov = ['-o', 'match.endpoint=tcp://%s:7500' % ip, '-o', 'match.feed=tcp://%s:7501' % ip,
          '-o', 'match.snapshot=tcp://%s:7502' % ip]
    logf = open(os.path.join(dep.dir, 'logs', 'match-fresh.log'), 'w')
    p = subprocess.Popen(dep.net.prefix('gateway') + [os.path.join(sn.BIN, 'tam-match'), '-c', dep.cfg] + ov,
                         stdout=logf, stderr=subprocess.STDOUT)
    rpc = Rpc(load.ctx, dep, 'match', 'admin', timeout=3)
    rpc.ep = 'tcp://%s:7500' % ip
    run, last, since, end = None, None, now(), now() + 120
    while now() < end:
        r = match_run(load, rpc)
        key = r and r['hash']
        if key != last:
            last, since = key, now()
        elif key and now() - since >= 5:
            run = r
            break
        time.sleep(1)
    rpc.close()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
    return run

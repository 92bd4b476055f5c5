"""soak_services.py — scripts/soak's deployment (config, keys), supervisor, RPC client and
feed snapshot reader (docs/reliability.md)."""
import os, re, signal, subprocess, threading, time, uuid
import zmq, msgpack
import soak_net as sn
from soak_net import ROOT, SERVICES, RPC_SERVICES, log, now


# ---- the deployment ---------------------------------------------------------------------

class Deployment:
    def __init__(self, d, net):
        self.dir, self.net = d, net
        self.cfg = os.path.join(d, 'tamatch.ini')
        self.keys = os.path.join(d, 'keys')
        self.port = {'ingest': 7100, 'registry': 7200, 'pipeline': 7300, 'match': 7400}
        self.gw_url = 'http://%s:8080' % net.ip['gateway']

    def ep(self, s, kind):
        off = {'req': 0, 'pub': 1, 'snap': 2}[kind]
        return 'tcp://%s:%d' % (self.net.ip[s], self.port[s] + off)

    def write_config(self, extra_match=None):
        lines = ['[common]', 'run_dir = %s/run' % self.dir, 'data_dir = %s/data' % self.dir,
                 'catalog_dir = %s/config/catalog' % ROOT, 'heartbeat = 500ms',
                 '[security]', 'mode = curve', 'keys_dir = %s' % self.keys]
        for s in RPC_SERVICES:
            lines += ['[%s]' % s, 'endpoint = ' + self.ep(s, 'req'), 'feed = ' + self.ep(s, 'pub'),
                      'snapshot = ' + self.ep(s, 'snap')]
        lines += ['[gateway]', 'listen = %s' % self.net.ip['gateway'], 'port = 8080',
                  '[tamctl]', 'timeout = 5s']
        with open(self.cfg, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def tamctl(self, *args, check=True):
        r = subprocess.run([os.path.join(sn.BIN, 'tamctl'), '-c', self.cfg] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError('tamctl %s: %s' % (' '.join(args), r.stderr.strip()))
        return r

    def make_keys(self):
        os.makedirs(self.keys, mode=0o700, exist_ok=True)
        for s in ['ingest', 'registry', 'match', 'pipeline']:
            self.tamctl('-q', 'keys', 'new', s, '--role', 'service')
        for r in ['admin', 'manager', 'donor_liaison', 'planner', 'viewer']:
            self.tamctl('-q', 'keys', 'new', r, '--role', r)
        self.tamctl('-q', 'keys', 'new', 'gateway', '--role', 'gateway')
        self.tokens = {}
        for p in ['viewer', 'manager']:  # as scripts/demo makes them
            self.tokens[p] = self.tamctl('keys', 'token', p).stdout.strip()

    def key(self, name):
        pub = sec = None
        for path, want in ((os.path.join(self.keys, name + '.key'), 'public-key'),
                           (os.path.join(self.keys, name + '.key_secret'), 'secret-key')):
            if not os.path.exists(path):
                continue
            for line in open(path):
                m = re.match(r'\s*(public-key|secret-key)\s*=\s*"(.*)"', line)
                if m and m.group(1) == 'public-key' and pub is None:
                    pub = m.group(2).encode()
                if m and m.group(1) == 'secret-key':
                    sec = m.group(2).encode()
        return pub, sec


# ---- the supervisor ---------------------------------------------------------------------

class Supervisor:
    def __init__(self, dep, rng):
        self.dep, self.rng = dep, rng
        self.proc = {}
        self.started = {}
        self.kills = {s: 0 for s in SERVICES}
        self.pauses = 0
        self.unexpected = []
        self.lock = threading.Lock()
        self.logs = {}

    def start(self, s, extra=()):
        logf = open(os.path.join(self.dep.dir, 'logs', s + '.log'), 'a')
        cmd = self.dep.net.prefix(s) + [os.path.join(sn.BIN, 'tam-' + s), '-c', self.dep.cfg] + list(extra)
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        with self.lock:
            self.proc[s] = p
            self.started[s] = now()
        return p

    def pid(self, s):
        with self.lock:
            p = self.proc.get(s)
            return p.pid if p and p.poll() is None else None

    def kill(self, s):
        with self.lock:
            p = self.proc.get(s)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            with self.lock:
                self.kills[s] += 1
        self.start(s)

    def pause(self, s, secs):
        p = self.proc.get(s)
        if p and p.poll() is None:
            p.send_signal(signal.SIGSTOP)
            time.sleep(secs)
            p.send_signal(signal.SIGCONT)
            self.pauses += 1

    def watch(self):
        """Restarts a service that exited without being killed (and records it)."""
        for s in SERVICES:
            with self.lock:
                p = self.proc.get(s)
            if p and p.poll() is not None:
                with self.lock:
                    if self.proc.get(s) is not p:
                        continue
                self.unexpected.append((s, p.returncode))
                log('UNEXPECTED: tam-%s exited with %s; restarting' % (s, p.returncode))
                self.start(s)

    def stop_all(self):
        codes = {}
        for s in reversed(SERVICES):
            p = self.proc.get(s)
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for s in SERVICES:
            p = self.proc.get(s)
            if not p:
                continue
            try:
                codes[s] = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[s] = 'hung'
        return codes


# ---- RPC (the wire protocol of proto/RPC.md, with CURVE) ---------------------------------

class Rpc:
    def __init__(self, ctx, dep, service, as_name, timeout=2.0):
        self.ctx, self.ep, self.timeout = ctx, dep.ep(service, 'req'), timeout
        self.server = dep.key(service)[0]
        self.pub, self.sec = dep.key(as_name)
        self.sock = None

    def _open(self):
        if self.sock:
            self.sock.close(linger=0)
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.curve_serverkey, s.curve_publickey, s.curve_secretkey = self.server, self.pub, self.sec
        s.connect(self.ep)
        self.sock = s

    def close(self):
        if self.sock:
            self.sock.close(linger=0)
            self.sock = None

    def call(self, mtype, body, rid=None, until=None, stop=None):
        """Sends until answered (same id each time). Returns (status, body, resends) or
        (None, None, resends) when until passed without an answer."""
        rid = rid or uuid.uuid4().hex
        env = msgpack.packb({'v': 1, 'type': mtype, 'id': rid})
        data = msgpack.packb(body)
        resends = 0
        while True:
            if self.sock is None:
                self._open()
            self.sock.send_multipart([b'', env, data])
            deadline = now() + self.timeout
            while now() < deadline:
                if self.sock.poll(int(max(1, (deadline - now()) * 1000))):
                    fr = self.sock.recv_multipart()
                    if len(fr) != 3:
                        continue
                    e = msgpack.unpackb(fr[1], raw=False)
                    if e.get('id') != rid:
                        continue  # a stale answer to an abandoned request
                    return e.get('status'), msgpack.unpackb(fr[2], raw=False, strict_map_key=False), resends
            self._open()  # lazy pirate: a new socket, the same id
            resends += 1
            if until is not None and now() > until:
                return None, None, resends


def feed_snapshot(load, service, prefix):
    """The records of a fresh snapshot of a service's feed (proto/FEED.md section 6)."""
    dep = load.dep
    sk = load.ctx.socket(zmq.DEALER)
    sk.linger = 0
    sk.curve_serverkey = dep.key(service)[0]
    sk.curve_publickey, sk.curve_secretkey = dep.key('viewer')
    sk.connect(dep.ep(service, 'snap'))
    sk.send(msgpack.packb({'prefix': prefix}))
    out = []
    try:
        while sk.poll(10000):
            fr = sk.recv_multipart()
            if fr[0] == msgpack.packb('rec') or fr[0] == b'rec':
                out.append(msgpack.unpackb(fr[2], raw=False, strict_map_key=False))
            else:
                break
    finally:
        sk.close(linger=0)
    return out

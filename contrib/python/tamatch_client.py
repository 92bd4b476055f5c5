"""tamatch_client — a reference client for the tamatch ZeroMQ protocol.

Written from proto/ alone (RPC.md, FEED.md, FEEDS.md, PROTOCOL.md): no part of it reads
the C sources. The conformance suite (tests/conformance/) is built on it, so what it does
is what the suite checks. Needs Debian's python3-zmq and python3-msgpack.

    from tamatch_client import Key, Rpc, Follower, Catalogue
    me = Key.load("run/keys/acme-planning.key_secret")
    match = Key.load("run/keys/match.key")
    rpc = Rpc("ipc://run/match.req", server=match, me=me)
    print(rpc.call("match.run"))

Curve mode: every socket is a CURVE client (RPC.md section 8, FEED.md section 11).
Pass server=None and me=None for a service in local mode (ipc:// only).
"""

import os
import re
import secrets
import time

import msgpack
import zmq

PROTOCOL_VERSION = 1


# ---- keys ---------------------------------------------------------------------------------

class Key:
    """A CURVE key file (ZPL, docs/security.md): NAME.key (public) or NAME.key_secret."""

    def __init__(self, name, public, secret=None):
        self.name, self.public, self.secret = name, public, secret

    @classmethod
    def load(cls, path):
        vals = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r'\s*([a-z-]+)\s*=\s*"([^"]*)"', line)
                if m:
                    vals[m.group(1)] = m.group(2)
        if "public-key" not in vals:
            raise ValueError("%s: no public-key" % path)
        return cls(vals.get("name", os.path.basename(path).split(".")[0]), vals["public-key"],
                   vals.get("secret-key"))


def curve_client(sock, server, me):
    """Makes sock a CURVE client of server (a Key) as me (a Key with its secret)."""
    if server is None:
        return
    sock.curve_serverkey = server.public.encode()
    sock.curve_publickey = me.public.encode()
    sock.curve_secretkey = me.secret.encode()


# ---- request/reply (RPC.md) ---------------------------------------------------------------

class RpcError(Exception):
    """An error answer (RPC.md section 5), or a client-side unavailable/timeout."""

    def __init__(self, code, message, field="", errors=None, envelope=None):
        super().__init__("%s: %s%s" % (code, field + ": " if field else "", message))
        self.code, self.message, self.field = code, message, field
        self.errors = errors or []
        self.envelope = envelope or {}


def new_id():
    """A fresh request id: 128 random bits as 32 hex digits (RPC.md section 3)."""
    return secrets.token_hex(16)


class Rpc:
    """A DEALER to one service, with the Lazy Pirate retry of RPC.md section 3."""

    def __init__(self, endpoint, server=None, me=None, ctx=None, timeout_ms=5000, retries=3):
        self.endpoint, self.server, self.me = endpoint, server, me
        self.ctx = ctx or zmq.Context.instance()
        self.timeout_ms, self.retries = timeout_ms, retries
        self.sock = None

    def _open(self):
        self.close()
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        curve_client(s, self.server, self.me)
        s.connect(self.endpoint)
        self.sock = s

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def __del__(self):
        self.close()

    def exchange(self, type_, body, id_=None, obo=None):
        """Sends one request and returns (envelope, body, raw body bytes) of its answer.
        Resends the same id on timeout; raises RpcError('timeout') at the end."""
        id_ = id_ or new_id()
        env = {"v": PROTOCOL_VERSION, "type": type_, "id": id_}
        if obo:
            env["obo"] = obo
        frames = [b"", msgpack.packb(env), msgpack.packb(body)]
        for _ in range(self.retries + 1):
            if self.sock is None:
                self._open()
            self.sock.send_multipart(frames)
            deadline = time.monotonic() + self.timeout_ms / 1000.0
            while True:
                left = int((deadline - time.monotonic()) * 1000)
                if left <= 0 or not self.sock.poll(left):
                    break
                ans = self.sock.recv_multipart()
                decoded = self._decode(ans)
                if decoded and decoded[0].get("id") == id_:
                    return decoded
                # a stale or malformed answer: dropped (RPC.md section 3)
            self.close()
        raise RpcError("timeout", "no answer from %s" % self.endpoint)

    @staticmethod
    def _decode(frames):
        if len(frames) != 3 or frames[0] != b"":
            return None
        try:
            env = msgpack.unpackb(frames[1], raw=False)
            body = msgpack.unpackb(frames[2], raw=False, strict_map_key=False)
        except Exception:
            return None
        if not isinstance(env, dict) or env.get("status") not in ("ok", "error"):
            return None
        return env, body, frames[2]

    def call(self, type_, body=None, id_=None, obo=None):
        """The answer body of an ok answer; raises RpcError for an error answer."""
        env, ans, _ = self.exchange(type_, body, id_, obo)
        if env["status"] == "error":
            raise RpcError(ans.get("code"), ans.get("message", ""), ans.get("field", ""),
                           ans.get("errors"), env)
        return ans

    def raw(self, frames, timeout_ms=None):
        """Sends frames as they are (for malformed requests); returns the decoded
        (envelope, body) of the first answer, or None when none comes."""
        if self.sock is None:
            self._open()
        self.sock.send_multipart(frames)
        if not self.sock.poll(timeout_ms or self.timeout_ms):
            return None
        d = self._decode(self.sock.recv_multipart())
        return d[:2] if d else None


# ---- the feed catalogue (FEEDS.md) ------------------------------------------------------------

class Topic:
    """One row of FEEDS.md: how the records of a topic are keyed and removed."""

    def __init__(self, service, pattern, record, key, removed_when):
        self.service, self.pattern, self.record = service, pattern, record
        self.key = key                      # dotted path, or None: the topic is the key
        self.removed_when = removed_when    # (field, value) or None: never removed
        rx = "".join("[^/]+" if p.startswith("<") else re.escape(p)
                     for p in re.split(r"(<[^>]+>)", pattern) if p)
        self.rx = re.compile("^" + rx + "$")

    def key_of(self, topic, body):
        if self.key is None:
            return topic
        v = body
        for part in self.key.split("."):
            v = v[part]
        return v

    def removes(self, body):
        if self.removed_when is None:
            return False
        f, val = self.removed_when
        return isinstance(body, dict) and body.get(f) == val


class Catalogue:
    """The topics of every feed, read from proto/FEEDS.md."""

    def __init__(self, path):
        self.topics = []
        service = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"## (\w+) \(", line)
                if m:
                    service = m.group(1)
                    continue
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if service is None or len(cells) < 5 or not cells[0].startswith("`"):
                    continue
                pattern = cells[0].strip("`")
                record = re.match(r"\[(\w+)\]", cells[1]).group(1)
                key = cells[2].strip("`") if cells[2].startswith("`") else None
                rm = None
                if cells[3].startswith("`"):
                    fld, val = cells[3].strip("`").split(" = ")
                    rm = (fld, val)
                self.topics.append(Topic(service, pattern, record, key, rm))

    def of(self, service):
        return [t for t in self.topics if t.service == service]

    def topic(self, service, topic):
        for t in self.of(service):
            if t.rx.match(topic):
                return t
        return None


# ---- feeds (FEED.md) ------------------------------------------------------------------------

def _meta(frame):
    """[epoch, seq] of a meta frame, or None when it is not valid (FEED.md section 7.8)."""
    try:
        m = msgpack.unpackb(frame, raw=False)
    except Exception:
        return None
    if (not isinstance(m, list) or len(m) != 2 or not all(isinstance(x, int) and x >= 0 for x in m)
            or m[0] == 0):
        return None
    return m


class Follower:
    """A Clone-pattern subscriber of one service's feed (FEED.md section 7) whose state is the
    last body per key of FEEDS.md. state: {topic pattern: {key: body}}.
    on_record(topic, body, removed) is called for every record applied, on_reset() on a resync."""

    def __init__(self, feed, snapshot, service, catalogue, prefixes=("",), server=None, me=None,
                 ctx=None, silence_ms=3000, snapshot_timeout_ms=2000, on_record=None,
                 on_reset=None):
        self.feed_ep, self.snap_ep, self.service = feed, snapshot, service
        self.cat, self.prefixes = catalogue, list(prefixes)
        self.server, self.me = server, me
        self.ctx = ctx or zmq.Context.instance()
        self.silence_ms, self.snapshot_timeout_ms = silence_ms, snapshot_timeout_ms
        self.on_record, self.on_reset = on_record, on_reset
        self.state = {t.pattern: {} for t in catalogue.of(service)}
        self.epoch, self.seq = 0, 0
        self.synced = False
        self.resyncs = 0
        self.dropped = 0
        self.sub = self.dealer = None
        self._queue = []
        self._heard = time.monotonic()
        self._open_sub()
        self._ask()

    # sockets
    def _open_sub(self):
        if self.sub is not None:
            self.sub.close(0)
        s = self.ctx.socket(zmq.SUB)
        s.linger = 0
        s.rcvhwm = 10000
        curve_client(s, self.server, self.me)
        s.setsockopt(zmq.SUBSCRIBE, b"")    # everything; filter locally (section 7.1)
        s.connect(self.feed_ep)
        self.sub = s
        self._heard = time.monotonic()

    def _ask(self):
        if self.dealer is not None:
            self.dealer.close(0)
        d = self.ctx.socket(zmq.DEALER)
        d.linger = 0
        curve_client(d, self.server, self.me)
        d.connect(self.snap_ep)
        req = {"prefix": self.prefixes[0]} if len(self.prefixes) == 1 else {"prefixes": self.prefixes}
        d.send(msgpack.packb(req))
        self.dealer = d
        self.synced = False
        self._queue = []
        self._pending = {t.pattern: {} for t in self.cat.of(self.service)}
        self._snap_log = []
        self._snap_deadline = time.monotonic() + self.snapshot_timeout_ms / 1000.0

    def close(self):
        for s in (self.sub, self.dealer):
            if s is not None:
                s.close(0)
        self.sub = self.dealer = None

    # state
    def _matches(self, topic):
        return any(topic.startswith(p) for p in self.prefixes)

    def _apply(self, state, topic, body, notify):
        t = self.cat.topic(self.service, topic)
        if t is None:
            return              # a topic the catalogue does not list: not ours to keep
        key = t.key_of(topic, body)
        removed = t.removes(body)
        if removed:
            state[t.pattern].pop(key, None)
        else:
            state[t.pattern][key] = body
        if notify and self.on_record:
            self.on_record(topic, body, removed)

    def _resync(self):
        self.resyncs += 1
        self.state = {t.pattern: {} for t in self.cat.of(self.service)}
        if self.on_reset:
            self.on_reset()
        self._ask()

    def _item(self, frames):
        """One update or heartbeat while synced: the rule of section 7.4."""
        if len(frames) < 3:
            self.dropped += 1
            return
        topic, meta = frames[0].decode("utf-8", "replace"), _meta(frames[1])
        if meta is None:
            self.dropped += 1
            return
        e, s = meta
        if e != self.epoch:
            return self._resync()
        if topic == "~hb":
            if s > self.seq:
                self._resync()
            return
        if topic.startswith("~"):
            return
        if s <= self.seq:
            return
        if s > self.seq + 1:
            return self._resync()
        self.seq = s
        if self._matches(topic):
            try:
                body = msgpack.unpackb(frames[2], raw=False, strict_map_key=False)
            except Exception:
                self.dropped += 1
                return
            self._apply(self.state, topic, body, True)

    def run(self, timeout_ms=100):
        """Processes what arrives for up to timeout_ms."""
        end = time.monotonic() + timeout_ms / 1000.0
        while True:
            now = time.monotonic()
            if now - self._heard > self.silence_ms / 1000.0:
                self._open_sub()
                self._resync()
            if not self.synced and now > self._snap_deadline:
                self._resync()
            left = max(0, int((end - time.monotonic()) * 1000))
            poller = zmq.Poller()
            poller.register(self.sub, zmq.POLLIN)
            if not self.synced:
                poller.register(self.dealer, zmq.POLLIN)
            ready = dict(poller.poll(min(left, 100)))
            if self.sub in ready:
                frames = self.sub.recv_multipart()
                self._heard = time.monotonic()
                if self.synced:
                    self._item(frames)
                elif len(self._queue) < 10000:
                    self._queue.append(frames)
            if not self.synced and self.dealer in ready:
                self._snapshot_frames(self.dealer.recv_multipart())
            if time.monotonic() >= end:
                return

    def _snapshot_frames(self, frames):
        self._snap_deadline = time.monotonic() + self.snapshot_timeout_ms / 1000.0
        kind = frames[0] if frames else b""
        if kind == b"rec" and len(frames) == 3:
            try:
                body = msgpack.unpackb(frames[2], raw=False, strict_map_key=False)
            except Exception:
                self.dropped += 1
                return
            topic = frames[1].decode("utf-8", "replace")
            self._apply(self._pending, topic, body, False)
            self._snap_log.append((topic, body))
        elif kind == b"end" and len(frames) == 2 and _meta(frames[1]):
            self.epoch, self.seq = _meta(frames[1])
            self.state = self._pending
            self.synced = True
            if self.on_record:
                for topic, body in self._snap_log:
                    self.on_record(topic, body, False)
            self._snap_log = []
            queued, self._queue = self._queue, []
            for q in queued:
                if not self.synced:
                    break
                self._item(q)
        elif kind == b"err":
            self._snap_deadline = time.monotonic() + self.snapshot_timeout_ms / 1000.0
            self.synced = False
        else:
            self.dropped += 1

    def until(self, pred, timeout_s=30.0):
        """Runs until pred(self) is true (checked while synced); returns whether it was."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.synced and pred(self):
                return True
            self.run(50)
        return self.synced and pred(self)

    def records(self, pattern):
        return self.state.get(pattern, {})


# ---- a deployment: endpoints and keys from a tamatch config -----------------------------------

class Deployment:
    """Endpoints and keys of a tamatch deployment, as an operator hands them over: the
    run directory of its ipc:// sockets (or explicit endpoints) and its trust store."""

    SERVICES = ("ingest", "registry", "match", "pipeline")

    def __init__(self, run_dir, keys_dir, identity, ctx=None, endpoints=None):
        self.ctx = ctx or zmq.Context.instance()
        self.keys_dir = keys_dir
        self.me = Key.load(os.path.join(keys_dir, identity + ".key_secret")) if keys_dir else None
        self.ep = endpoints or {
            s: {"req": "ipc://%s/%s.req" % (run_dir, s), "pub": "ipc://%s/%s.pub" % (run_dir, s),
                "snap": "ipc://%s/%s.snap" % (run_dir, s)} for s in self.SERVICES}

    def server_key(self, service):
        return Key.load(os.path.join(self.keys_dir, service + ".key")) if self.keys_dir else None

    def rpc(self, service, **kw):
        return Rpc(self.ep[service]["req"], self.server_key(service), self.me, self.ctx, **kw)

    def follower(self, service, catalogue, **kw):
        return Follower(self.ep[service]["pub"], self.ep[service]["snap"], service, catalogue,
                        server=self.server_key(service), me=self.me, ctx=self.ctx, **kw)

"""tamsys.py — a demo-like tamatch for the dashboard's browser test and bench.

Starts the five services (tam-ingest, tam-registry, tam-pipeline, tam-match,
tam-gateway) in curve mode on a temporary directory with a free HTTP port,
writes a key and a bearer token per demo person with tamctl (as scripts/demo
does), loads sample data through tamctl and waits for the first run.
Run by /usr/bin/python3 (Debian's, which has selenium). Nothing here is a
test: test_dashboard.py and bench_dashboard.py use it.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

SERVICES = ["ingest", "registry", "pipeline", "match", "gateway"]
PEOPLE = [("admin", "admin"), ("manager", "manager"), ("donor_liaison", "donor_liaison"),
          ("planner", "planner"), ("viewer", "viewer")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class System:
    """The five services on a fresh directory. src: the repository, bin: build/bin."""

    def __init__(self, src, bindir, web_dir=None, data=None, keep=False):
        self.src = os.path.abspath(src)
        self.bin = os.path.abspath(bindir)
        self.web_dir = web_dir or os.path.join(self.src, "share", "web")
        self.data = data or os.path.join(self.src, "config", "samples", "demo")
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="tamweb.")
        os.chmod(self.dir, 0o700)
        self.cfg = os.path.join(self.dir, "tamatch.ini")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.procs = {}
        self.tokens = {}

    # ---- running things -------------------------------------------------------
    def tamctl(self, *args, as_=None, check=True, timeout=120):
        cmd = [os.path.join(self.bin, "tamctl"), "-c", self.cfg]
        if as_:
            cmd += ["--as", as_]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("tamctl %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                          p.stderr.strip()))
        return p

    def start_service(self, name):
        log = open(os.path.join(self.dir, "logs", name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(
            [os.path.join(self.bin, "tam-" + name), "-c", self.cfg],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def start(self, extra_config=""):
        for d in ("run", "data", "logs", "keys"):
            os.makedirs(os.path.join(self.dir, d), mode=0o700, exist_ok=True)
        with open(self.cfg, "w") as f:
            f.write("[common]\nrun_dir = run\ndata_dir = data\ncatalog_dir = %s\n"
                    "heartbeat = 200ms\n[security]\nmode = curve\nkeys_dir = keys\n"
                    "[tamctl]\ntimeout = 20s\n"
                    "[gateway]\nport = %d\nweb_dir = %s\ntimeout = 20s\n%s"
                    % (os.path.join(self.src, "config", "catalog"), self.port, self.web_dir,
                       extra_config))
        for s in ("ingest", "registry", "match", "pipeline"):
            self.tamctl("-q", "keys", "new", s, "--role", "service")
        for name, role in PEOPLE:
            self.tamctl("-q", "keys", "new", name, "--role", role)
        self.tamctl("-q", "keys", "new", "respondent-KEN", "--role", "respondent",
                    "--respondent", "KEN")
        self.tamctl("-q", "keys", "new", "gateway", "--role", "gateway")
        for name, _ in PEOPLE + [("respondent-KEN", "")]:
            self.tokens[name] = self.tamctl("keys", "token", name).stdout.strip()
        for s in SERVICES[:4]:
            self.start_service(s)
        for _ in range(150):
            if self.tamctl("status", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("services did not come up; see %s/logs" % self.dir)
        self.start_service("gateway")
        for _ in range(150):
            try:
                if self.http("GET", "/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("tam-gateway did not come up; see %s/logs" % self.dir)
        return self

    def load(self, replies=None):
        """Loads donors, projects, ledger, context and replies (all, or these
        file names) from self.data through tamctl, then waits for the run."""
        d = self.data
        self.tamctl("-q", "donor", "add", os.path.join(d, "donors.json"))
        self.tamctl("-q", "project", "add", os.path.join(d, "projects.json"))
        if os.path.exists(os.path.join(d, "ledger.json")):
            self.tamctl("-q", "ledger", "import", os.path.join(d, "ledger.json"))
        if os.path.exists(os.path.join(d, "context.json")):
            self.tamctl("-q", "context", "set", os.path.join(d, "context.json"))
        rdir = os.path.join(d, "replies")
        files = sorted(os.listdir(rdir)) if replies is None else replies
        paths = [os.path.join(rdir, f if f.endswith(".json") else f + ".json") for f in files]
        for i in range(0, len(paths), 500):
            self.tamctl("-q", "submit", *paths[i:i + 500], timeout=600)
        self.tamctl("wait", "--timeout", "300", timeout=320)

    def http(self, method, path, who=None, body=None, headers=None):
        """One request; returns (status, headers, body bytes)."""
        h = dict(headers or {})
        if who:
            h["Authorization"] = "Bearer " + self.tokens[who]
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path, who="viewer"):
        st, _, b = self.http("GET", path, who)
        if st != 200:
            raise RuntimeError("GET %s: %d %s" % (path, st, b[:300]))
        return json.loads(b)

    def stop(self):
        for s in reversed(SERVICES):
            p = self.procs.get(s)
            if p and p.poll() is None:
                p.terminate()
        for s in reversed(SERVICES):
            p = self.procs.get(s)
            if p:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

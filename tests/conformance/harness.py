"""harness — starts the four tamatch services in curve mode for the conformance suite.

The only things taken from outside proto/: the binaries' command line (-c CONFIG), the
config keys that place sockets, data and keys (docs: config/tamatch.ini), and
`tamctl keys new` to write the trust store, as an operator does (RPC.md section 8).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("TAM_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BIN = os.environ.get("TAM_BIN_DIR", os.path.join(SRC, "build", "bin"))
sys.path.insert(0, os.path.join(SRC, "contrib", "python"))

import tamatch_client as tc  # noqa: E402

SERVICES = ("ingest", "registry", "pipeline", "match")
KEYS = [(s, "service", None) for s in ("ingest", "registry", "match", "pipeline")] + [
    ("admin", "admin", None), ("manager", "manager", None), ("planner", "planner", None),
    ("viewer", "viewer", None), ("donor_liaison", "donor_liaison", None),
    ("respondent-KEN", "respondent", "KEN"), ("outsider", "viewer", None)]


class Services:
    """A temporary deployment: config, trust store, data, and the four running services."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tamconf.")
        os.chmod(self.dir, 0o700)
        self.run_dir = os.path.join(self.dir, "run")
        self.keys = os.path.join(self.dir, "keys")
        os.makedirs(self.run_dir, mode=0o700)
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(os.path.join(self.dir, "logs"))
        self.cfg = os.path.join(self.dir, "tamatch.ini")
        with open(self.cfg, "w") as f:
            f.write("[common]\nrun_dir = %s\ndata_dir = %s\ncatalog_dir = %s\n"
                    "[security]\nmode = curve\nkeys_dir = %s\n"
                    % (self.run_dir, os.path.join(self.dir, "data"),
                       os.path.join(SRC, "config", "catalog"), self.keys))
        for name, role, resp in KEYS:
            cmd = [os.path.join(BIN, "tamctl"), "-c", self.cfg, "-q", "keys", "new", name,
                   "--role", role] + (["--respondent", resp] if resp else [])
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        self.procs = {}
        self.catalogue = tc.Catalogue(os.path.join(SRC, "proto", "FEEDS.md"))
        self.as_("admin")

    def as_(self, identity):
        """A Deployment view acting as identity (a key of the trust store)."""
        d = tc.Deployment(self.run_dir, self.keys, identity)
        if identity == "admin":
            self.d = d
        return d

    def start(self, service, extra=()):
        log = open(os.path.join(self.dir, "logs", service + ".log"), "a")
        self.procs[service] = subprocess.Popen(
            [os.path.join(BIN, "tam-" + service), "-c", self.cfg] + list(extra),
            stdout=log, stderr=log)
        log.close()
        rpc = self.d.rpc(service, timeout_ms=300, retries=0)
        end = time.monotonic() + 20
        try:
            while time.monotonic() < end:
                try:
                    rpc.call("sys.ping")
                    return
                except tc.RpcError:
                    if self.procs[service].poll() is not None:
                        break
                    time.sleep(0.1)
        finally:
            rpc.close()
        raise RuntimeError("tam-%s did not come up; log:\n%s" % (service, self.log(service)))

    def stop(self, service):
        p = self.procs.pop(service, None)
        if p is None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def start_all(self):
        for s in SERVICES:
            self.start(s)

    def log(self, service):
        try:
            with open(os.path.join(self.dir, "logs", service + ".log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def close(self, keep=False):
        for s in list(self.procs):
            self.stop(s)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def sample(name):
    """A file of the sample data (config/samples/demo), as JSON: its maps are the bodies of
    PROTOCOL.md's structs (dates as YYYY-MM-DD strings)."""
    with open(os.path.join(SRC, "config", "samples", "demo", name)) as f:
        return json.load(f)


def sample_replies():
    d = os.path.join(SRC, "config", "samples", "demo", "replies")
    return [sample(os.path.join("replies", n)) for n in sorted(os.listdir(d))]


def load_sample(d):
    """Loads the sample data through the protocol, acting as d (a Deployment with the
    roles for it): donors, projects, ledger, planning context, then every reply."""
    reg = d.rpc("registry")
    for x in sample("donors.json"):
        reg.call("registry.donor_put", x)
    for x in sample("projects.json"):
        reg.call("registry.project_add", x)
    for x in sample("ledger.json"):
        reg.call("registry.ledger_add", x)
    reg.call("registry.context_set", sample("context.json"))
    ing = d.rpc("ingest")
    for r in sample_replies():
        ing.call("ingest.submit", r)


def settle(d, timeout=60):
    """Waits until tam-match's current run reflects the last update of every feed it
    follows: run.<svc>_seq and _epoch (PROTOCOL.md, struct run) equal the service's
    sys.ping feed_seq and feed_epoch. Returns that run."""
    rpcs = {s: d.rpc(s) for s in ("ingest", "registry", "pipeline", "match")}
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        run = rpcs["match"].call("match.run")
        pings = {s: rpcs[s].call("sys.ping") for s in ("ingest", "registry", "pipeline")}
        if all(run.get(s + "_seq") == p["feed_seq"] and run.get(s + "_epoch") == p["feed_epoch"]
               for s, p in pings.items()):
            return run
        time.sleep(0.2)
    raise AssertionError("tam-match did not catch up with its inputs")

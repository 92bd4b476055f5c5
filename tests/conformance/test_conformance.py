"""The tamatch protocol conformance suite: every check follows a sentence of proto/
(RPC.md, FEED.md, FEEDS.md, PROTOCOL.md), run against the real services in curve mode.
When a check fails, fix the service or the document, never the check alone.

    TAM_BIN_DIR=build/bin /usr/bin/python3 tests/conformance/test_conformance.py [-v]
"""

import copy
import os
import sys
import time
import unittest

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

tc = h.tc
NEED, PROP, RUN = "need/<ISO3>/<CAT>", "prop/<ISO3>/<CAT>", "run"
DONOR, PROJECT, CONTEXT = "donor/<id>", "project/<id>", "context"
DECISION = "decision/<ISO3>/<CAT>"
S = None        # the deployment
EARLY = {}      # followers started before any data: their state is built from updates


def setUpModule():
    global S
    S = h.Services()
    try:
        S.start_all()
        for svc in h.SERVICES:
            EARLY[svc] = S.d.follower(svc, S.catalogue)
        h.load_sample(S.d)
        settle()
        # one decision, so that the pipeline feed has a record
        top = S.d.rpc("match").call("match.proposals", {"limit": 1})["items"][0]
        S.d.rpc("pipeline").call("pipeline.act", {"proposal": top["id"], "act": "endorse",
                                                  "reason": "conformance suite"})
        settle()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for f in EARLY.values():
        f.close()
    if S:
        keep = os.environ.get("TAM_KEEP") == "1"
        S.close(keep=keep)
        if keep:
            print("deployment kept in", S.dir)


def ping(svc):
    return S.d.rpc(svc).call("sys.ping")


def settle(timeout=60):
    """Waits until tam-match's current run reflects the last update of every feed it follows
    (run.<svc>_seq and _epoch equal the service's sys.ping feed_seq and feed_epoch), and
    tam-pipeline has seen that run; then every follower has caught up too."""
    run = h.settle(S.d, timeout)
    seqs = {s: ping(s) for s in h.SERVICES}
    for svc, f in EARLY.items():
        f.until(lambda f, p=seqs[svc]: f.epoch == p["feed_epoch"] and f.seq >= p["feed_seq"], 10)
    return run


def pages(rpc, type_, query, key="after", next_key="next"):
    """Every item of a paged listing (PROTOCOL.md: pass next as after until it is absent/0)."""
    q, out = dict(query), []
    while True:
        a = rpc.call(type_, q)
        out += a["items"]
        if not a.get(next_key):
            return out
        q[key] = a[next_key]


def query_state():
    """The state each feed should show, from the services' own queries."""
    ing, reg, m, pl = (S.d.rpc(s) for s in ("ingest", "registry", "match", "pipeline"))
    run = m.call("match.run")
    props = m.call("match.proposals", {"limit": 10000})
    return {
        "ingest": {NEED: {n["id"]: n for n in pages(ing, "ingest.needs", {"limit": 1000})}},
        "registry": {DONOR: {d["id"]: d for d in pages(reg, "registry.donors", {"limit": 1000})},
                     PROJECT: {p["project"]["id"]: p
                               for p in pages(reg, "registry.projects", {"limit": 1000})},
                     CONTEXT: {CONTEXT: reg.call("registry.context_get")}},
        "match": {PROP: {p["id"]: p for p in props["items"]}, RUN: {RUN: run}},
        "pipeline": {DECISION: {d["proposal"]: d for d in
                                pl.call("pipeline.decisions", {"limit": 10000})["items"]}},
    }


def comparable(svc, pattern, body):
    """FEEDS.md: a proposal's rank on the feed is the rank in the run that last published
    it, and PROTOCOL.md: reason rank/unchanged are given by queries only."""
    if pattern == PROP:
        body = dict(body)
        body.pop("rank", None)
        body.pop("reason", None)
    return body


class T1Rpc(unittest.TestCase):
    """RPC.md sections 2-6."""

    def test_ping_every_service(self):
        for svc in h.SERVICES:
            rpc = S.d.rpc(svc)
            env, body, _ = rpc.exchange("sys.ping", {"note": "hello"}, "ping-1")
            self.assertEqual((env["v"], env["type"], env["id"], env["status"]),
                             (1, "sys.ping", "ping-1", "ok"), svc)
            self.assertEqual(body["service"], "tam-" + svc)
            self.assertEqual(body["note"], "hello")
            self.assertNotEqual(body["feed_epoch"], 0, "FEED.md 4: the epoch is non-zero")
            # RPC.md 2: a type with no required field takes nil as {}
            env, body, _ = rpc.exchange("sys.ping", None)
            self.assertEqual(env["status"], "ok", body)

    def test_service_stats(self):
        for svc in h.SERVICES:
            st = S.d.rpc(svc).call("service.stats")
            required = {"requests", "writes", "reads", "duplicates", "errors", "denied",
                        "batches", "max_batch", "commits", "store_failures", "undelivered",
                        "rejected"}
            optional = {"reruns", "pruned", "expired", "map_size", "map_used", "runs", "last_run_us",
                        "last_solve_us", "pairs", "proposals", "lock_hold_us"}
            self.assertTrue(required <= set(st), svc)
            self.assertTrue(set(st) <= required | optional, (svc, set(st) - required - optional))
            self.assertTrue(all(isinstance(v, int) and v >= 0 for v in st.values()), svc)
            if "map_used" in st:
                self.assertLessEqual(st["map_used"], st["map_size"], svc)

    def test_submit_and_idempotent_resend(self):
        ing = S.d.rpc("ingest")
        r = h.sample_replies()[0]
        r["completeness"] = min(100, r["completeness"] + 1)       # a revision
        before = ing.call("ingest.replies", {"status": "any", "limit": 1000})
        seq0 = ping("ingest")["feed_seq"]
        env, ack, raw = ing.exchange("ingest.submit", r, "conf-submit-1")
        self.assertEqual(env["status"], "ok", ack)
        self.assertEqual(ack["revision"], 2)
        self.assertEqual(len(ack["need_ids"]), len(r.get("needs", [])))
        # need ids have one type everywhere: unsigned integers, as need.id
        self.assertTrue(all(isinstance(i, int) and i > 0 for i in ack["need_ids"]), ack)
        full = ing.call("ingest.reply_get", {"id": ack["reply_id"]})
        self.assertEqual(full["need_ids"], ack["need_ids"])
        self.assertTrue(all(isinstance(i, int) for i in full["history"] + full["need_versions"]))
        needs = {n["id"] for n in pages(ing, "ingest.needs", {"limit": 1000})}
        self.assertTrue(set(ack["need_ids"]) <= needs)
        seq1 = ping("ingest")["feed_seq"]
        self.assertGreater(seq1, seq0, "the revision changed a need: published")
        # RPC.md 3: a resend of the id gets the stored answer, byte for byte; nothing new
        env2, _, raw2 = ing.exchange("ingest.submit", r, "conf-submit-1")
        self.assertEqual(env2["status"], "ok")
        self.assertEqual(raw2, raw)
        self.assertEqual(ping("ingest")["feed_seq"], seq1)
        after = ing.call("ingest.replies", {"status": "any", "limit": 1000})
        self.assertEqual(len(after["items"]), len(before["items"]) + 1)
        settle()

    def test_withdrawal_removes_the_key(self):
        """FEEDS.md: a need left out of a revision is published with status withdrawn, and
        removes its key; ingest.needs no longer lists it."""
        ing = S.d.rpc("ingest")
        r = next(x for x in h.sample_replies() if len(x.get("needs", [])) >= 2)
        r = copy.deepcopy(r)
        r["completeness"] = max(0, r["completeness"] - 1)
        before = ing.call("ingest.submit", r)
        dropped = r["needs"].pop()
        ack = ing.call("ingest.submit", r)
        self.assertEqual(ack["withdrawn"], 1, ack)
        gone = [i for i in before["need_ids"] if i not in ack["need_ids"]]
        self.assertEqual(len(gone), 1)
        settle()
        self.assertNotIn(gone[0], EARLY["ingest"].records(NEED), "the withdrawal removed it")
        self.assertNotIn(gone[0], {n["id"] for n in pages(ing, "ingest.needs", {"limit": 1000})})
        withdrawn = pages(ing, "ingest.needs", {"status": "withdrawn", "limit": 1000})
        self.assertIn(gone[0], {n["id"] for n in withdrawn}, dropped)

    def test_error_shape(self):
        ing = S.d.rpc("ingest")
        r = copy.deepcopy(h.sample_replies()[1])
        self.assertGreaterEqual(len(r["needs"]), 2)
        r["needs"][0]["priority"] = 7
        r["needs"][1]["cost"] = 0
        n0 = len(ing.call("ingest.replies", {"status": "any", "limit": 1000})["items"])
        env, err, _ = ing.exchange("ingest.submit", r, "conf-bad-1")
        self.assertEqual((env["status"], env["id"], env["type"]),
                         ("error", "conf-bad-1", "ingest.submit"))
        self.assertEqual(set(err), {"code", "message", "field", "errors"})
        self.assertEqual(err["code"], "range")
        self.assertEqual(err["field"], "needs[0].priority")
        self.assertLessEqual(len(err["message"].encode()), 255)
        fields = [e["field"] for e in err["errors"]]
        self.assertEqual(fields[0], err["field"], "the first problem is listed first")
        self.assertIn("needs[1].cost", fields)
        for e in err["errors"]:
            self.assertEqual(set(e), {"code", "field", "message"}, e)
            self.assertEqual(e["code"], "range", e)
        # RPC.md 5: every entry names the offending value
        self.assertIn("7", err["errors"][0]["message"])
        # RPC.md 3: an error writes nothing
        self.assertEqual(len(ing.call("ingest.replies", {"status": "any", "limit": 1000})["items"]),
                         n0)

    def test_unknown_and_invalid_envelope_fields(self):
        rpc = S.d.rpc("registry")
        env, err, _ = rpc.exchange("registry.no_such", {}, "conf-unk")
        self.assertEqual((env["id"], env["type"], err["code"], err["field"]),
                         ("conf-unk", "registry.no_such", "unknown", "envelope.type"))
        env, err, _ = rpc.exchange("bad type!", {}, "conf-badtype")
        self.assertEqual((env["id"], env["type"], err["code"], err["field"]),
                         ("conf-badtype", "", "invalid", "envelope.type"))
        ans = rpc.raw([b"", msgpack.packb({"v": 1, "type": "sys.ping", "id": "bad id!"}),
                       msgpack.packb({})])
        self.assertEqual((ans[0]["id"], ans[0]["type"], ans[1]["code"], ans[1]["field"]),
                         ("", "sys.ping", "invalid", "envelope.id"))

    def test_malformed_frames(self):
        rpc = S.d.rpc("ingest")
        env = msgpack.packb({"v": 1, "type": "sys.ping", "id": "conf-frames"})
        cases = [
            ([b"", env], "protocol", "frames"),
            ([b"", env, b"\xc0", b"\xc0"], "protocol", "frames"),
            ([b"", env, b"\xc0", b"\xc0", b"\xc0"], "too_big", "frames"),
            ([b"x", env, b"\xc0"], "protocol", "delimiter"),
            ([b"", env, b"\xdd\x04\x00\x00\x00"], "truncated", "body"),
            ([b"", msgpack.packb({"v": 2, "type": "sys.ping", "id": "conf-frames"}), b"\xc0"],
             "protocol", "envelope.v"),
        ]
        for frames, code, field in cases:
            ans = rpc.raw(frames)
            self.assertIsNotNone(ans, (frames, "errors are answers, not silences"))
            e, body = ans
            self.assertEqual((e["status"], body["code"], body["field"]), ("error", code, field),
                             frames)
            self.assertEqual(e["id"], "conf-frames", "a valid id is always echoed")
        # the envelope rows of RPC.md 5 "Answered by the RPC layer itself"
        rows = [
            ([1, 2], "type", "envelope"),
            ({"type": "sys.ping", "id": "conf-env"}, "missing", "envelope.v"),
            ({"v": 1, "id": "conf-env"}, "missing", "envelope.type"),
            ({"v": 1, "type": 7, "id": "conf-env"}, "type", "envelope.type"),
            ({"v": 1, "type": "x" * 65, "id": "conf-env"}, "too_big", "envelope.type"),
            ({"v": 1, "type": "sys.ping"}, "missing", "envelope.id"),
            ({"v": 1, "type": "sys.ping", "id": 5}, "type", "envelope.id"),
            ({"v": 1, "type": "sys.ping", "id": "i" * 65}, "too_big", "envelope.id"),
        ]
        for envelope, code, field in rows:
            e, body = rpc.raw([b"", msgpack.packb(envelope), b"\xc0"])
            self.assertEqual((body["code"], body["field"]), (code, field), envelope)
            if isinstance(envelope, dict) and envelope.get("id") == "conf-env":
                self.assertEqual(e["id"], "conf-env", envelope)
        # a repeated key: protocol, the id still echoed (RPC.md 2)
        dup = b"\x84\xa1v\x01\xa4type\xa8sys.ping\xa2id\xa4conf\xa4type\xa8sys.ping"
        e, body = rpc.raw([b"", dup, b"\xc0"])
        self.assertEqual((body["code"], e["id"]), ("protocol", "conf"))
        # an envelope that is not one msgpack object
        e, body = rpc.raw([b"", b"\xc1", b"\xc0"])
        self.assertEqual(body["field"], "envelope")
        self.assertIn(body["code"], ("protocol", "truncated", "too_deep", "too_big"))
        # the service still answers
        self.assertEqual(rpc.call("sys.ping")["service"], "tam-ingest")

    def test_catalog_get(self):
        cats = {svc: S.as_("viewer").rpc(svc).call("catalog.get") for svc in h.SERVICES}
        versions = {c["version"] for c in cats.values()}
        self.assertEqual(len(versions), 1, "every service loaded the same catalogue")
        c = cats["ingest"]
        self.assertEqual(len(c["version"]), 64)
        areas = {a["code"] for a in c["areas"]}
        groups = {g["code"] for g in c["groups"]}
        cats_ = {k["code"] for k in c["categories"]}
        countries = {k["iso3"]: k for k in c["countries"]}
        for k in c["countries"]:
            self.assertTrue(set(k["areas"]) <= areas, k)
            self.assertTrue(k["group"] in groups or k["group"] == "", k)
        standards = {x["id"]: x for x in c["standards"]}
        self.assertTrue(all(x["category"] in cats_ for x in standards.values()))
        modalities = {m["code"] for m in c["modalities"]}
        dac = {d["code"] for d in c["dac"]}
        # what a client validates before it submits: the sample data uses only these codes
        for r in h.sample_replies():
            for n in r.get("needs", []):
                self.assertIn(n["country"], countries)
                self.assertIn(n["standard"], standards)
                self.assertIn(n["modality"], modalities)
        for p in h.sample("projects.json"):
            self.assertIn(p["dac"], dac)
        # the version alone when the client has it
        same = S.d.rpc("match").call("catalog.get", {"if_version": c["version"]})
        self.assertEqual(same["version"], c["version"])
        self.assertEqual(same["countries"], [])
        self.assertEqual(same["standards"], [])

    def test_key_not_in_trust_store_gets_no_answer(self):
        """RPC.md 8.4: a key not in the store gets no answer at all."""
        pub, sec = (k.decode() for k in tc.zmq.curve_keypair())
        stranger = tc.Key("stranger", pub, sec)
        rpc = tc.Rpc(S.d.ep["registry"]["req"], S.d.server_key("registry"), stranger,
                     timeout_ms=500, retries=0)
        with self.assertRaises(tc.RpcError) as cm:
            rpc.call("sys.ping")
        self.assertEqual(cm.exception.code, "timeout")
        rpc.close()

    def test_denied(self):
        viewer = S.as_("viewer").rpc("registry")
        with self.assertRaises(tc.RpcError) as cm:
            viewer.call("registry.donor_put", {"id": "XX1", "name": "x", "kind": "private"})
        self.assertEqual(cm.exception.code, "denied")


class T1Writes(unittest.TestCase):
    """dry_run and if_version (PROTOCOL.md: reply.dry_run, donor.dry_run, context.if_version,
    project.if_version)."""

    def test_dry_run_submit(self):
        ing = S.d.rpc("ingest")
        r = copy.deepcopy(h.sample_replies()[2])
        r["completeness"] = min(100, r["completeness"] + 2)
        r["dry_run"] = True
        n0 = len(ing.call("ingest.replies", {"status": "any", "limit": 1000})["items"])
        seq0 = ping("ingest")["feed_seq"]
        ack = ing.call("ingest.submit", r, "conf-dry-1")
        self.assertTrue(ack["dry_run"])
        self.assertEqual(ack["revision"], 2)
        self.assertEqual(len(ack["need_ids"]), len(r["needs"]))
        # a resend is run again (a dry run is not kept under its id), and still stores nothing
        self.assertEqual(ing.call("ingest.submit", r, "conf-dry-1"), ack)
        self.assertEqual(len(ing.call("ingest.replies", {"status": "any", "limit": 1000})["items"]),
                         n0)
        self.assertEqual(ping("ingest")["feed_seq"], seq0, "nothing published")
        # every problem, as for a real submit
        r["needs"][0]["priority"] = 9
        r["needs"][0]["modality"] = "no-such-modality"
        with self.assertRaises(tc.RpcError) as cm:
            ing.call("ingest.submit", r)
        self.assertEqual([e["field"] for e in cm.exception.errors][:2],
                         ["needs[0].priority", "needs[0].modality"])
        # the same reply without dry_run is stored as the dry run said
        del r["dry_run"]
        r["needs"][0] = copy.deepcopy(h.sample_replies()[2]["needs"][0])
        real = ing.call("ingest.submit", r)
        self.assertNotIn("dry_run", real)
        self.assertEqual((real["revision"], real["need_ids"]), (ack["revision"], ack["need_ids"]))
        settle()

    def test_dry_run_registry(self):
        reg = S.d.rpc("registry")
        seq0 = ping("registry")["feed_seq"]
        ack = reg.call("registry.donor_put", {"id": "DRY-1", "name": "Dry", "kind": "private",
                                              "dry_run": True})
        self.assertEqual((ack["id"], ack["revision"], ack["dry_run"]), ("DRY-1", 1, True))
        with self.assertRaises(tc.RpcError) as cm:
            reg.call("registry.donor_get", {"id": "DRY-1"})
        self.assertEqual(cm.exception.code, "not_found")
        p = reg.call("registry.projects", {"limit": 1})["items"][0]
        e = {"project": p["project"]["id"], "kind": "pledge", "amount": 1000, "dry_run": True}
        la = reg.call("registry.ledger_add", e)
        self.assertEqual((la["pledged"], la["dry_run"]), (p["pledged"] + 1000, True))
        ctx = reg.call("registry.context_get")
        ca = reg.call("registry.context_set", {"missions": [], "dry_run": True})
        self.assertEqual((ca["revision"], ca["dry_run"]), (ctx["version"] + 1, True))
        self.assertEqual(reg.call("registry.context_get"), ctx)
        self.assertEqual(reg.call("registry.project_get", {"id": p["project"]["id"]}), p)
        self.assertEqual(ping("registry")["feed_seq"], seq0, "nothing published")

    def test_if_version(self):
        planner = S.as_("planner").rpc("registry")
        ctx = planner.call("registry.context_get")
        v = ctx["version"]
        body = {"missions": ctx["missions"], "note": "conformance: if_version",
                "if_version": v + 1}   # not the current one (a later one is as stale)
        with self.assertRaises(tc.RpcError) as cm:
            planner.call("registry.context_set", body)
        self.assertEqual((cm.exception.code, cm.exception.field), ("conflict", "if_version"))
        self.assertIn("version %d" % v, cm.exception.message, "names the current version")
        self.assertEqual(planner.call("registry.context_get")["version"], v, "nothing stored")
        body["if_version"] = v
        self.assertEqual(planner.call("registry.context_set", body)["revision"], v + 1)
        self.assertNotIn("if_version", planner.call("registry.context_get"), "not a record field")
        dl = S.as_("donor_liaison").rpc("registry")
        rec = dl.call("registry.projects", {"limit": 1})["items"][0]
        pr = dict(rec["project"], title=rec["project"]["title"] + " (revised)",
                  if_version=rec["revision"] + 5)
        with self.assertRaises(tc.RpcError) as cm:
            dl.call("registry.project_update", pr)
        self.assertEqual((cm.exception.code, cm.exception.field), ("conflict", "if_version"))
        self.assertIn("revision %d" % rec["revision"], cm.exception.message)
        pr["if_version"] = rec["revision"]
        self.assertEqual(dl.call("registry.project_update", pr)["revision"], rec["revision"] + 1)
        settle()


class T2Feeds(unittest.TestCase):
    """FEED.md and FEEDS.md: snapshot plus updates equal the queries, for every feed."""

    def compare(self, followers, label):
        want = query_state()
        for svc, f in followers.items():
            self.assertTrue(f.synced, (label, svc))
            for pattern, recs in want[svc].items():
                got = {k: comparable(svc, pattern, v) for k, v in f.records(pattern).items()}
                exp = {k: comparable(svc, pattern, v) for k, v in recs.items()}
                self.assertEqual(sorted(got), sorted(exp), (label, svc, pattern, "keys"))
                for k in exp:
                    self.assertEqual(got[k], exp[k], (label, svc, pattern, k))
                self.assertGreater(len(exp), 0, (svc, pattern, "the suite needs records here"))

    def test_updates_equal_queries(self):
        settle()
        self.compare(EARLY, "updates")

    def test_snapshot_equals_queries(self):
        settle()
        fresh = {svc: S.d.follower(svc, S.catalogue) for svc in h.SERVICES}
        try:
            for f in fresh.values():
                self.assertTrue(f.until(lambda f: True, 10))
            self.compare(fresh, "snapshot")
        finally:
            for f in fresh.values():
                f.close()

    def test_run_record_closes_each_run(self):
        seen = []
        f = S.d.follower("match", S.catalogue,
                         on_record=lambda t, b, rm: seen.append((t, b)),
                         on_reset=lambda: seen.append(("~reset", None)))
        try:
            self.assertTrue(f.until(lambda f: True, 10))
            n0 = len(seen)
            # a change of inputs: the planning context loses its first mission
            planner = S.as_("planner").rpc("registry")
            original = planner.call("registry.context_get")
            ctx = {"missions": original["missions"][1:], "note": "conformance: run closes"}
            planner.call("registry.context_set", ctx)
            run = settle()
            self.assertTrue(f.until(lambda f: f.records(RUN).get(RUN, {}).get("run") == run["run"]))
            planner.call("registry.context_set",
                         {k: v for k, v in original.items() if k not in ("version", "set_on", "by")})
            run = settle()
            self.assertTrue(f.until(lambda f: f.records(RUN).get(RUN, {}).get("run") == run["run"]))
            self.assertGreater(sum(t.startswith("prop/") for t, _ in seen[n0:]), 0, "proposals changed")
            updates = seen[n0:]
            self.assertEqual(updates[-1][0], "run", "the run record comes last")
            last_run = None
            for topic, body in updates:
                if topic == "~reset":       # a resync: the snapshot that follows starts over
                    last_run = None
                elif topic == "run":
                    last_run = body["run"]
                else:
                    self.assertTrue(last_run is None or body["run"] > last_run,
                                    "a proposal of a run already closed: %r" % body)
        finally:
            f.close()

    def test_context_change_seen_on_match_feed(self):
        f = S.d.follower("match", S.catalogue)
        planner = S.as_("planner").rpc("registry")
        try:
            self.assertTrue(f.until(lambda f: True, 10))
            original = planner.call("registry.context_get")
            missions = {m["country"] for m in original["missions"]}

            def context_points(f):
                return {p["id"]: next(x["value"] for x in p["factors"] if x["name"] == "context")
                        for p in f.records(PROP).values() if p["country"] in missions}

            before = context_points(f)
            self.assertTrue(any(v > 0 for v in before.values()), "mission countries score context")
            planner.call("registry.context_set", {"missions": [], "note": "conformance: none"})
            run = settle()
            self.assertTrue(f.until(lambda f: f.records(RUN)[RUN]["run"] == run["run"]))
            self.assertTrue(all(v == 0 for v in context_points(f).values()))
            back = {k: v for k, v in original.items() if k not in ("version", "set_on", "by")}
            planner.call("registry.context_set", back)
            run = settle()
            self.assertTrue(f.until(lambda f: f.records(RUN)[RUN]["run"] == run["run"]))
            self.assertEqual(context_points(f), before)
        finally:
            f.close()


class T3Restart(unittest.TestCase):
    """FEED.md 4 and 7: a restarted service has a new epoch; subscribers resync."""

    def test_resync_after_restart(self):
        f = EARLY["registry"]
        e0, r0 = f.epoch, f.resyncs
        S.stop("registry")
        S.start("registry")
        S.d.rpc("registry").call("registry.donor_put",
                                 {"id": "CONF-1", "name": "Conformance", "kind": "private"})
        self.assertTrue(f.until(lambda f: "CONF-1" in f.records(DONOR), 30))
        self.assertNotEqual(f.epoch, e0)
        self.assertGreater(f.resyncs, r0)
        settle()
        T2Feeds.compare(self, EARLY, "after restart")


if __name__ == "__main__":
    unittest.main(verbosity=2 if "-v" in sys.argv else 1,
                  argv=[a for a in sys.argv if a != "-v"])

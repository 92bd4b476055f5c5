#!/usr/bin/python3
"""test_dashboard.py — the web dashboard in a real headless Chromium against
the five real services in curve mode (tamsys.py), as issue 13 asks:

  sign-in (form and /#token= link), who-am-I and role; filter and search,
  checked against the API; open an explanation (also by keyboard);
  endorse as a manager and see the next run reflect it (live, no reload);
  donor liaison commits with an amount;
  as a viewer no decision form, and the API refuses the same act;
  the service's error shown beside the field;
  another client submits a reply and the page shows its proposals live;
  the gaps charts' totals equal /v1/reports/gaps;
  donors and projects (dual price, a ledger), pipeline and audit;
  the print stylesheet drops the controls;
  zero console errors (the browser's log).

A screenshot of each view goes to --out (build/screenshots) on every run.
Needs Debian's chromium, chromium-driver and python3-selenium (scripts/bootstrap);
runs as root (--no-sandbox). Run it with /usr/bin/python3.
"""
import argparse
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tamsys  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

HELD_BACK = "0007-KEN-C.json"  # submitted during the test by another client


def browser():
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update"):
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=o)


class Check:
    def __init__(self):
        self.failures = 0
        self.passed = 0

    def ok(self, cond, what):
        if cond:
            self.passed += 1
            print("ok   %s" % what)
        else:
            self.failures += 1
            print("FAIL %s" % what)
        return cond


def wait(b, fn, what, timeout=30):
    try:
        return WebDriverWait(b, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: fn(d))
    except Exception:
        raise AssertionError("timed out (%d s) waiting for %s" % (timeout, what))


def css(b, sel):
    return b.find_elements(By.CSS_SELECTOR, sel)


def text(b, sel):
    e = css(b, sel)
    return e[0].text if e else ""


# Chromium drops requests in flight when it sees the host's network change
# (other programs adding interfaces); the page retries reads. Not the page's error.
HOST = ("net::ERR_NETWORK_CHANGED",)


def console(b, allowed=()):
    """The browser log's errors since the last call, less the allowed substrings."""
    errs = []
    for e in b.get_log("browser"):
        if e["level"] in ("SEVERE", "ERROR") and not any(a in e["message"] for a in allowed + HOST):
            errs.append(e["message"])
    return errs


def shot(b, out, name):
    b.save_screenshot(os.path.join(out, name + ".png"))


def rows(b):
    return [r for r in css(b, "#p-rows tr") if r.get_attribute("data-id")]


def static_files(sys_, c):
    """gw_static.c: the dashboard's files, their types, ETag/304, the CSP, and
    nothing else from the file system."""
    st, h, body = sys_.http("GET", "/")
    h = {k.lower(): v for k, v in h.items()}
    c.ok(st == 200 and h["content-type"].startswith("text/html") and b"app.js" in body, "GET / is index.html")
    csp = h.get("content-security-policy", "")
    c.ok("default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp,
         "a CSP that allows this origin only")
    c.ok(h.get("x-content-type-options") == "nosniff", "nosniff")
    st2, h2, _ = sys_.http("GET", "/", headers={"If-None-Match": h["etag"]})
    c.ok(st2 == 304, "If-None-Match with its ETag gives 304")
    st, h, _ = sys_.http("GET", "/app.js")
    c.ok(st == 200 and {k.lower(): v for k, v in h.items()}["content-type"].startswith("text/javascript"),
         "a module is text/javascript")
    st, _, _ = sys_.http("POST", "/app.js", body={})
    c.ok(st == 405, "POST to a file is refused (405)")
    with open(os.path.join(sys_.dir, "secret.js"), "w") as f:
        f.write("secret")
    bad = ["/..%2ftamatch.ini", "/%2e%2e/tamatch.ini", "/%2e%2e%2fsecret.js", "/app.js/", "/./app.js",
           "//etc/passwd", "/tamatch.ini", "/.hidden.js", "/app.js%00.html"]
    files = set()
    for f in os.listdir(sys_.web_dir):
        with open(os.path.join(sys_.web_dir, f), "rb") as fh:
            files.add(fh.read())
    got = {}
    for p in bad:
        st, _, body = sys_.http("GET", p)
        # Refused, or one of the dashboard's own files (libmicrohttpd decodes
        # %00 and the path ends there: "/app.js%00.html" is /app.js).
        got[p] = st if st != 200 else ("a dashboard file" if body in files else "OTHER")
    c.ok(all(s in (400, 401, 404, "a dashboard file") for s in got.values()),
         "no path outside the dashboard's files: %s" % got)


def run(sys_, b, out, c):
    url = sys_.url
    static_files(sys_, c)
    # ---- sign-in with the form, as a viewer ----------------------------------
    b.get(url + "/")
    wait(b, lambda d: css(d, "#token") and d.find_element(By.ID, "token").is_displayed(), "the sign-in form")
    shot(b, out, "signin")
    b.find_element(By.ID, "token").send_keys("viewer~" + "0" * 64 + Keys.ENTER)
    wait(b, lambda d: text(d, "#token-err"), "a refused token's message")
    c.ok("not valid" in text(b, "#token-err"), "a bad token is refused with a message beside the field")
    b.find_element(By.ID, "token").clear()
    b.find_element(By.ID, "token").send_keys(sys_.tokens["viewer"] + Keys.ENTER)
    wait(b, lambda d: text(d, "#me") == "viewer", "who-am-I: viewer")
    c.ok(text(b, "#roles") == "viewer", "the page shows the role: viewer")
    wait(b, lambda d: len(rows(d)) > 0, "the proposals table")
    api = sys_.json("/v1/proposals?limit=50")
    c.ok([r.get_attribute("data-id") for r in rows(b)] == [p["id"] for p in api["items"]],
         "the first page lists the API's first 50 proposals in rank order")
    c.ok(("of %d" % api["total"]) in text(b, "#p-count"), "the count names the API's total")
    bars = css(b, "#p-rows tr:first-child svg.scorebar rect:not(.track)")
    pts = sum(int(float(r.get_attribute("width"))) for r in bars)
    c.ok(len(bars) == len(api["items"][0]["factors"]) and
         pts == sum(f["points"] for f in api["items"][0]["factors"]),
         "the score bar stacks each factor's points")
    c.ok(not console(b, allowed=("/v1/whoami",)), "no console error at sign-in (but the refused token's 401)")

    # ---- filters and search ---------------------------------------------------
    b.find_element(By.ID, "f-country").send_keys("COD")
    Select(b.find_element(By.ID, "f-category")).select_by_value("D")
    want = sys_.json("/v1/proposals?country=COD&category=D&limit=50")
    wait(b, lambda d: ("of %d" % want["total"]) in text(d, "#p-count") and
         [r.get_attribute("data-id") for r in rows(d)] == [p["id"] for p in want["items"]],
         "the COD, category D proposals")
    cells = [r.find_elements(By.TAG_NAME, "td") for r in rows(b)]
    c.ok(all(x[2].text == "COD" and x[4].text == "D" for x in cells), "filtered rows are COD, category D")
    shot(b, out, "proposals-filtered")
    b.find_element(By.XPATH, "//button[text()='Clear']").click()
    b.find_element(By.ID, "f-q").send_keys("judic")
    want = sys_.json("/v1/proposals?q=judic&limit=50")
    wait(b, lambda d: ("of %d" % want["total"]) in text(d, "#p-count") and
         [r.get_attribute("data-id") for r in rows(d)] == [p["id"] for p in want["items"]],
         "the search for 'judic'")
    c.ok(0 < want["total"] < api["total"], "search narrows the list (%d of %d)" % (want["total"], api["total"]))
    c.ok(all("judic" in r.text.lower() for r in rows(b)), "every row found contains 'judic'")
    b.find_element(By.XPATH, "//button[text()='Clear']").click()
    wait(b, lambda d: ("of %d" % api["total"]) in text(d, "#p-count"), "all proposals again")
    b.find_element(By.ID, "p-next").click()
    page2 = sys_.json("/v1/proposals?limit=50&cursor=50")
    wait(b, lambda d: rows(d) and rows(d)[0].get_attribute("data-id") == page2["items"][0]["id"],
         "page 2 by the API's cursor")
    b.find_element(By.ID, "p-prev").click()
    wait(b, lambda d: rows(d) and rows(d)[0].get_attribute("data-id") == api["items"][0]["id"], "page 1 again")

    # ---- explanation, by keyboard; a viewer may not decide -----------------------
    first = api["items"][0]["id"]
    btn = css(b, "#p-rows tr:first-child button.pid")[0]
    btn.send_keys(Keys.ENTER)
    wait(b, lambda d: text(d, "#x-h") == "Proposal " + first, "the explanation of " + first)
    ex = sys_.json("/v1/proposals/" + first)
    c.ok(b.switch_to.active_element.get_attribute("id") == "x-h", "the explanation takes the focus")
    frows = css(b, "#explain table.factors tbody tr")
    c.ok(len(frows) == len(ex["proposal"]["factors"]), "the explanation lists factors × weights")
    c.ok(all(s in b.find_element(By.ID, "explain").text for s in ex["eligibility"][:2] + ex["binding"][:1]),
         "it shows eligibility and binding constraints")
    c.ok("One more dollar" in text(b, "#x-dual"), "it shows the dual price as 'one more dollar …'")
    c.ok(not css(b, "#decide") and css(b, "#x-noact"), "a viewer is offered no decision")
    st, _, body = sys_.http("POST", "/v1/decisions", "viewer",
                            {"proposal": first, "act": "endorse", "reason": "viewer tries"})
    c.ok(st == 403 and json.loads(body)["status"] == 403, "the API refuses the viewer's endorse (403)")
    shot(b, out, "explanation-viewer")
    b.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(b, lambda d: not d.find_element(By.ID, "explain").is_displayed(), "Escape closes the explanation")
    c.ok(not console(b), "no console error as a viewer")

    # ---- sign in as a manager by link; endorse; the next run reflects it -----------
    b.find_element(By.ID, "signout").click()
    wait(b, lambda d: d.find_element(By.ID, "token").is_displayed(), "signed out")
    b.get("about:blank")  # a fresh page load from the link (a hash change alone reloads nothing)
    b.get(url + "/#token=" + sys_.tokens["manager"])
    wait(b, lambda d: text(d, "#me") == "manager", "who-am-I: manager (by /#token= link)")
    c.ok("token=" not in b.current_url, "the token leaves the address bar")
    wait(b, lambda d: len(rows(d)) > 0, "the proposals table (manager)")
    # boot.js asked for who-am-I and the first page before the modules ran,
    # and the page used those answers: each asked for once.
    early = b.execute_script("""
      const n = (p) => performance.getEntriesByType('resource').filter(e => e.name.endsWith(p));
      const w = n('/v1/whoami'), p = n('/v1/proposals?limit=50');
      return {whoami: w.length, proposals: p.length, start: window.tamatch.marks.start,
              asked: p.length ? p[0].startTime : null};""")
    c.ok(early["whoami"] == 1 and early["proposals"] == 1,
         "who-am-I and the first page are each asked for once (%s)" % early)
    # Whether boot.js wins the race with the modules is a matter of speed, not of
    # correctness (when it loses, the modules ask, once): reported, not asserted.
    print("note the first page was asked for %s the modules ran (%.0f vs %.0f ms)" %
          ("before" if early["asked"] is not None and early["asked"] < early["start"]
           else "after", early["asked"] or -1, early["start"]))
    target = next(p for p in api["items"] if p["state"] == "proposed")
    tr = [r for r in rows(b) if r.get_attribute("data-id") == target["id"]][0]
    tr.find_element(By.CSS_SELECTOR, "td:nth-child(3)").click()  # a click anywhere on the row
    wait(b, lambda d: css(d, "#decide"), "the decision form")
    acts = [e.get_attribute("value") for e in css(b, "#decide input[name=act]")]
    c.ok(acts == ["endorse", "decline"], "a manager is offered endorse and decline (%s)" % acts)
    b.find_element(By.ID, "d-submit").click()
    c.ok("required" in text(b, "#d-reason-err"), "no reason: the error shows beside the reason")
    # The service's own error, beside the amount: more than the need can take.
    b.find_element(By.ID, "d-amount").clear()
    b.find_element(By.ID, "d-amount").send_keys("999999999999")
    b.find_element(By.ID, "d-reason").send_keys("fits the mission plan")
    b.find_element(By.ID, "d-submit").click()
    wait(b, lambda d: text(d, "#d-amount-err") or text(d, "#d-err"), "the service's answer to a too-large amount")
    c.ok(bool(text(b, "#d-amount-err")), "the service's error shows beside the amount: %r" %
         (text(b, "#d-amount-err") or text(b, "#d-err")))
    shot(b, out, "decision-error")
    console(b, allowed=("/v1/decisions",))  # the refused request's network line, expected
    b.find_element(By.ID, "d-amount").clear()
    b.find_element(By.ID, "d-submit").click()
    wait(b, lambda d: "recorded" in text(d, "#d-ok"), "the endorsement recorded")
    wait(b, lambda d: any(r.get_attribute("data-id") == target["id"] and
                          "endorsed" in r.find_element(By.CSS_SELECTOR, "td.state").text for r in rows(d)),
         "the table shows %s endorsed after the next run, without a reload" % target["id"], 60)
    c.ok(True, "the next run shows the endorsement live")
    now = sys_.json("/v1/proposals?state=endorsed")
    c.ok(any(p["id"] == target["id"] for p in now["items"]), "the API agrees: endorsed")
    wait(b, lambda d: "endorsed" in text(d, "#x-state"), "the open explanation follows the run")
    wait(b, lambda d: "fits the mission plan" in d.find_element(By.ID, "explain").text,
         "the explanation's history names the reason")
    need, project = target["id"].split("/", 1)
    hist = sys_.json("/v1/history?need=%s&project=%s" % (need, project))["items"]
    c.ok(hist and all(e["proposal"] == target["id"] for e in hist),
         "GET /v1/history?need=&project= gives only that proposal's entries (%d)" % len(hist))
    c.ok(len(b.find_elements(By.CSS_SELECTOR, "#explain table.history tbody tr")) == len(hist),
         "the explanation's history has one row per entry of the filtered history")
    asked = b.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                             ".filter(n => n.includes('/v1/history'))")
    c.ok(asked and all("need=" in n and "project=" in n for n in asked),
         "the explanation asks the service for that proposal's history only: %s" % asked[:2])
    shot(b, out, "proposals")
    shot(b, out, "explanation-manager")
    c.ok(not console(b), "no console error while deciding")

    # ---- donor liaison commits, with an amount --------------------------------------
    b.find_element(By.ID, "signout").click()
    wait(b, lambda d: d.find_element(By.ID, "token").is_displayed(), "signed out")
    b.get(url + "/#token=" + sys_.tokens["donor_liaison"])
    wait(b, lambda d: text(d, "#me") == "donor_liaison", "who-am-I: donor_liaison")
    Select(b.find_element(By.ID, "f-state")).select_by_value("endorsed")
    wait(b, lambda d: [r.get_attribute("data-id") for r in rows(d)] == [target["id"]], "the endorsed proposal alone")
    rows(b)[0].find_element(By.CSS_SELECTOR, "button.pid").click()
    wait(b, lambda d: css(d, "#decide"), "the donor liaison's decision form")
    acts = [e.get_attribute("value") for e in css(b, "#decide input[name=act]")]
    c.ok(acts == ["commit"], "donor liaison is offered commit only (%s)" % acts)
    c.ok(b.find_element(By.ID, "d-amount").is_displayed(), "commit asks for an amount")
    amount = b.find_element(By.ID, "d-amount").get_attribute("value")
    b.find_element(By.ID, "d-reason").send_keys("funds transferred")
    b.find_element(By.ID, "d-submit").click()
    wait(b, lambda d: "recorded" in text(d, "#d-ok"), "the commitment recorded")
    wait(b, lambda d: "committed" in text(d, "#x-state"), "the next run shows it committed", 60)
    got = [p for p in sys_.json("/v1/proposals?state=committed")["items"] if p["id"] == target["id"]]
    c.ok(len(got) == 1 and str(got[0]["amount"]) == amount, "committed for %s USD, as the API says" % amount)
    shot(b, out, "commit-donor-liaison")
    c.ok(not console(b), "no console error while committing")
    Select(b.find_element(By.ID, "f-state")).select_by_value("")

    # ---- another client submits a reply; the page shows it live --------------------
    b.find_element(By.CSS_SELECTOR, "#explain button.close").click()
    before = max(n["id"] for n in sys_.json("/v1/needs?limit=1000")["items"])
    sys_.tamctl("submit", os.path.join(sys_.data, "replies", HELD_BACK), as_="admin")

    def new_live(d):
        ids = [li.get_attribute("data-id") for li in css(d, "#changes li.new")]
        return [i for i in ids if i and int(i.split("/")[0]) > before]
    got = wait(b, new_live, "a live change of the new reply's needs", 60)
    c.ok(bool(got), "the page lists the new reply's proposals live (%s)" % got[0])
    wait(b, lambda d: css(d, "#p-rows tr.new .badge"), "rows marked new")
    c.ok(True, "changed rows are marked new")
    shot(b, out, "live")

    # ---- gaps --------------------------------------------------------------------
    b.find_element(By.LINK_TEXT, "Gaps").click()
    wait(b, lambda d: css(d, "#g-cat-group-chart"), "the gaps chart")
    time.sleep(0.3)
    rep = sys_.json("/v1/reports/gaps")
    for chart in ("g-cat-group-chart", "g-group-chart"):
        sums = {}
        for r in css(b, "#%s rect[data-measure]" % chart):
            sums[r.get_attribute("data-measure")] = sums.get(r.get_attribute("data-measure"), 0) + \
                int(r.get_attribute("data-value"))
        want = {k: rep["totals"][k] for k in ("committed", "endorsed", "proposed", "unmet")}
        c.ok(sums == want, "%s totals equal /v1/reports/gaps: %s" % (chart, sums))
        c.ok(sum(sums.values()) == rep["totals"]["requested"], "%s adds up to what is requested" % chart)
    c.ok(len(css(b, "#g-country-fig table tbody tr")) ==
         len({r["cells"][rep["columns"].index("country")] for r in rep["rows"]}), "a table row per country")
    shot(b, out, "gaps")

    # ---- donors and projects -------------------------------------------------------------
    b.find_element(By.LINK_TEXT, "Donors and projects").click()
    wait(b, lambda d: css(d, "table.projects tbody tr"), "the projects table")
    runc = sys_.json("/v1/runs/current")
    best = max(runc["project_state"], key=lambda p: p["dual"])
    c.ok(("one more dollar here funds %s score points" % format(best["dual"], ",")) in
         b.find_element(By.CSS_SELECTOR, "table.projects").text, "the dual price as 'one more dollar here funds …'")
    b.find_element(By.CSS_SELECTOR, "button[aria-label='Ledger of %s']" % best["project"]).click()
    wait(b, lambda d: css(d, "#ledger table.ledger tbody tr"), "the ledger of " + best["project"])
    led = sys_.json("/v1/projects/%s/ledger" % best["project"])["items"]
    c.ok(len(css(b, "#ledger table.ledger tbody tr")) == max(1, len(led)), "the ledger lists its entries")
    shot(b, out, "donors")

    # ---- pipeline and audit --------------------------------------------------------------
    b.find_element(By.LINK_TEXT, "Pipeline and audit").click()
    wait(b, lambda d: css(d, "table.audit tbody tr td"), "the audit log")
    wait(b, lambda d: "fits the mission plan" in d.find_element(By.CSS_SELECTOR, "table.audit").text,
         "the audit names the endorsement")
    c.ok("manager" in b.find_element(By.CSS_SELECTOR, "table.audit").text, "the audit names who (manager)")
    shot(b, out, "pipeline")

    # ---- print ---------------------------------------------------------------------------
    b.find_element(By.LINK_TEXT, "Gaps").click()
    wait(b, lambda d: css(d, "#g-cat-group-chart"), "the gaps chart again")
    b.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    c.ok(not b.find_element(By.ID, "nav").is_displayed() and
         not any(x.is_displayed() for x in css(b, "button")), "the print layout drops navigation and buttons")
    shot(b, out, "print-gaps")
    b.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # ---- nothing from elsewhere; zero console errors --------------------------------------
    foreign = b.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                               ".filter(n => !n.startsWith(location.origin) && !n.startsWith('blob:'))")
    c.ok(foreign == [], "nothing loaded from outside the gateway")
    errs = console(b)
    c.ok(not errs, "zero console errors%s" % ("" if not errs else ": %s" % errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True, help="directory for the screenshots")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):  # this run's screenshots only
        if f.endswith(".png"):
            os.remove(os.path.join(a.out, f))
    t0 = time.time()
    c = Check()
    sys_ = tamsys.System(a.src, a.bin, keep=a.keep)
    b = None
    try:
        sys_.start()
        replies = [f for f in sorted(os.listdir(os.path.join(sys_.data, "replies"))) if f != HELD_BACK]
        sys_.load(replies)
        print("services up and loaded in %.1f s (%s)" % (time.time() - t0, sys_.dir))
        b = browser()
        run(sys_, b, a.out, c)
    except Exception:
        traceback.print_exc()
        c.failures += 1
        if b:
            shot(b, a.out, "failure")
            for e in b.get_log("browser"):
                print("browser:", e)
    finally:
        if b:
            b.quit()
        sys_.stop()
    print("%d passed, %d failed in %.1f s; screenshots in %s" % (c.passed, c.failures, time.time() - t0, a.out))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs the example of contrib/python/README.md against the services (curve mode, sample
data) and checks what it prints: one line per run, whose count of mission-country proposals
equals match.proposals for those countries, and the changes of a run it saw happen."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def example_code():
    with open(os.path.join(h.SRC, "contrib", "python", "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no python example"
    return blocks[0]


def main():
    s = h.Services()
    try:
        s.start_all()
        h.load_sample(s.d)
        h.settle(s.d)
        env = dict(os.environ, TAMATCH_RUN_DIR=s.run_dir, TAMATCH_KEYS_DIR=s.keys,
                   TAMATCH_IDENTITY="planner", TAMATCH_FOLLOW_SECONDS="6",
                   TAMATCH_FEEDS_MD=os.path.join(h.SRC, "proto", "FEEDS.md"),
                   PYTHONPATH=os.path.join(h.SRC, "contrib", "python"))
        p = subprocess.Popen([sys.executable, "-c", example_code()], env=env,
                             stdout=subprocess.PIPE, text=True)
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("run ") and sum(x.startswith("run ") for x in lines) == 1:
                # synced: a planning system drops CAF from its missions, CAF's proposals change
                planner = s.as_("planner").rpc("registry")
                ctx = planner.call("registry.context_get")
                planner.call("registry.context_set",
                             {"missions": [m for m in ctx["missions"] if m["country"] != "CAF"]})
                h.settle(s.d)
        p.wait(timeout=60)
        out = "".join(lines)
        print(out)
        assert p.returncode == 0, "the example failed"
        runs = re.findall(r"^run (\d+): (\d+) proposals for CAF,COD,SSD, (\d+) changed$", out, re.M)
        assert len(runs) >= 2, "a line for the snapshot's run and one for the change"
        m = s.d.rpc("match")
        want = sum(m.call("match.proposals", {"country": c, "limit": 10000})["total"]
                   for c in ("CAF", "COD", "SSD"))
        assert int(runs[-1][1]) == want, (runs[-1], want)
        assert int(runs[-1][0]) == m.call("match.run")["run"]
        assert re.search(r"^  \w+ \d+/\S+ CAF: ", out, re.M), "CAF's changes were printed"
        print("the README example follows the mission countries' proposals: %s proposals" % want)
    finally:
        s.close()


if __name__ == "__main__":
    main()

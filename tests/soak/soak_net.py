"""soak_net.py — scripts/soak's constants, helpers and network faults (docs/reliability.md)."""
import os, re, shutil, subprocess, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.environ.get('TAM_BIN_DIR') or os.path.join(ROOT, 'build', 'bin')
SERVICES = ['ingest', 'registry', 'pipeline', 'match', 'gateway']
RPC_SERVICES = ['ingest', 'registry', 'pipeline', 'match']
NET = '10.77.0'
BRIDGE = 'tsoakbr'
HOST_IP = NET + '.1'


def log(*a):
    print('soak: ' + ' '.join(str(x) for x in a), flush=True)


def now():
    return time.monotonic()


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError('%s: %s' % (cmd, r.stderr.strip()))
    return r


# ---- network ---------------------------------------------------------------------------

class Net:
    """One namespace per service, a veth pair each, a bridge in the root namespace."""

    def __init__(self, use_netns):
        self.use = use_netns
        self.ip = {s: (NET + '.%d' % (11 + i) if use_netns else '127.0.0.1')
                   for i, s in enumerate(SERVICES)}
        self.host = HOST_IP if use_netns else '127.0.0.1'

    def ns(self, s):
        return 'tsoak-' + s

    def hveth(self, s):
        return 'tsk%dh' % SERVICES.index(s)

    def teardown(self):
        if not self.use:
            return
        for s in SERVICES:
            sh('ip netns del %s' % self.ns(s), check=False)
            sh('ip link del %s' % self.hveth(s), check=False)
        sh('ip link del %s' % BRIDGE, check=False)

    def setup(self):
        if not self.use:
            return
        self.teardown()
        sh('ip link add %s type bridge && ip addr add %s/24 dev %s && ip link set %s up'
           % (BRIDGE, HOST_IP, BRIDGE, BRIDGE))
        for s in SERVICES:
            ns, hv = self.ns(s), self.hveth(s)
            sh('ip netns add %s' % ns)
            sh('ip link add %s type veth peer name eth0 netns %s' % (hv, ns))
            sh('ip link set %s master %s up' % (hv, BRIDGE))
            sh('ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up && '
               'ip -n %s link set lo up' % (ns, self.ip[s], ns, ns))

    def prefix(self, s):
        return ['ip', 'netns', 'exec', self.ns(s)] if self.use else []

    # faults: each returns a description; clear() undoes any of them
    def drop(self, s, pct):
        sh("ip netns exec %s nft -f - <<'EOF'\ntable inet soak {\n"
           " chain i { type filter hook input priority 0; numgen random mod 100 < %d counter drop; }\n"
           " chain o { type filter hook output priority 0; numgen random mod 100 < %d counter drop; }\n}\nEOF"
           % (self.ns(s), pct, pct))

    def delay(self, s, kbit):
        for pre, dev in (('', self.hveth(s)), ('-n %s ' % self.ns(s), 'eth0')):
            sh('tc %sqdisc add dev %s root tbf rate %dkbit burst 4kb latency 2s' % (pre, dev, kbit))

    def reorder(self, s):
        ns = self.ns(s)
        sh('tc -n %s qdisc add dev eth0 root handle 1: htb default 10 && '
           'tc -n %s class add dev eth0 parent 1: classid 1:10 htb rate 1gbit && '
           'tc -n %s class add dev eth0 parent 1: classid 1:20 htb rate 300kbit && '
           'tc -n %s filter add dev eth0 parent 1: protocol ip u32 match ip tos 0x20 0xfc flowid 1:20'
           % (ns, ns, ns, ns))
        sh("ip netns exec %s nft -f - <<'EOF'\ntable inet soakr {\n"
           " chain p { type filter hook postrouting priority 0; numgen random mod 3 == 0 counter ip dscp set cs1; }\n}\nEOF"
           % ns)

    def partition(self, s):
        sh('ip link set %s down' % self.hveth(s))

    def effect(self, s):
        """What the faults in place did: packets dropped, diverted to the slow queue, or held
        back by a token bucket (before clear)."""
        ns, e = self.ns(s), {}
        for t, k in (('soak', 'dropped'), ('soakr', 'slow queue')):
            r = sh('ip netns exec %s nft list table inet %s' % (ns, t), check=False)
            n = sum(int(x) for x in re.findall(r'counter packets (\d+)', r.stdout))
            if r.returncode == 0:
                e[k] = n
        r = sh('tc -n %s -s class show dev eth0' % ns, check=False)
        m = re.search(r'class htb 1:20 .*?Sent \d+ bytes (\d+) pkt', r.stdout, re.S)
        if m:
            e['sent through the slow class'] = int(m.group(1))
        for pre, dev in (('', self.hveth(s)), ('-n %s ' % ns, 'eth0')):
            r = sh('tc %s-s qdisc show dev %s' % (pre, dev), check=False)
            m = re.search(r'qdisc tbf .*?overlimits (\d+)', r.stdout, re.S)
            if m:
                e['delayed'] = e.get('delayed', 0) + int(m.group(1))
        return e

    def clear(self, s):
        ns = self.ns(s)
        sh('ip netns exec %s nft delete table inet soak' % ns, check=False)
        sh('ip netns exec %s nft delete table inet soakr' % ns, check=False)
        sh('tc qdisc del dev %s root' % self.hveth(s), check=False)
        sh('tc -n %s qdisc del dev eth0 root' % ns, check=False)
        sh('ip link set %s up' % self.hveth(s), check=False)


def netns_works():
    """Whether namespaces, veth, tc tbf and nftables work here (measured, not assumed)."""
    if os.geteuid() != 0 or not shutil.which('ip') or not shutil.which('tc') or not shutil.which('nft'):
        return False, 'needs root, iproute2 (ip, tc) and nftables (nft)'
    r = sh('ip netns add tsoak-probe && ip -n tsoak-probe link set lo up && '
           'ip netns exec tsoak-probe nft add table inet probe && '
           'ip link add tsoakp0 type veth peer name tsoakp1 && '
           'tc qdisc add dev tsoakp0 root tbf rate 1mbit burst 4kb latency 1s', check=False)
    netem = sh('tc qdisc add dev tsoakp1 root netem delay 10ms', check=False)
    sh('ip link del tsoakp0; ip netns del tsoak-probe', check=False)
    if r.returncode != 0:
        return False, r.stderr.strip()
    return True, 'netem: ' + ('available' if netem.returncode == 0 else netem.stderr.strip())

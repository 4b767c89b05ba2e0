#!/usr/bin/env python3
"""cpu_budget.py - where every core's time goes during one tunnel run.

Input: a whole-machine profile of one bench/esp_throughput.sh row
(PROFILE=DIR PROFILE_ALL=1: perf record -a -g -e cpu-clock, so every
sample is the same slice of one CPU's time and idle CPUs show as
swapper) and its DIR/NAME.pkts (the ESP packets of the run).

  bench/cpu_budget.py DIR/iked.perf [DIR/iked.pkts]

Each sample goes to one row, by the first rule that matches:
  - a softirq frame on the stack (any process): forwarding/NAT when the
    softirq reaches ip_forward or nf_nat, TCP receive when tcp_v4_rcv,
    UDP/ESP receive when udp_rcv, otherwise "softirq, other" (veth,
    GRO, backlog)
  - swapper (idle task) without softirq: idle
  - r2espd user: libcrypto split into the cipher (code that uses
    AES-NI / carry-less multiply, found by disassembly since the library
    has no symbols for its assembly) and the rest (EVP calls, parameter
    handling), r2espd's own functions, libc
  - r2espd kernel: by system call (TUN read, TUN write, UDP send, UDP
    receive, epoll/scheduling, other)
  - iperf3: iperf user + TCP send (its kernel time)
  - ksoftirqd, kworker outside a softirq frame
  - anything else, including other r2espd, iked and spmd processes (not
    in the ESP packet path): other load on the machine (not the tunnel)
Prints samples, ms, ns per ESP packet and the share of the tunnel's
CPU (everything but idle and the other load).
"""
import bisect
import collections
import re
import subprocess
import sys

HZ = None  # from perf script's sample period (cpu-clock: ns per sample)

CIPHER_INSNS = re.compile(r"\b(v?aes(enc|dec)(last)?|v?pclmul\w*)\b")


def cipher_ranges(lib):
    """Address ranges (start, end) of the functions of lib that use
    AES-NI or PCLMULQDQ: objdump -d, functions split at symbol labels
    and, for stripped code, at ret instructions."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib],
                         capture_output=True, text=True).stdout
    ranges = []
    start = None
    hit = False
    last = 0
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)", line)
        if not m:
            if re.match(r"[0-9a-f]+ <", line):
                if start is not None and hit:
                    ranges.append((start, last))
                start, hit = None, False
            continue
        a = int(m.group(1), 16)
        if start is None:
            start = a
        last = a
        if CIPHER_INSNS.search(m.group(2)):
            hit = True
        if m.group(2).startswith("ret"):
            if hit:
                ranges.append((start, a))
            start, hit = None, False
    if start is not None and hit:
        ranges.append((start, last))
    ranges.sort()
    return ranges


def in_ranges(ranges, starts, a):
    i = bisect.bisect_right(starts, a) - 1
    return i >= 0 and ranges[i][0] <= a <= ranges[i][1]


def main():
    perf = sys.argv[1]
    pkts = None
    espd = None
    if len(sys.argv) > 2:
        f = open(sys.argv[2]).read().split()
        pkts = int(f[f.index("esp_tx") + 1])
        espd = set(f[f.index("espd_pids") + 1:])
    scr = subprocess.run(
        ["perf", "script", "-i", perf, "-F", "comm,pid,period,ip,sym,dso"],
        capture_output=True, text=True).stdout
    libcrypto = None
    samples = []
    cur = None
    for line in scr.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            m = re.match(r"(.*?)\s+(\d+)\s+(\d+)\s*$", line)
            cur = [m.group(1).strip() if m else line.strip(),
                   int(m.group(3)) if m else 0, [], m.group(2) if m else ""]
            samples.append(cur)
            continue
        m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if m and cur is not None:
            cur[2].append((int(m.group(1), 16), m.group(2), m.group(3)))
            if "libcrypto" in m.group(3):
                libcrypto = m.group(3)
    ranges = cipher_ranges(libcrypto) if libcrypto else []
    starts = [r[0] for r in ranges]
    rows = collections.Counter()
    period = collections.Counter()
    for comm, per, frames, pid in samples:
        ks = [s for a, s, d in frames if d == "[kernel.kallsyms]"]
        kset = set(ks)
        row = None
        soft = [i for i, s in enumerate(ks) if s in (
            "__do_softirq", "handle_softirqs", "net_rx_action",
            "do_softirq", "__local_bh_enable_ip")]
        if soft:
            leaf = set(ks[:soft[0]])
            if "ip_forward" in leaf or any(s.startswith("nf_nat") for s in leaf):
                row = "softirq: forwarding + NAT (ip_forward, nf_nat)"
            elif leaf & {"tcp_v4_rcv", "tcp_v6_rcv"}:
                row = "softirq: TCP receive (tcp_v4_rcv)"
            elif leaf & {"udp_rcv", "udp_queue_rcv_skb", "udp_unicast_rcv_skb",
                         "udpv6_rcv", "udp_gro_receive"}:
                row = "softirq: UDP/ESP receive"
            else:
                row = "softirq: other (veth, GRO, backlog)"
        elif comm.startswith("swapper"):
            row = "idle"
        elif comm == "r2espd" and (espd is None or pid in espd):
            leaf_a, leaf_s, leaf_d = frames[0] if frames else (0, "", "")
            if leaf_d == "[kernel.kallsyms]":
                if kset & {"tun_chr_read_iter", "tun_do_read"}:
                    row = "r2espd kernel: TUN read"
                elif kset & {"tun_chr_write_iter", "tun_get_user"}:
                    row = "r2espd kernel: TUN write"
                elif kset & {"udp_sendmsg", "__sys_sendmmsg", "__sys_sendmsg",
                             "raw_sendmsg"}:
                    row = "r2espd kernel: UDP send (sendmmsg)"
                elif kset & {"udp_recvmsg", "__sys_recvmmsg", "__sys_recvmsg",
                             "raw_recvmsg"}:
                    row = "r2espd kernel: UDP receive (recvmmsg)"
                elif kset & {"do_epoll_wait", "__x64_sys_epoll_wait",
                             "__schedule", "do_sys_poll"}:
                    row = "r2espd kernel: epoll/scheduling"
                else:
                    row = "r2espd kernel: other"
            elif "libcrypto" in leaf_d:
                if in_ranges(ranges, starts, leaf_a) or re.search(
                        r"aesni|gcm_ghash|gcm_gmult|ghash", leaf_s):
                    row = "r2espd user: cipher (AES-NI/GHASH code)"
                else:
                    row = "r2espd user: libcrypto other (EVP, params) %s" % (
                        "" if leaf_s == "[unknown]" else leaf_s)
                    row = row.rstrip()
            elif "r2espd" in leaf_d:
                row = "r2espd user: r2espd %s" % leaf_s
            elif "libc" in leaf_d:
                row = "r2espd user: libc %s" % leaf_s
            else:
                row = "r2espd user: other (%s)" % leaf_d
        elif comm == "iperf3":
            row = "iperf3 + TCP send (%s)" % ("kernel" if ks else "user")
        elif comm.startswith(("ksoftirqd", "kworker")):
            row = "ksoftirqd, kworker (not in a softirq frame)"
        else:
            row = "not the tunnel (other load on the machine)"
        rows[row] += 1
        period[row] += per
    total = sum(rows.values())

    def tunnel_row(r):
        return r != "idle" and not r.startswith("not the tunnel")

    tunnel = sum(n for r, n in rows.items() if tunnel_row(r))
    tns = sum(period[r] for r in rows if tunnel_row(r))

    def line(name, n, p, share=True):
        print("| %-62s | %7d | %8.1f | %8s | %7s |" % (
            name[:62], n, p / 1e6, "%.0f" % (p / pkts) if pkts else "-",
            "%.1f%%" % (100.0 * p / tns) if share and tns else "-"))

    print("samples %d (%.1f s of CPU), ESP packets %s" % (
        total, sum(period.values()) / 1e9, pkts))
    print("| %-62s | %7s | %8s | %8s | %7s |" %
          ("where", "samples", "ms", "ns/pkt", "tunnel"))
    print("|%s|---------|----------|----------|---------|" % ("-" * 64))
    # r2espd user symbols under 1% of the tunnel go to one row per group
    small = collections.defaultdict(lambda: [0, 0])
    groups = ("r2espd user", "r2espd kernel", "softirq", "iperf3", "ksoftirqd")
    for g in groups:
        rs = sorted((r for r in rows if r.startswith(g)), key=lambda r: -period[r])
        if not rs:
            continue
        line("%s (all)" % g, sum(rows[r] for r in rs), sum(period[r] for r in rs))
        for r in rs:
            if g == "r2espd user" and rows[r] * 100 < tunnel:
                k = r.split(":")[1].split()[0] if ":" in r else "other"
                small[k][0] += rows[r]
                small[k][1] += period[r]
                continue
            line("  " + r, rows[r], period[r])
        for k, (n, p) in sorted(small.items(), key=lambda kv: -kv[1][1]):
            line("  r2espd user: %s, the rest (symbols < 1%% each)" % k, n, p)
        small.clear()
    line("tunnel total", tunnel, tns)
    for r in ("idle", "not the tunnel (other load on the machine)"):
        if r in rows:
            line(r, rows[r], period[r], share=False)


if __name__ == "__main__":
    main()

# summary.py <out of run.sh>: per run, server CPU ms per accepted message (from <label>.cpuio), read bytes and calls and written bytes per message, pcache1TruncateUnsafe share of the server's perf samples, the soak's p50/p99.
import sys, re, glob, os, subprocess
d = sys.argv[1]
rows = []
for f in sorted(glob.glob(f'{d}/*.cpuio')):
    label = os.path.basename(f)[:-6]
    lines = open(f).read().split('\n')
    def parse(l):
        t = l.split()
        v = {'ticks': int(t[2])}
        for i in range(3, len(t) - 1, 2): v[t[i].rstrip(':')] = int(t[i + 1])
        return v
    if len([l for l in lines if l.startswith('end')]) == 0: continue
    a, b = parse(lines[0]), parse([l for l in lines if l.startswith('end')][0])
    log = open(f'{d}/{label}.log').read()
    acked = sum(int(x) for x in re.findall(r'minute \d+\] sent .*? acked (\d+)', log))
    p99 = re.findall(r'min at \d+/s: p50 ([\d.]+) p99 ([\d.]+)', log)
    share = ''
    pd = glob.glob(f'{d}/{label}.*.perf.data')
    if pd:
        out = subprocess.run(['perf', 'report', '-i', pd[0], '--no-children', '--sort', 'sym', '--stdio', '-g', 'none'], capture_output=True, text=True).stdout
        tot = re.search(r'of event .*?\n# Event count \(approx\.\): (\d+)', out)
        m = re.search(r'([\d.]+)%\s+\[\.\] pcache1TruncateUnsafe', out)
        share = m.group(1) if m else '0'
    dt = b['ticks'] - a['ticks']
    print(f"{label}\tacked {acked}\tcpu ms/msg {dt*10/acked:.3f}\trchar KB/msg {(b['rchar']-a['rchar'])/acked/1024:.1f}\tsyscr/msg {(b['syscr']-a['syscr'])/acked:.2f}\twrite KB/msg {(b['write_bytes']-a['write_bytes'])/acked/1024:.1f}\tpcache1TruncateUnsafe {share}%\tp50/p99 {p99[0] if p99 else ''}")

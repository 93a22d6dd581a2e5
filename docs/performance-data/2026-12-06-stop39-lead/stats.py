# Stop 39 (lead): per variant, the server's CPU per message over the runs in a soak-summary.txt (summary.py's output):
# mean, sample standard deviation, and each variant's difference from the baseline variant (default nofts) with a 95 %
# confidence interval (Welch's t, normal-free: t quantiles from a small table). Run: python3 stats.py soak-summary.txt [base]
import sys, re, math, statistics as st
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)-r(\d+)\s.*cpu ms/msg ([0-9.]+)", line)
    if m:
        rows.setdefault(m.group(1), []).append((int(m.group(2)), float(m.group(3))))
base = sys.argv[2] if len(sys.argv) > 2 else "nofts"
T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09}
def t975(df):
    keys = sorted(T975)
    return T975[max(k for k in keys if k <= max(1, int(df)))]
b = [v for _, v in sorted(rows.get(base, []))]
for name, runs in sorted(rows.items()):
    vals = [v for _, v in sorted(runs)]
    mean = st.mean(vals); sd = st.stdev(vals) if len(vals) > 1 else float("nan")
    line = f"{name:6s} n={len(vals)} mean {mean:.3f} ms sd {sd:.3f} runs " + " ".join(f"r{r}:{v:.3f}" for r, v in sorted(runs))
    if name != base and len(vals) > 1 and len(b) > 1:
        mb = st.mean(b); va = sd ** 2 / len(vals); vb = st.variance(b) / len(b)
        se = math.sqrt(va + vb); df = (va + vb) ** 2 / (va ** 2 / (len(vals) - 1) + vb ** 2 / (len(b) - 1))
        d = mean - mb; h = t975(df) * se
        line += f" | vs {base}: {d / mb * 100:+.1f} % (95 % CI {(d - h) / mb * 100:+.1f} to {(d + h) / mb * 100:+.1f} %, Welch df {df:.1f})"
    print(line)
# Paired by round (both variants in the same round, back to back): the mean of the per-round ratios and its 95 % interval
# (Student's t, n-1 degrees of freedom), which takes out the drift between rounds.
bm = dict(rows.get(base, []))
for name, runs in sorted(rows.items()):
    if name == base:
        continue
    ratios = [v / bm[r] - 1 for r, v in sorted(runs) if r in bm]
    if len(ratios) > 1:
        m = st.mean(ratios); h = t975(len(ratios) - 1) * st.stdev(ratios) / math.sqrt(len(ratios))
        print(f"{name:6s} paired with {base} in {len(ratios)} rounds: {m * 100:+.1f} % (95 % CI {(m - h) * 100:+.1f} to {(m + h) * 100:+.1f} %); per round " + " ".join(f"{x * 100:+.1f}" for x in ratios))

#!/usr/bin/env python3
"""summary.py <issue17.sh outdir>: one line per build of the figures issue 17 targets, from the generator's JSON files."""
import glob, json, os, sys
out = sys.argv[1]
rows = {}
def num(v):
    try:
        return float(v)  # the generator writes NaN as the string "NaN"
    except (TypeError, ValueError):
        return None
def summary(path):
    d = json.load(open(path))
    s = [x for x in d["summaries"] if x["Target"] == "parley"]
    return ({k: num(v) for k, v in s[0]["Metrics"].items()} if s else {}), d.get("totalLost", 0)
for scenario in ("login", "freshlogin", "chat"):
    for path in sorted(glob.glob(os.path.join(out, scenario, "*-r*.json"))):
        label = os.path.basename(path).rsplit("-r", 1)[0]
        m, lost = summary(path)
        r = rows.setdefault(label, {"lost": 0})
        r["lost"] += lost
        if scenario == "login":
            r["logins/s"] = m.get("logins_per_s"); r["KB/idle conn"] = m.get("idle_kb_per_conn"); r["KB alloc/login"] = m.get("server_alloc_kb_per_login")
            r["open after idle"] = m.get("open_after_idle")
        elif scenario == "freshlogin":
            r["fresh logins/s"] = m.get("logins_per_s"); r["wrong syncs"] = m.get("wrong_sync")
        else:
            r["1:1 sat msg/s"] = m.get("sat_msgs_per_s"); r["half rate"] = (m.get("half_offered_per_s"))
            r["p99 ms at half"] = m.get("half_p99_ms"); r["p99.9 ms at half"] = m.get("half_p999_ms")
            alloc = m.get("half_server_alloc_bytes_per_msg")
            r["KB alloc/msg at half"] = None if alloc is None else alloc / 1024
cols = ["logins/s", "fresh logins/s", "KB/idle conn", "1:1 sat msg/s", "half rate", "p99 ms at half", "p99.9 ms at half", "KB alloc/login", "KB alloc/msg at half", "open after idle", "wrong syncs", "lost"]
print("| build | " + " | ".join(cols) + " |")
print("|---|" + "---:|" * len(cols))
for label, r in rows.items():
    f = lambda v: "" if v is None or v != v else (f"{v:,.1f}" if isinstance(v, float) and abs(v) < 100 else f"{v:,.0f}")
    print(f"| {label} | " + " | ".join(f(r.get(c)) for c in cols) + " |")

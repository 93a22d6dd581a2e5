import re, sys
# sites2md.py <analyzer output> [n]: the top sites as a markdown table (type, frames shortened)
path = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
lines = open(path).read().split("== by site")[1].split("== by frame")[0].strip().splitlines()[1:]
def short(f):
    f = re.sub(r"`\d", "", f)
    f = f.replace("[]", "@@"); f = re.sub(r"\[[^\[\]]*(\[[^\[\]]*\])*[^\[\]]*\]", "", f).replace("@@", "[]")  # generic args
    f = f.replace("System.Runtime.CompilerServices.", "").replace("System.Threading.Tasks.", "").replace("Parley.", "").replace("Orleans.Runtime.", "Orleans.")
    f = re.sub(r"\+<(\w+)>d__\d+", r".\1", f).replace(".MoveNext", "")
    return f
print("| # | % of sampled bytes | KB per message | type | allocated in (innermost first, down to the first Parley frame) |")
print("|---:|---:|---:|---|---|")
for i, l in enumerate(lines[:n], 1):
    m = re.match(r"\s*([\d.]+)%\s+([\d.]+)\s+(.*)$", l)
    pct, kb, rest = m.groups()
    parts = rest.split(" <= ")
    typ = short(parts[0]); frames = [short(p) for p in parts[1:]]
    frames = [f for f in frames if not f.startswith(("AsyncMethodBuilderCore.Start", "System.Threading.ExecutionContext"))]
    print(f"| {i} | {pct} | {kb} | `{typ}` | {' ← '.join(frames)} |")

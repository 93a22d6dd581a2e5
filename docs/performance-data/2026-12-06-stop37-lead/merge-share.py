# merge-share.py <soak dir>: per run, the search index's background merge steps from the server's last /metrics snapshot
# (parley_storage_sqlite_background_*): steps, their time holding the writer, its share of the run, deferrals by reason.
import sys, glob, os, re
d = sys.argv[1]
for m in sorted(glob.glob(f'{d}/*.m')):
    snaps = sorted(glob.glob(f'{m}/*.txt'))
    snaps = [s for s in snaps if os.path.getsize(s) > 0]
    if not snaps: continue
    text = open(snaps[-1]).read()
    def val(pattern):
        x = re.search(pattern, text, re.M)
        return float(x.group(1)) if x else 0.0
    steps = val(r'^parley_storage_sqlite_background_duration_seconds_count\S* (\S+)')
    held = val(r'^parley_storage_sqlite_background_duration_seconds_sum\S* (\S+)')
    queued = val(r'^parley_storage_sqlite_background_deferred_total\{reason="queued"\} (\S+)')
    budget = val(r'^parley_storage_sqlite_background_deferred_total\{reason="budget"\} (\S+)')
    seconds = int(os.path.basename(snaps[-1])[:-4]) or 1
    print(f"{os.path.basename(m)[:-2]}\tmerge steps {steps:.0f}\theld {held:.2f} s of {seconds} s ({100*held/seconds:.2f} %)\tdeferred queued {queued:.0f} budget {budget:.0f}")

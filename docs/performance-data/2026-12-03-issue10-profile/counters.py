import sys, csv, collections
for path in sys.argv[1:]:
    rows = collections.defaultdict(list)
    for r in csv.reader(open(path)):
        if len(r) < 5 or r[0] == 'Timestamp': continue
        rows[r[2]].append(float(r[4]))
    def avg(k): v = rows.get(k, []); return sum(v)/len(v) if v else float('nan')
    print(path, "| alloc MB/s %.1f | gen0/s %.2f gen1/s %.2f gen2/s %.2f | pause ms/s %.1f | workitems/s %.0f | cpu user %.2f sys %.2f | contention/s %.0f | jit methods/s %.1f" % (
        avg('dotnet.gc.heap.total_allocated (By / 1 sec)')/1e6, avg('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]'),
        avg('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]'), avg('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]'),
        avg('dotnet.gc.pause.time (s / 1 sec)')*1000, avg('dotnet.thread_pool.work_item.count ({work_item} / 1 sec)'),
        avg('dotnet.process.cpu.time (s / 1 sec)[cpu.mode=user]'), avg('dotnet.process.cpu.time (s / 1 sec)[cpu.mode=system]'),
        avg('dotnet.monitor.lock_contentions ({contention} / 1 sec)'), avg('dotnet.jit.compiled_methods ({method} / 1 sec)')))

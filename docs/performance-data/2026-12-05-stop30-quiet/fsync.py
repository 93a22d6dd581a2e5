# fsync.py: the disk's fsync latency on its own (16 KiB pwrite over 4 MiB, then fsync, 25 s; then 16 KiB appends + fsync, 10 s)
import os, time
def run(seconds, append):
    path = '/tmp/fsync-probe.dat'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    buf, lat, i, end = os.urandom(16384), [], 0, time.time() + seconds
    while time.time() < end:
        if append:
            os.write(fd, buf)
            if i % 2000 == 1999: os.ftruncate(fd, 0); os.lseek(fd, 0, 0)
        else:
            os.pwrite(fd, buf, (i % 256) * 16384)
        t = time.perf_counter(); os.fsync(fd); lat.append((time.perf_counter() - t) * 1000); i += 1
    os.close(fd); os.remove(path); lat.sort(); n = len(lat)
    print('append' if append else 'overwrite', 'n', n, 'p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms' % (lat[n // 2], lat[int(n * .99)], lat[int(n * .999)], lat[-1]),
          '>20 ms', sum(1 for x in lat if x > 20))
run(25, False); run(10, True)

"""burst.py <sendtrace>... (stop 44 tail): for each gap >= 20 ms between two frame reads (the middle 80 % of the run), the largest
group commit (sends sharing one durable stamp) completing within 5 ms of its start, against 2,000 random instants."""
import sys, bisect, collections
# for each read gap >= 20 ms: the largest commit (sends sharing one 'durable' stamp) that completed in the 5 ms before the gap
# started or inside it, against the same for random instants
import random
for run in sys.argv[1:]:
    reads=[]; dur=collections.Counter()
    for line in open(run):
        if line.startswith('s '):
            a=line.split()
            reads.append(int(a[3])); dur[int(a[8])]+=1
    reads.sort()
    commits=sorted(dur.items())  # (durable ts, sends)
    ct=[c[0] for c in commits]
    lo,hi=reads[len(reads)//10], reads[-len(reads)//10]
    gaps=[(reads[i],reads[i+1]) for i in range(len(reads)-1) if reads[i+1]-reads[i]>=20e6 and lo<=reads[i]<=hi]
    def biggest(a,b):
        i,j=bisect.bisect_left(ct,a),bisect.bisect_right(ct,b)
        return max((commits[k][1] for k in range(i,j)),default=0)
    g=[biggest(a-5e6,a+5e6) for a,b in gaps]
    random.seed(1)
    rnd=[]
    for _ in range(2000):
        t=random.uniform(lo,hi); rnd.append(biggest(t-5e6,t+5e6))
    def share(xs,n): return 100*sum(1 for x in xs if x>=n)/max(1,len(xs))
    sizes=sorted(c[1] for c in commits if lo<=c[0]<=hi)
    print(f"{run}: {len(gaps)} read gaps; commits in the window {len(sizes)}, sends per commit p50 {sizes[len(sizes)//2]} p90 {sizes[int(len(sizes)*.9)]} max {sizes[-1]}")
    for n in (50,100,200):
        print(f"   a commit of >= {n} sends completing within 5 ms of the gap's start: gaps {share(g,n):.0f} %, random instants {share(rnd,n):.0f} %")

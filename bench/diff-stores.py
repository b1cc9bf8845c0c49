#!/usr/bin/env python3
"""`rewind diff base next --format json` on several stores, interleaved
(issue 17 part 4: the diff of the newest snapshot on a store with a long
history against the same on a store of one snapshot; goal within 1.2x).

    bench/diff-stores.py BINARY:STORE [BINARY:STORE ...] [--runs N]

Each store needs snapshots tagged `base` and `next` (the stores of
`rewind-bench run --history N` do once its history case ran). Prints the
median and fastest wall time of each pair and the processor time of all
its runs; the pairs run in turn, so the machine's load weighs on all.
"""
import subprocess,time,statistics,sys,os
# interleaved: (binary, store) pairs
args=sys.argv[1:]
runs=30
if '--runs' in args:
    i=args.index('--runs'); runs=int(args[i+1]); del args[i:i+2]
pairs=[a.rsplit(':',1) for a in args]
res={tuple(p):[] for p in pairs}; cpu={tuple(p):[] for p in pairs}
for i in range(runs):
    for p in pairs:
        b,s=p
        t=time.perf_counter(); r0=os.times()
        subprocess.run([b,'--store',s,'diff','base','next','--format','json'],stdout=subprocess.DEVNULL,check=True)
        res[tuple(p)].append(time.perf_counter()-t); r1=os.times()
        cpu[tuple(p)].append(r1.children_user+r1.children_system-r0.children_user-r0.children_system)
for p in pairs: print(':'.join(p), 'median wall %.1f ms'%(1000*statistics.median(res[tuple(p)])), 'min %.1f ms'%(1000*min(res[tuple(p)])), 'cpu total %.2f s'%sum(cpu[tuple(p)]))

#!/usr/bin/env python3
"""Snapshot after a 1% change, diff and plan of the newest snapshot on
several stores, interleaved (issue 17 part 4: a store with a long history
against a store of one snapshot; goal within 1.2x).

    bench/history-stores.py --v1 DIR --v2 DIR BINARY:STORE:WORKTREE ... \\
        [--runs N] [--only snapshot,diff,plan] [--scratch DIR]

Each store needs snapshots tagged `base` and `next` (`next` the newest),
and WORKTREE must hold the version-1 tree and be the directory the store
last snapshotted (so its stat and parse caches are warm: see
bench/results/2026-12-01-history.md, session 26, for how they were made).
One run of a pair: the store is copied to SCRATCH (untimed), the files of
the version-2 tree that differ are written into WORKTREE, `rewind
snapshot WORKTREE` is timed on the copy, WORKTREE goes back to version 1;
then `diff base next` and `plan --from next --to base` (JSON) are timed on
the store itself (they write nothing into it but caches). Pairs run in
turn, so the machine's load weighs on all alike. Prints, per pair and
command, the median and fastest wall time, the median processor time
(user + system) and the largest peak RSS.
"""
import os, shutil, statistics, subprocess, sys, time

args = sys.argv[1:]


def opt(name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


runs = int(opt('--runs', '30'))
only = opt('--only', 'snapshot,diff,plan').split(',')
v1, v2 = opt('--v1', None), opt('--v2', None)
scratch = opt('--scratch', '/tmp/history-stores-run')
if 'snapshot' in only and not (v1 and v2):
    sys.exit('--v1 and --v2 are needed to time the snapshot')
pairs = [tuple(a.split(':')) for a in args]


def files(root):
    out = {}
    for d, dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = p
    return out


def sync(src, dst):
    """Makes dst hold src's files, writing only those that differ."""
    have, want = files(dst), files(src)
    for rel in have.keys() - want.keys():
        os.remove(have[rel])
    for rel, p in want.items():
        q = os.path.join(dst, rel)
        with open(p, 'rb') as f:
            data = f.read()
        try:
            with open(q, 'rb') as f:
                if f.read() == data:
                    continue
        except FileNotFoundError:
            os.makedirs(os.path.dirname(q), exist_ok=True)
        with open(q, 'wb') as f:
            f.write(data)


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 2):  # plan: 2 = changes
        sys.exit('failed: %s' % ' '.join(cmd))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss // 1024


res = {}
for i in range(runs):
    for (binary, store, wt) in pairs:
        if 'snapshot' in only:
            shutil.rmtree(scratch, ignore_errors=True)
            subprocess.run(['cp', '-a', store, scratch], check=True)
            sync(v2, wt)
            res.setdefault((binary, store, 'snapshot'), []).append(
                timed([binary, '--store', scratch, 'snapshot', wt, '-q']))
            sync(v1, wt)
        if 'diff' in only:
            res.setdefault((binary, store, 'diff'), []).append(
                timed([binary, '--store', store, 'diff', 'base', 'next', '--format', 'json']))
        if 'plan' in only:
            res.setdefault((binary, store, 'plan'), []).append(
                timed([binary, '--store', store, 'plan', '--from', 'next', '--to', 'base',
                       '--format', 'json']))
shutil.rmtree(scratch, ignore_errors=True)
for (binary, store, what), samples in res.items():
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    print('%-8s %s %s: median wall %.1f ms, min %.1f ms, median cpu %.1f ms, peak rss %d MB (%d runs)' % (
        what, binary, store, 1000 * statistics.median(walls), 1000 * min(walls),
        1000 * statistics.median(cpus), max(s[2] for s in samples), len(samples)))

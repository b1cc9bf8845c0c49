#!/usr/bin/env python3
"""Parse fidelity on public Terraform: graphs every Terraform directory of
every release listed in sources.txt and writes a summary (docs/fidelity.md).

    scripts/fidelity/run.py --mirrors /work/.mirror [--terraform terraform]
        [--rewind target/release/rewind] [--work /tmp/rewind-fidelity]
        [--only NAME] [--jobs 2] [--summary docs/fidelity.md]

--mirrors names a directory of bare git repositories, one per source, found
as OWNER+NAME/repo (the layout of the workplace's fetch tool), OWNER+NAME,
OWNER/NAME.git or OWNER/NAME. Nothing is downloaded: a source without a
mirror is listed as skipped. From each release only the files rewind reads
are taken (git ls-tree and cat-file, so export-ignore attributes and blobs
missing from a partial mirror do not matter), into --work.

Every directory holding .tf or .tf.json files is graphed (`rewind graph DIR
--format json`). A directory rewind rejects must be one Terraform rejects
too. With --terraform (offline, no providers needed): a syntax error in a
.tf or .tfvars file is confirmed when `terraform fmt -` (hclsyntax) rejects
the file too; any other rejection when `terraform get` (which loads the
configuration and installs local modules) or `terraform providers` (which
loads the whole module tree) reports an error that is not about reaching a
registry. Rejections Terraform makes only later (at plan) are listed, with
Terraform's reason, in expected.txt. Exit status 1 when a rejection is
neither confirmed nor expected.
"""

import argparse
import collections
import concurrent.futures
import datetime
import fnmatch
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# the files rewind reads (crates/parse/src/load/files.rs, FileKind::of)
WANTED = re.compile(
    r"(\.tf|\.tf\.json|\.tfvars|\.tfvars\.json|\.tfstate|\.tftpl|\.tpl)$|(^|/)(\.terraform\.lock\.hcl|modules\.json)$"
)
CONFIG = re.compile(r"\.tf(\.json)?$")


def read_sources(path):
    """(repo, [refs], [paths]) for each line of sources.txt."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            repo, refs = parts[0], parts[1].split()
            paths = parts[2].split() if len(parts) > 2 else []
            out.append((repo, refs, paths))
    return out


def read_expected(path):
    """[(repo, ref glob, dir glob, error regex, reason)] of rejections
    Terraform makes too (at plan, where the offline checks cannot see)."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            repo, ref, d, pattern, reason = line.split("\t", 4)
            out.append((repo, ref, d, re.compile(pattern), reason))
    return out


def expected_reason(expected, repo, ref, d, error):
    for r, ref_glob, dir_glob, pattern, reason in expected:
        if r == repo and fnmatch.fnmatchcase(ref, ref_glob) and fnmatch.fnmatchcase(d, dir_glob) and pattern.search(error):
            return reason
    return None


def release_root(work, repo, ref):
    """Where a release's files are extracted."""
    return os.path.join(work, repo.replace("/", "+"), ref)


def find_mirror(mirrors, repo):
    owner, name = repo.split("/")
    for c in (
        os.path.join(mirrors, f"{owner}+{name}", "repo"),
        os.path.join(mirrors, f"{owner}+{name}"),
        os.path.join(mirrors, owner, f"{name}.git"),
        os.path.join(mirrors, owner, name),
    ):
        if os.path.isdir(c) and subprocess.run(
            ["git", "--git-dir", c, "rev-parse", "--git-dir"], capture_output=True
        ).returncode == 0:
            return c
    return None


def git(gitdir, *args, **kw):
    return subprocess.run(["git", "--git-dir", gitdir, *args], capture_output=True, **kw)


def extract(gitdir, ref, paths, dest):
    """Writes the files rewind reads of `ref` under `dest`; returns
    (files written, blobs missing from the mirror) or None if `ref` is
    not in the mirror."""
    done = os.path.join(dest, ".fidelity-extracted")
    if os.path.exists(done):
        with open(done) as f:
            a, b = f.read().split()
            return int(a), int(b)
    if git(gitdir, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}").returncode != 0:
        return None
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    pathspec = [p.split(":", 1)[-1] for p in paths]
    listing = git(gitdir, "ls-tree", "-r", "-z", ref, "--", *pathspec).stdout
    entries = []
    for rec in listing.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, kind, sha = meta.split()
        path = path.decode("utf-8", "surrogateescape")
        if kind != b"blob" or not WANTED.search(path) or "/.git/" in f"/{path}":
            continue
        entries.append((mode.decode(), sha.decode(), path))
    written = missing = 0
    if entries:
        batch = subprocess.run(
            ["git", "--git-dir", gitdir, "cat-file", "--batch"],
            input="".join(f"{sha}\n" for _, sha, _ in entries).encode(),
            capture_output=True,
        ).stdout
        pos = 0
        for mode, sha, path in entries:
            end = batch.index(b"\n", pos)
            header = batch[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] == b"missing":
                missing += 1
                continue
            size = int(header[2])
            data = batch[pos : pos + size]
            pos += size + 1
            target = os.path.join(dest, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if mode == "120000":
                try:
                    os.symlink(data.decode("utf-8", "surrogateescape"), target)
                except OSError:
                    missing += 1
                    continue
            else:
                with open(target, "wb") as f:
                    f.write(data)
            written += 1
    with open(done, "w") as f:
        f.write(f"{written} {missing}")
    return written, missing


def terraform_dirs(root, paths):
    """Directories to graph: each directory holding .tf/.tf.json files
    (outside .terraform/), and for files:DIR paths each file of DIR alone."""
    out = []
    one_file = [p[len("files:") :].rstrip("/") for p in paths if p.startswith("files:")]
    for d, subdirs, files in os.walk(root):
        subdirs[:] = sorted(s for s in subdirs if s not in (".terraform", ".git"))
        rel = os.path.relpath(d, root)
        if any(rel == p for p in one_file):
            for f in sorted(files):
                if CONFIG.search(f):
                    alone = os.path.join(root, ".files", rel, f)
                    os.makedirs(alone, exist_ok=True)
                    shutil.copy(os.path.join(d, f), os.path.join(alone, f))
                    out.append((os.path.join(rel, f), alone))
            continue
        if rel.startswith(".files"):
            continue
        if any(CONFIG.search(f) for f in files):
            out.append((rel, d))
    return out


def graph(rewind, d):
    p = subprocess.run(
        [rewind, "graph", d, "--format", "json", "--color", "never"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
    )
    return p.returncode, p.stderr.decode("utf-8", "replace")


ERROR_AT = re.compile(r"^error: (.+?):(\d+):(\d+): (.*)$", re.M)
WARNING = re.compile(r"^warning: (?:.+?:\d+:\d+: )?(.*)$", re.M)


def terraform_fmt(terraform, path):
    """Terraform's verdict on a .tf file's syntax: None if it accepts it,
    else its first error summary."""
    with open(path, "rb") as f:
        p = subprocess.run(
            [terraform, "fmt", "-no-color", "-"],
            stdin=f,
            capture_output=True,
            env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"},
        )
    if p.returncode == 0:
        return None
    for line in p.stderr.decode("utf-8", "replace").splitlines():
        if line.strip().startswith("Error: "):
            return line.strip()[len("Error: ") :]
    return "rejected"


# Errors of `terraform get` that only say the network is not there.
OFFLINE = (
    "Error accessing remote module registry",
    "Failed to download module",
    "Module not installed",
    "Failed to query available provider packages",
    "Failed to resolve provider packages",
    "Invalid provider registry host",
    "Failed to install provider",
)


def terraform_config_error(terraform, d):
    """The first configuration error `terraform get` then `terraform
    providers` report in directory `d` (their .terraform is removed
    afterwards), or None."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"}
    found = None
    for cmd in (["get", "-no-color"], ["providers", "-no-color"]):
        try:
            p = subprocess.run([terraform, *cmd], cwd=d, capture_output=True, text=True, env=env, timeout=300)
        except subprocess.TimeoutExpired:
            continue
        for line in (p.stdout + p.stderr).splitlines():
            line = line.strip()
            if line.startswith("Error: ") and not line[len("Error: ") :].startswith(OFFLINE):
                found = line[len("Error: ") :]
                break
        if found:
            break
    for leftover in (".terraform", ".terraform.lock.hcl"):
        path = os.path.join(d, leftover)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.remove(path)
    return found


def shape(message):
    """A warning's kind: names and quoted text replaced by placeholders."""
    m = re.sub(r'"[^"]*"', '"…"', message)
    m = re.sub(r"\b(module|var|local|data|output)\.[\w.\-\[\]\"…]+", r"\1.…", m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", required=True)
    ap.add_argument("--rewind", default=os.path.join(ROOT, "target/release/rewind"))
    ap.add_argument("--work", default="/tmp/rewind-fidelity")
    ap.add_argument("--sources", default=os.path.join(HERE, "sources.txt"))
    ap.add_argument("--expected", default=os.path.join(HERE, "expected.txt"))
    ap.add_argument("--summary", default=os.path.join(ROOT, "docs/fidelity.md"))
    ap.add_argument("--terraform")
    ap.add_argument("--only", help="only sources whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    if not os.access(args.rewind, os.X_OK):
        sys.exit(f"no rewind binary at {args.rewind} (cargo build --release -p rewind-cli)")
    rewind = os.path.abspath(args.rewind)
    expected = read_expected(args.expected)
    sources = [s for s in read_sources(args.sources) if not args.only or args.only in s[0]]
    tf_version = None
    if args.terraform:
        v = subprocess.run([args.terraform, "version"], capture_output=True, text=True,
                           env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"})
        tf_version = v.stdout.splitlines()[0] if v.stdout else "terraform"

    rows = []  # (repo, ref, dir, status, detail)
    per_repo = collections.OrderedDict()
    skipped = []
    for repo, refs, paths in sources:
        gitdir = find_mirror(args.mirrors, repo)
        if not gitdir:
            skipped.append(f"{repo}: no mirror under {args.mirrors}")
            continue
        stats = per_repo.setdefault(repo, collections.Counter())
        jobs = []
        for ref in refs:
            dest = release_root(args.work, repo, ref)
            got = extract(gitdir, ref, paths, dest)
            if got is None:
                skipped.append(f"{repo} {ref}: not in the mirror")
                continue
            stats["refs"] += 1
            stats["missing blobs"] += got[1]
            for rel, d in terraform_dirs(dest, paths):
                jobs.append((ref, rel, d))
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda j: (j, graph(rewind, j[2])), jobs))
        for (ref, rel, d), (code, err) in results:
            stats["dirs"] += 1
            if code == 0:
                warnings = WARNING.findall(err)
                if warnings:
                    stats["warned"] += 1
                    rows.append((repo, ref, rel, "warning", warnings))
                else:
                    stats["ok"] += 1
                continue
            stats["failed"] += 1
            m = ERROR_AT.search(err)
            first = m.group(0)[len("error: ") :] if m else (err.strip().splitlines() or ["?"])[0]
            reason = expected_reason(expected, repo, ref, rel, first)
            verdict = None
            if reason:
                verdict = ("expected", reason)
            elif args.terraform:
                path = m.group(1) if m else ""
                path = path if os.path.isabs(path) else os.path.join(d, path)
                tf = None
                if m and path.endswith((".tf", ".tfvars")) and os.path.exists(path):
                    tf = terraform_fmt(args.terraform, path)
                    tf = tf and f"`terraform fmt`: {tf}"
                if not tf:
                    tf = terraform_config_error(args.terraform, d)
                    tf = tf and f"`terraform get` or `providers`: {tf}"
                verdict = ("terraform", tf) if tf else ("UNCONFIRMED", "terraform reports no error")
            else:
                verdict = ("UNCONFIRMED", "not checked")
            first = first.replace(d + "/", "").replace(d, ".")
            first = first.replace(release_root(args.work, repo, ref) + "/", "")
            rows.append((repo, ref, rel, "error", (first, verdict)))
        print(f"{repo}: {dict(stats)}", file=sys.stderr)

    write_summary(args, rows, per_repo, skipped, tf_version)
    bad = [r for r in rows if r[3] == "error" and r[4][1][0] == "UNCONFIRMED"]
    for r in bad:
        print(f"UNCONFIRMED {r[0]} {r[1]} {r[2]}: {r[4][0]}", file=sys.stderr)
    sys.exit(1 if bad else 0)


def write_summary(args, rows, per_repo, skipped, tf_version):
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    total = collections.Counter()
    for s in per_repo.values():
        total.update(s)
    out = []
    out.append("# Parse fidelity on public Terraform\n")
    out.append(
        "Generated by `scripts/fidelity/run.py` (sources and pinned releases in "
        "`scripts/fidelity/sources.txt`, rejections Terraform makes too in "
        "`scripts/fidelity/expected.txt`): every directory holding `.tf` or "
        "`.tf.json` files, in every listed release, graphed with `rewind graph`. "
        "A rejection must be one Terraform makes too: a syntax error is confirmed "
        "by `terraform fmt -` (hclsyntax) rejecting the same file, any other by "
        "`terraform get` or `terraform providers` (offline) reporting a "
        "configuration error in the directory, or it is listed in `expected.txt` "
        "with how Terraform's rejection at plan time was checked. Warnings are "
        "listed by kind so that false ones stand out. How to run it: "
        "`scripts/fidelity/README.md`.\n"
    )
    out.append(
        f"Run of {datetime.date.today().isoformat()}, rewind {head}"
        + (f", {tf_version}" if tf_version else "")
        + ".\n"
    )
    out.append(
        f"**{total['dirs']} directories** of {len(per_repo)} repositories at "
        f"{total['refs']} releases: {total['ok']} graph cleanly, {total['warned']} "
        f"with warnings, {total['failed']} rejected.\n"
    )
    table(
        out,
        ["repository", "releases:", "directories:", "clean:", "with warnings:", "rejected:"],
        [(repo, s["refs"], s["dirs"], s["ok"], s["warned"], s["failed"]) for repo, s in per_repo.items()],
    )
    errors = [r for r in rows if r[3] == "error"]
    out.append(f"## Rejected directories ({len(errors)})\n")
    if not errors:
        out.append("None.\n")
    else:
        said = {"terraform": "rejects too ({})", "expected": "rejects too: {}"}
        table(
            out,
            ["repository", "release", "directory", "rewind's error", "Terraform"],
            [
                (repo, ref, f"`{rel}`", first, said.get(kind, f"**{kind}**: {{}}").format(why))
                for repo, ref, rel, _, (first, (kind, why)) in errors
            ],
        )
    warned = [r for r in rows if r[3] == "warning"]
    kinds = collections.Counter()
    example = {}
    for repo, ref, rel, _, ws in warned:
        for w in ws:
            k = shape(w)
            kinds[k] += 1
            example.setdefault(k, f"{repo} {ref} `{rel}`: {w}")
    out.append(f"## Warnings by kind ({sum(kinds.values())} in {len(warned)} directories)\n")
    if not kinds:
        out.append("None.\n")
    else:
        table(out, ["count:", "kind", "first example"], [(n, k, example[k]) for k, n in kinds.most_common()])
    if skipped:
        out.append("## Skipped\n")
        out.extend(f"* {s}" for s in skipped)
        out.append("")
    os.makedirs(os.path.dirname(args.summary), exist_ok=True)
    with open(args.summary, "w") as f:
        f.write("\n".join(out) + "\n")


def table(out, headers, rows):
    """A Markdown table; a header ending with ':' is a right-aligned column."""
    out.append("| " + " | ".join(h.rstrip(":") for h in headers) + " |")
    out.append("|" + "|".join("---:" if h.endswith(":") else "---" for h in headers) + "|")
    for row in rows:
        out.append("| " + " | ".join(md(c) for c in row) + " |")
    out.append("")


def md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Records what `terraform console` prints for every expression of the
evaluator's oracle cases, so that `cargo test -p rewind-eval` can compare
rewind's evaluator with Terraform without running Terraform.

Usage:
    python3 scripts/record-eval-oracle.py                 # every fixtures/eval/*.cases file
    python3 scripts/record-eval-oracle.py strings.cases   # one file

Input: fixtures/eval/NAME.cases, one expression per line (blank lines and
lines starting with `#` are skipped; a line ending in a backslash continues
on the next). Output: fixtures/eval/NAME.expected, one block per expression:

    >>> EXPRESSION
    what terraform console printed (or `!error: SUMMARY` when it failed)

The console runs in fixtures/eval/context, whose main.tf declares the
locals and variables the cases use and whose files the file functions read.
Needs `terraform` (1.11) on PATH or TERRAFORM=...; runs offline.
"""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVAL = ROOT / "fixtures" / "eval"
CONTEXT = EVAL / "context"
TERRAFORM = os.environ.get("TERRAFORM", "terraform")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def read_cases(path):
    cases, cur = [], ""
    for line in path.read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + "\n"
            continue
        cur += line
        cases.append(cur)
        cur = ""
    return cases


def console(expr):
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE="/dev/null",
               TF_IN_AUTOMATION="1", TF_INPUT="0")
    # the console reads one expression per line: join continuation lines
    p = subprocess.run([TERRAFORM, "console", "-no-color"], input=expr.replace("\n", " ") + "\n",
                       capture_output=True, text=True, cwd=CONTEXT, env=env, timeout=60)
    out = ANSI.sub("", p.stdout).rstrip("\n")
    if p.returncode != 0 or "Error:" in p.stderr:
        err = ANSI.sub("", p.stderr)
        m = re.search(r"Error: (.*)", err)
        return "!error: " + (m.group(1).strip() if m else err.strip().splitlines()[0])
    return out


def main():
    names = sys.argv[1:] or sorted(p.name for p in EVAL.glob("*.cases"))
    for name in names:
        src = EVAL / name
        out = src.with_suffix(".expected")
        blocks = []
        for expr in read_cases(src):
            blocks.append(">>> " + expr.replace("\n", "\n... ") + "\n" + console(expr) + "\n")
        out.write_text("\n".join(blocks))
        print(f"{out.relative_to(ROOT)}: {len(blocks)} expressions")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Record whole `terraform show -json` plans for rewind's terraform-json format.

Each case folder under fixtures/oracle/tfjson (hand-written, see its README)
holds ``current/`` (the deployed release) and ``target/`` (the release to
go back to).  For each, with the real ``terraform`` 1.11, offline
(``terraform_data`` and local modules only; the same steps as the plan
oracles, scripts/oracle_common.py): apply target, apply current, put target
back and ``terraform plan -refresh=false -out=tfplan``; keep the state
(``current.tfstate``), the whole ``terraform show -json tfplan``
(``plan.json``, not trimmed), ``terraform show`` (``plan.txt``) and the
apply graph (``apply.dot``).  Ids and the lineage are normalized as the
other oracles normalize them, so a second run writes the same bytes.

Usage:
  python3 scripts/record-tfjson-oracle.py                 # every case
  python3 scripts/record-tfjson-oracle.py 02-replace      # some cases

stdlib only; needs ``terraform`` 1.11.x (TERRAFORM=path to override).
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_common import normalize, run_case, write_case  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "oracle", "tfjson")


def read_side(d):
    files = {}
    for base, _, names in os.walk(d):
        for n in names:
            p = os.path.join(base, n)
            with open(p) as f:
                files[os.path.relpath(p, d)] = f.read()
    return files


def main():
    names = sys.argv[1:] or sorted(n for n in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, n)))
    for name in names:
        case = os.path.join(ROOT, name)
        target = read_side(os.path.join(case, "target"))
        current = read_side(os.path.join(case, "current"))
        with tempfile.TemporaryDirectory(prefix="rewind-tfjson-") as work:
            raw = run_case(work, target, current)
        norm = normalize(raw)
        meta = {"case": name, "recorded_with": "terraform show -json (whole, not trimmed)"}
        write_case(ROOT, name, target, current, norm, meta)
        plan = norm[1]
        print("%s: %s" % (name, ", ".join(
            "%s %s" % (rc["address"], "/".join(rc["change"]["actions"])) for rc in plan.get("resource_changes", []))))


if __name__ == "__main__":
    main()

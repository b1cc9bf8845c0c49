#!/usr/bin/env python3
"""Record the Terraform *plan* oracle for rewind.

Every case is a directory holding two configurations of built-in
``terraform_data`` resources: ``current/`` (what is deployed now) and
``target/`` (the version the engineer wants to go back to).  For each case the
script, in a scratch directory,

  1. applies ``target`` to an empty state,
  2. replaces the configuration by ``current`` and applies it,
  3. saves the resulting state as ``current.tfstate`` (the state the revert
     plan starts from: it holds the ``dependencies`` and the
     ``create_before_destroy`` flags Terraform recorded),
  4. puts ``target`` back and runs ``terraform plan -refresh=false -out=tfplan``,
  5. saves ``terraform show -json tfplan`` as ``plan.json``, ``terraform show
     -no-color tfplan`` as ``plan.txt`` and ``terraform graph -type=apply
     -plan=tfplan`` as ``apply.dot``,
  6. writes ``case.json`` (description, mutations, observed actions).

Random UUIDs (resource ids, state lineage) and random deposed keys are
replaced by deterministic placeholders, and plan.json's ``timestamp`` is
dropped, so the output depends only on the seed.

Usage:
  python3 scripts/record-plan-oracle.py --seed 42 --out fixtures/oracle/plan --clean
      regenerates the committed fixtures (48 generated cases, the dNN cases of
      Terraform's docs/destroying.md and the hand-written hNN cases; revert
      plans Terraform rejects go to fixtures/oracle/plan-errors)
  python3 scripts/record-plan-oracle.py --seed 7 --count 100 --no-doc-cases --out /tmp/fresh
      records 100 fresh random cases with another seed
  --only NAME [NAME...]   only (re)record the named cases
  --keep-going            record the other cases when one fails
  --clean                 delete case folders this run would not produce
  --no-doc-cases          skip the dNN and hNN cases
See fixtures/oracle/README.md for the layout and the file formats.

stdlib only; needs the ``terraform`` binary (1.11.x; TERRAFORM=path to override).
"""

import argparse
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_common import (  # noqa: E402  (the terraform-running and normalizing half)
    TF, CaseError, TfError, normalize, normalize_error, run_case, summarize, tf_env,
    write_case, write_error_case,
)
GENERATOR_VERSION = 1
DEFAULT_COUNT = 48
MAX_ATTEMPTS = 40

LETTERS = "abcdefghijklmnopqrstuvwxyz"

# --------------------------------------------------------------------------
# Abstract configuration model
#
# A config is {"resources": [res, ...], "moved": [(from, to)], "removed":
# [(name, destroy)]}.  Resource order matters: a resource only references
# resources *before* it in the list, which keeps every graph acyclic.
#
# res = {name, module (None or "m"), count (None or int), for_each (None or
#        [keys]), fields: [[key, value]], triggers: value or None,
#        depends_on: [names], cbd: bool, rtb: [names]}
# value = {"lit": str} | {"raw": hcl-expression} |
#         {"ref": name, "form": output|id|tmpl|json|cond, "sel": one|all}
# --------------------------------------------------------------------------


def new_res(name, module=None):
    return {
        "name": name,
        "module": module,
        "count": None,
        "for_each": None,
        "fields": [],
        "triggers": None,
        "depends_on": [],
        "cbd": False,
        "rtb": [],
    }


def by_name(cfg):
    return {r["name"]: r for r in cfg["resources"]}


def index_of(cfg, name):
    for i, r in enumerate(cfg["resources"]):
        if r["name"] == name:
            return i
    raise KeyError(name)


def refs_of(res):
    """Names a resource refers to (fields, triggers, depends_on, rtb)."""
    out = []
    for _, v in res["fields"]:
        if "ref" in v:
            out.append(v["ref"])
    if res["triggers"] and "ref" in res["triggers"]:
        out.append(res["triggers"]["ref"])
    out.extend(res["depends_on"])
    out.extend(res["rtb"])
    return out


def dependents(cfg, name):
    return [r["name"] for r in cfg["resources"] if name in refs_of(r)]


def is_multi(res):
    return res["count"] is not None or res["for_each"] is not None


# ------------------------------ rendering ---------------------------------


def hcl_str(s):
    return json.dumps(s)


def base_expr(t, from_module):
    if t["module"] == from_module:
        return "terraform_data.%s" % t["name"]
    if from_module is None:
        return "module.%s.%s" % (t["module"], t["name"])
    return "var.%s" % t["name"]


def access(t, base, attr, sel):
    """Expression for attribute `attr` of resource t (all or one instance).
    Returns (expression, is_list)."""
    if t["count"] is not None:
        if sel == "one":
            return "%s[0].%s" % (base, attr), False
        return "%s[*].%s" % (base, attr), True
    if t["for_each"] is not None:
        if sel == "one":
            return '%s["k1"].%s' % (base, attr), False
        return "[for k, v in %s : v.%s]" % (base, attr), True
    return "%s.%s" % (base, attr), False


def render_value(v, res_map, from_module):
    if "lit" in v:
        return hcl_str(v["lit"])
    if "raw" in v:
        return v["raw"]
    t = res_map[v["ref"]]
    base = base_expr(t, from_module)
    form = v["form"]
    sel = v.get("sel", "one")
    if form == "output":
        return access(t, base, "output", sel)[0]
    if form == "id":
        return access(t, base, "id", sel)[0]
    if form == "tmpl":
        e, is_list = access(t, base, "id", sel)
        if is_list:
            return '"${join(",", %s)}-x"' % e
        return '"${%s}-x"' % e
    if form == "json":
        return "jsonencode(%s)" % access(t, base, "output", sel)[0]
    if form == "cond":
        e, is_list = access(t, base, "id", sel)
        if is_list:
            return 'length(%s) > 0 ? join(",", %s) : "none"' % (e, e)
        return '%s != "" ? upper(%s) : "none"' % (e, e)
    raise ValueError(form)


def whole_module_dep_ok(cfg, rname, module):
    """May root resource rname use `depends_on = [module.<module>]`?  Only
    if no resource of the module (transitively) depends on rname."""
    rm = by_name(cfg)
    members = [r["name"] for r in cfg["resources"] if r["module"] == module]
    seen = set()
    stack = list(members)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n == rname:
            return False
        stack.extend(x for x in refs_of(rm[n]) if x in rm)
    return True


def render_resource(r, res_map, cfg):
    m = r["module"]
    lines = ['resource "terraform_data" "%s" {' % r["name"]]
    if r["count"] is not None:
        lines.append("  count = %d" % r["count"])
    if r["for_each"] is not None:
        lines.append("  for_each = toset([%s])" % ", ".join(hcl_str(k) for k in r["for_each"]))
    if r["count"] is not None or r["for_each"] is not None:
        lines.append("")
    lines.append("  input = {")
    for key, v in r["fields"]:
        lines.append("    %s = %s" % (key, render_value(v, res_map, m)))
    lines.append("  }")
    if r["triggers"] is not None:
        lines.append("  triggers_replace = %s" % render_value(r["triggers"], res_map, m))
    deps = []
    for d in r["depends_on"]:
        t = res_map[d]
        if t["module"] == m:
            deps.append("terraform_data.%s" % d)
        elif m is None:
            if whole_module_dep_ok(cfg, r["name"], t["module"]):
                deps.append("module.%s" % t["module"])
        else:
            deps.append("var.%s" % d)
    deps = sorted(set(deps), key=deps.index)
    if deps:
        lines.append("")
        lines.append("  depends_on = [%s]" % ", ".join(deps))
    rtb = []
    for d in r["rtb"]:
        t = res_map[d]
        if t["module"] != m:
            continue
        if t["count"] is not None:
            rtb.append("terraform_data.%s[0]" % d)
        elif t["for_each"] is not None:
            rtb.append('terraform_data.%s["k1"]' % d)
        else:
            rtb.append("terraform_data.%s" % d)
    if r["cbd"] or rtb:
        lines.append("")
        lines.append("  lifecycle {")
        if r["cbd"]:
            lines.append("    create_before_destroy = true")
        if rtb:
            lines.append("    replace_triggered_by = [%s]" % ", ".join(rtb))
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def render(cfg):
    """Abstract config -> {relative path: file text}."""
    res_map = by_name(cfg)
    root, mod = [], []
    # cross-boundary references
    outputs, variables = [], []
    for r in cfg["resources"]:
        targets = [v["ref"] for _, v in r["fields"] if "ref" in v]
        if r["triggers"] and "ref" in r["triggers"]:
            targets.append(r["triggers"]["ref"])
        targets += r["depends_on"]
        for t in targets:
            tr = res_map[t]
            if r["module"] is None and tr["module"] is not None and t not in outputs:
                if t in r["depends_on"] and not any(
                    v.get("ref") == t for _, v in r["fields"]
                ) and not (r["triggers"] and r["triggers"].get("ref") == t):
                    continue  # depends_on only: whole-module dependency
                outputs.append(t)
            if r["module"] is not None and tr["module"] is None and t not in variables:
                variables.append(t)
    for r in cfg["resources"]:
        (root if r["module"] is None else mod).append(render_resource(r, res_map, cfg))
    files = {}
    has_module = any(r["module"] is not None for r in cfg["resources"])
    if has_module:
        lines = ['module "m" {', '  source = "./modules/m"']
        for v in sorted(variables, key=lambda n: index_of(cfg, n)):
            lines.append("  %s = terraform_data.%s" % (v, v))
        lines.append("}")
        root.append("\n".join(lines))
        mtext = []
        for v in sorted(variables, key=lambda n: index_of(cfg, n)):
            mtext.append('variable "%s" {}' % v)
        mtext.extend(mod)
        for o in sorted(outputs, key=lambda n: index_of(cfg, n)):
            mtext.append('output "%s" {\n  value = terraform_data.%s\n}' % (o, o))
        files["modules/m/main.tf"] = "\n\n".join(mtext) + "\n"
    for frm, to in cfg.get("moved", []):
        root.append("moved {\n  from = terraform_data.%s\n  to   = terraform_data.%s\n}" % (frm, to))
    for name, destroy in cfg.get("removed", []):
        root.append(
            "removed {\n  from = terraform_data.%s\n\n  lifecycle {\n    destroy = %s\n  }\n}"
            % (name, "true" if destroy else "false")
        )
    if not root:
        root.append("# no resources in this version")
    files["main.tf"] = "\n\n".join(root) + "\n"
    return files


# ------------------------------ generation --------------------------------

REF_FORMS = ["output", "output", "id", "tmpl", "json", "cond"]
TRIGGER_FORMS = ["id", "output", "tmpl"]


def pick_earlier(rng, i):
    if i == 0:
        return None
    if rng.random() < 0.45:
        return i - 1
    return rng.randrange(i)


def make_ref(rng, name, forms=REF_FORMS):
    return {"ref": name, "form": rng.choice(forms), "sel": rng.choice(["one", "one", "all"])}


def gen_target(rng, n_min=3, n_max=12, module=False):
    n = rng.randint(n_min, n_max)
    cfg = {"resources": [], "moved": [], "removed": []}
    for i in range(n):
        name = LETTERS[i]
        r = new_res(name)
        roll = rng.random()
        if roll < 0.14:
            r["count"] = rng.randint(1, 3)
        elif roll < 0.22:
            r["for_each"] = sorted(["k1"] + rng.sample(["k2", "k3"], rng.randint(0, 2)))
        for k in range(rng.randint(1, 3)):
            j = pick_earlier(rng, i)
            if j is not None and rng.random() < 0.6:
                r["fields"].append(["f%d" % k, make_ref(rng, cfg["resources"][j]["name"])])
            else:
                r["fields"].append(["f%d" % k, {"lit": "%s%d-v1" % (name, k)}])
        if r["count"] is not None and rng.random() < 0.5:
            r["fields"].append(["idx", {"raw": "count.index"}])
        if r["for_each"] is not None and rng.random() < 0.5:
            r["fields"].append(["key", {"raw": "each.key"}])
        if rng.random() < 0.3:
            j = pick_earlier(rng, i)
            if j is not None and rng.random() < 0.4:
                r["triggers"] = make_ref(rng, cfg["resources"][j]["name"], TRIGGER_FORMS)
            else:
                r["triggers"] = {"lit": "%s-t1" % name}
        if i > 0 and rng.random() < 0.2:
            cands = [x["name"] for x in cfg["resources"]]
            r["depends_on"] = sorted(rng.sample(cands, min(len(cands), rng.randint(1, 2))))
        if rng.random() < 0.18:
            r["cbd"] = True
        cfg["resources"].append(r)
    if module:
        members = [r for r in cfg["resources"] if rng.random() < 0.5]
        if len(members) < 2:
            members = cfg["resources"][:2]
        if len(members) == len(cfg["resources"]):
            members = members[:-1]
        for r in members:
            r["module"] = "m"
    return cfg


# ------------------------------ mutations ---------------------------------
# Each mutation edits `cur` (and, for a few kinds, `tgt`) and returns a
# human-readable description, or None when it does not apply.


def m_lit(rng, tgt, cur, name=None):
    cands = [r for r in cur["resources"] if name is None or r["name"] == name]
    if not cands:
        return None
    r = rng.choice(cands)
    lits = [f for f in r["fields"] if "lit" in f[1]]
    if lits:
        f = rng.choice(lits)
        old = f[1]["lit"]
        f[1] = {"lit": old.replace("-v1", "") + "-cur"}
        return "lit %s.input.%s: target %r, current %r" % (r["name"], f[0], old, f[1]["lit"])
    r["fields"].append(["extra", {"lit": "%s-cur" % r["name"]}])
    return "lit %s.input.extra: absent in target, current 'extra'" % r["name"]


def m_trig(rng, tgt, cur, name=None):
    cands = [r for r in cur["resources"] if name is None or r["name"] == name]
    if not cands:
        return None
    r = rng.choice(cands)
    t = r["triggers"]
    if t is None:
        r["triggers"] = {"lit": "%s-cur" % r["name"]}
        return "trig %s.triggers_replace: null in target, %r in current" % (r["name"], r["triggers"]["lit"])
    if "lit" in t:
        r["triggers"] = {"lit": t["lit"].replace("-t1", "") + "-cur"}
        return "trig %s.triggers_replace: %r in target, %r in current" % (r["name"], t["lit"], r["triggers"]["lit"])
    r["triggers"] = {"lit": "%s-cur" % r["name"]}
    return "trig %s.triggers_replace: reference to %s in target, literal in current" % (r["name"], t["ref"])


def m_add(rng, tgt, cur, rewire=False):
    """current gets a resource the target does not have (revert deletes it)."""
    used = {r["name"] for r in cur["resources"]} | {r["name"] for r in tgt["resources"]}
    i = 1
    while "n%d" % i in used:
        i += 1
    name = "n%d" % i
    pos = rng.randint(0, len(cur["resources"]))
    if rewire:
        pos = rng.randint(0, max(0, len(cur["resources"]) - 1))
    module = None
    if pos < len(cur["resources"]):
        module = cur["resources"][pos]["module"]
    r = new_res(name, module)
    for k in range(rng.randint(1, 2)):
        j = pick_earlier(rng, pos)
        if j is not None and rng.random() < 0.7:
            r["fields"].append(["f%d" % k, make_ref(rng, cur["resources"][j]["name"])])
        else:
            r["fields"].append(["f%d" % k, {"lit": "%s%d" % (name, k)}])
    if rng.random() < 0.3:
        r["cbd"] = True
    if rng.random() < 0.2:
        r["count"] = rng.randint(1, 2)
    cur["resources"].insert(pos, r)
    desc = "add %s (only in current%s%s)" % (
        name, ", create_before_destroy" if r["cbd"] else "", ", count=%d" % r["count"] if r["count"] else "")
    if rewire:
        later = cur["resources"][pos + 1:]
        if later:
            d = rng.choice(later)
            ref = make_ref(rng, name)
            if rng.random() < 0.3:
                d["depends_on"].append(name)
                desc += "; current %s depends_on %s" % (d["name"], name)
            else:
                if d["fields"] and rng.random() < 0.5:
                    f = rng.choice(d["fields"])
                    f[1] = ref
                    desc += "; current %s.input.%s references %s" % (d["name"], f[0], name)
                else:
                    d["fields"].append(["via_%s" % name, ref])
                    desc += "; current %s.input.via_%s references %s" % (d["name"], name, name)
    return desc


def drop_refs(cfg, name, note):
    """Replace every reference to `name` in cfg by a literal."""
    changed = []
    for r in cfg["resources"]:
        for f in r["fields"]:
            if f[1].get("ref") == name:
                f[1] = {"lit": "no-%s" % name}
                changed.append("%s.input.%s" % (r["name"], f[0]))
        if r["triggers"] and r["triggers"].get("ref") == name:
            r["triggers"] = {"lit": "no-%s" % name}
            changed.append("%s.triggers_replace" % r["name"])
        if name in r["depends_on"]:
            r["depends_on"].remove(name)
            changed.append("%s.depends_on" % r["name"])
        if name in r["rtb"]:
            r["rtb"].remove(name)
            changed.append("%s.replace_triggered_by" % r["name"])
    if changed:
        return "; in %s the references to it became literals: %s" % (note, ", ".join(changed))
    return ""


def m_remove(rng, tgt, cur, leaf=None):
    """current lacks a resource the target has (revert creates it)."""
    cands = [r["name"] for r in cur["resources"] if any(t["name"] == r["name"] for t in tgt["resources"])]
    if leaf is True:
        cands = [c for c in cands if not dependents(cur, c)]
    elif leaf is False:
        cands = [c for c in cands if dependents(cur, c)]
    if len(cands) == 0 or len(cur["resources"]) <= 1:
        return None
    name = rng.choice(cands)
    cur["resources"] = [r for r in cur["resources"] if r["name"] != name]
    return "remove %s (only in target)" % name + drop_refs(cur, name, "current")


def m_rewire(rng, tgt, cur):
    opts = []
    for i, r in enumerate(cur["resources"]):
        if i == 0:
            continue
        for f in r["fields"]:
            if "raw" not in f[1]:
                opts.append((i, r, f))
    if not opts:
        return None
    i, r, f = rng.choice(opts)
    old = f[1]
    earlier = [x["name"] for x in cur["resources"][:i] if x["name"] != old.get("ref")]
    if "ref" in old and (not earlier or rng.random() < 0.25):
        f[1] = {"lit": "unwired"}
        return "rewire %s.input.%s: target references %s, current a literal" % (r["name"], f[0], old["ref"])
    if not earlier:
        return None
    new = rng.choice(earlier)
    f[1] = make_ref(rng, new)
    if "ref" in old:
        return "rewire %s.input.%s: target references %s, current references %s" % (r["name"], f[0], old["ref"], new)
    return "rewire %s.input.%s: target literal, current references %s" % (r["name"], f[0], new)


def m_cbd(rng, tgt, cur, name=None):
    cands = [r for r in cur["resources"] if name is None or r["name"] == name]
    if not cands:
        return None
    r = rng.choice(cands)
    r["cbd"] = not r["cbd"]
    return "toggle %s create_before_destroy: current %s" % (r["name"], str(r["cbd"]).lower())


def m_dep(rng, tgt, cur):
    withdeps = [r for r in cur["resources"] if r["depends_on"]]
    if withdeps and rng.random() < 0.4:
        r = rng.choice(withdeps)
        d = rng.choice(r["depends_on"])
        r["depends_on"].remove(d)
        return "depends_on: target %s depends_on %s, current does not" % (r["name"], d)
    opts = [(i, r) for i, r in enumerate(cur["resources"]) if i > 0]
    if not opts:
        return None
    i, r = rng.choice(opts)
    cands = [x["name"] for x in cur["resources"][:i] if x["name"] not in r["depends_on"]]
    if not cands:
        return None
    d = rng.choice(cands)
    r["depends_on"].append(d)
    return "depends_on: current %s depends_on %s, target does not" % (r["name"], d)


def m_count(rng, tgt, cur):
    cands = [r for r in cur["resources"] if r["count"] is not None]
    if not cands:
        r = rng.choice(cur["resources"])
        t = by_name(tgt).get(r["name"])
        if t is not None and t["for_each"] is None and r["for_each"] is None:
            # make it counted in both versions first
            t["count"] = rng.randint(1, 3)
            r["count"] = t["count"]
            cands = [r]
        else:
            return None
    r = rng.choice(cands)
    old = r["count"]
    choices = [c for c in range(1, 5) if c != old]
    r["count"] = rng.choice(choices)
    return "count %s: target %d, current %d" % (r["name"], old, r["count"])


def m_for_each(rng, tgt, cur):
    cands = [r for r in cur["resources"] if r["for_each"] is not None]
    if not cands:
        r = rng.choice(cur["resources"])
        t = by_name(tgt).get(r["name"])
        if t is not None and t["count"] is None and r["count"] is None:
            t["for_each"] = ["k1", "k2"]
            r["for_each"] = ["k1", "k2"]
            if not any(f[0] == "key" for f in t["fields"]):
                t["fields"].append(["key", {"raw": "each.key"}])
                r["fields"].append(["key", {"raw": "each.key"}])
            cands = [r]
        else:
            return None
    r = rng.choice(cands)
    old = list(r["for_each"])
    while True:
        new = sorted(["k1"] + rng.sample(["k2", "k3", "k4"], rng.randint(0, 3)))
        if new != old:
            break
    r["for_each"] = new
    return "for_each %s: target %s, current %s" % (r["name"], old, new)


GENERAL = [
    ("lit", m_lit, 3),
    ("trig", m_trig, 3),
    ("add", m_add, 2),
    ("add-rewire", lambda rng, t, c: m_add(rng, t, c, rewire=True), 1),
    ("remove", m_remove, 2),
    ("rewire", m_rewire, 2),
    ("cbd", m_cbd, 1),
    ("dep", m_dep, 1),
    ("count", m_count, 1),
]


def random_mutation(rng, tgt, cur):
    for _ in range(20):
        names = [g[0] for g in GENERAL]
        weights = [g[2] for g in GENERAL]
        kind = rng.choices(names, weights)[0]
        fn = dict((g[0], g[1]) for g in GENERAL)[kind]
        d = fn(rng, tgt, cur)
        if d:
            return d
    return None


# ------------------------------ profiles ----------------------------------
# A profile builds (target, current, [mutation descriptions]) and states a
# predicate the recorded plan must satisfy; failing attempts are re-rolled
# with the same seeded RNG, so the result stays deterministic.


def acts(plan):
    out = {}
    for rc in plan.get("resource_changes", []):
        a = rc["change"]["actions"]
        if a != ["no-op"] or rc.get("previous_address"):
            out[rc["address"]] = rc
    return out


def kinds(plan):
    return {tuple(rc["change"]["actions"]) for rc in acts(plan).values()}


def only(*allowed):
    allowed = {tuple(a) for a in allowed}
    return lambda plan, tgt, cur: bool(kinds(plan)) and kinds(plan) <= allowed


def has(*wanted):
    wanted = [tuple(a) for a in wanted]
    return lambda plan, tgt, cur: all(w in kinds(plan) for w in wanted)


def with_dependents(cfg):
    return [r for r in cfg["resources"] if dependents(cfg, r["name"])]


def p_update(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    muts = [m_lit(rng, tgt, cur) for _ in range(rng.randint(1, 3))]
    return tgt, cur, muts


def p_update_propagate(rng):
    tgt = gen_target(rng, 4)
    cands = [r["name"] for r in with_dependents(tgt)]
    if not cands:
        return None
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_lit(rng, tgt, cur, rng.choice(cands))]


def pred_propagate(plan, tgt, cur):
    # an update of a resource whose own configuration did not change
    cm, tm = by_name(cur), by_name(tgt)
    for rc in acts(plan).values():
        name = rc["address"].split(".")[-1].split("[")[0]
        if rc["change"]["actions"] == ["update"] and name in cm and cm[name] == tm.get(name):
            return True
    return False


def p_create(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    muts = [m_remove(rng, tgt, cur, leaf=True) for _ in range(rng.randint(1, 2))]
    return tgt, cur, muts


def p_create_chain(rng):
    tgt = gen_target(rng, 4)
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_remove(rng, tgt, cur, leaf=False)]


def p_delete(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_add(rng, tgt, cur) for _ in range(rng.randint(1, 3))]


def p_delete_rewired(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_add(rng, tgt, cur, rewire=True)]


def p_replace(rng):
    tgt = gen_target(rng)
    for r in tgt["resources"]:
        r["cbd"] = False
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_trig(rng, tgt, cur) for _ in range(rng.randint(1, 2))]


def p_replace_cbd(rng):
    tgt = gen_target(rng)
    r = rng.choice(tgt["resources"])
    r["cbd"] = True
    cur = copy.deepcopy(tgt)
    muts = ["target and current: %s has create_before_destroy" % r["name"], m_trig(rng, tgt, cur, r["name"])]
    if rng.random() < 0.5:
        muts.append(m_lit(rng, tgt, cur))
    return tgt, cur, muts


def p_cbd_spread(rng):
    tgt = gen_target(rng, 4)
    for r in tgt["resources"]:
        r["cbd"] = False
    cands = [r for r in tgt["resources"] if any("ref" in v for _, v in r["fields"])]
    if not cands:
        return None
    b = rng.choice(cands)
    a = rng.choice([v["ref"] for _, v in b["fields"] if "ref" in v])
    b["cbd"] = True
    cur = copy.deepcopy(tgt)
    muts = ["target: %s (create_before_destroy) references %s (no create_before_destroy)" % (b["name"], a)]
    if rng.random() < 0.35:
        by_name(cur)[b["name"]]["cbd"] = False
        muts.append("current: %s without create_before_destroy (so the state does not force it on %s)" % (b["name"], a))
    muts.append(m_trig(rng, tgt, cur, a))
    if rng.random() < 0.5:
        muts.append(m_trig(rng, tgt, cur, b["name"]))
    return tgt, cur, muts


def pred_cbd_spread(plan, tgt, cur):
    tm = by_name(tgt)
    for rc in acts(plan).values():
        name = rc["address"].split(".")[-1].split("[")[0]
        if rc["change"]["actions"] == ["create", "delete"] and name in tm and not tm[name]["cbd"]:
            return True
    return False


def p_replace_chain(rng):
    tgt = gen_target(rng, 4)
    cands = [r for r in tgt["resources"][1:]]
    d = rng.choice(cands)
    i = index_of(tgt, d["name"])
    a = tgt["resources"][rng.randrange(i)]
    d["triggers"] = {"ref": a["name"], "form": rng.choice(TRIGGER_FORMS), "sel": "one"}
    cur = copy.deepcopy(tgt)
    muts = ["target and current: %s.triggers_replace references %s (%s)" % (d["name"], a["name"], d["triggers"]["form"])]
    if rng.random() < 0.5:
        muts.append(m_trig(rng, tgt, cur, a["name"]))
    else:
        muts.append(m_lit(rng, tgt, cur, a["name"]))
    return tgt, cur, muts


def pred_replace_chain(plan, tgt, cur):
    n = sum(1 for rc in acts(plan).values() if len(rc["change"]["actions"]) == 2)
    return n >= 2


def p_toggle_cbd(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    r = rng.choice(cur["resources"])
    return tgt, cur, [m_cbd(rng, tgt, cur, r["name"]), m_trig(rng, tgt, cur, r["name"])]


def p_rewire(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    muts = [m_rewire(rng, tgt, cur) for _ in range(rng.randint(1, 2))]
    return tgt, cur, muts


def p_depends_on(rng):
    tgt = gen_target(rng, 4)
    cur = copy.deepcopy(tgt)
    muts = [m_dep(rng, tgt, cur) for _ in range(rng.randint(1, 2))]
    extra = rng.choice([m_trig, m_lit, m_remove, m_add])
    muts.append(extra(rng, tgt, cur))
    return tgt, cur, muts


def p_count(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    muts = [m_count(rng, tgt, cur)]
    if rng.random() < 0.5:
        muts.append(random_mutation(rng, tgt, cur))
    return tgt, cur, muts


def pred_instances(plan, tgt, cur):
    return any("[" in a and tuple(rc["change"]["actions"]) in {("create",), ("delete",)} for a, rc in acts(plan).items())


def p_for_each(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    return tgt, cur, [m_for_each(rng, tgt, cur)]


def p_triggered_by(rng):
    tgt = gen_target(rng, 3)
    d = rng.choice(tgt["resources"][1:])
    i = index_of(tgt, d["name"])
    a = tgt["resources"][rng.randrange(i)]
    d["rtb"] = [a["name"]]
    cur = copy.deepcopy(tgt)
    muts = ["target and current: %s has replace_triggered_by = [%s]" % (d["name"], a["name"])]
    muts.append(rng.choice([m_lit, m_trig])(rng, tgt, cur, a["name"]))
    return tgt, cur, muts


def pred_triggered(plan, tgt, cur):
    return any(rc.get("action_reason") == "replace_by_triggers" for rc in acts(plan).values())


def p_mixed(rng):
    tgt = gen_target(rng, 5)
    cur = copy.deepcopy(tgt)
    muts = [random_mutation(rng, tgt, cur) for _ in range(rng.randint(3, 5))]
    return tgt, cur, muts


def pred_mixed(plan, tgt, cur):
    return len(kinds(plan)) >= 3


def p_module(rng):
    tgt = gen_target(rng, 4, 10, module=True)
    cur = copy.deepcopy(tgt)
    muts = ["resources %s live in local module m" % ", ".join(r["name"] for r in tgt["resources"] if r["module"])]
    muts += [random_mutation(rng, tgt, cur) for _ in range(rng.randint(2, 3))]
    return tgt, cur, muts


def pred_module(plan, tgt, cur):
    return any(a.startswith("module.") for a in acts(plan))


def rename_refs(cfg, old, new):
    for r in cfg["resources"]:
        for f in r["fields"]:
            if f[1].get("ref") == old:
                f[1]["ref"] = new
        if r["triggers"] and r["triggers"].get("ref") == old:
            r["triggers"]["ref"] = new
        r["depends_on"] = [new if d == old else d for d in r["depends_on"]]
        r["rtb"] = [new if d == old else d for d in r["rtb"]]


def p_moved(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    singles = [r for r in tgt["resources"] if not is_multi(r)] or tgt["resources"]
    r = rng.choice(singles)
    old = r["name"]
    new = old + "_new"
    r["name"] = new
    rename_refs(tgt, old, new)
    tgt["moved"].append((old, new))
    muts = ["moved: target renames terraform_data.%s to terraform_data.%s with a moved block" % (old, new)]
    if rng.random() < 0.5:
        muts.append(m_lit(rng, tgt, cur, old))
    if rng.random() < 0.5:
        muts.append(random_mutation(rng, tgt, cur))
    return tgt, cur, muts


def pred_moved(plan, tgt, cur):
    return any(rc.get("previous_address") for rc in acts(plan).values())


def p_removed(rng):
    tgt = gen_target(rng)
    cur = copy.deepcopy(tgt)
    r = rng.choice(tgt["resources"])
    name = r["name"]
    destroy = rng.random() < 0.25
    tgt["resources"] = [x for x in tgt["resources"] if x["name"] != name]
    note = drop_refs(tgt, name, "target")
    tgt["removed"].append((name, destroy))
    muts = ["removed: target has no %s and a removed block with destroy = %s%s" % (name, str(destroy).lower(), note)]
    if rng.random() < 0.4:
        muts.append(random_mutation(rng, tgt, cur))
    return tgt, cur, muts


def pred_removed(plan, tgt, cur):
    return any(k in kinds(plan) for k in [("forget",), ("delete",)])


def pred_any(plan, tgt, cur):
    return bool(acts(plan))


PROFILES = {
    "pure-update": (p_update, only(["update"])),
    "update-propagates": (p_update_propagate, pred_propagate),
    "pure-create": (p_create, only(["create"])),
    "create-with-dependents": (p_create_chain, has(["create"])),
    "pure-delete": (p_delete, only(["delete"])),
    "delete-rewired": (p_delete_rewired, has(["delete"], ["update"])),
    "replace": (p_replace, lambda p, t, c: ("delete", "create") in kinds(p) and ("create", "delete") not in kinds(p)),
    "replace-cbd": (p_replace_cbd, has(["create", "delete"])),
    "cbd-spread": (p_cbd_spread, pred_cbd_spread),
    "replace-chain": (p_replace_chain, pred_replace_chain),
    "toggle-cbd": (p_toggle_cbd, lambda p, t, c: bool(kinds(p) & {("delete", "create"), ("create", "delete")})),
    "rewire": (p_rewire, has(["update"])),
    "depends-on": (p_depends_on, pred_any),
    "count": (p_count, pred_instances),
    "for-each": (p_for_each, pred_instances),
    "triggered-by": (p_triggered_by, pred_triggered),
    "mixed": (p_mixed, pred_mixed),
    "module": (p_module, pred_module),
    "moved": (p_moved, pred_moved),
    "removed": (p_removed, pred_removed),
}

# Order in which --count cases cycle through the profiles.  48 with the
# default count: every profile twice, "mixed" 6 times, "module" 4 times.
SCHEDULE = [
    "pure-update", "pure-create", "pure-delete", "replace", "replace-cbd",
    "cbd-spread", "replace-chain", "update-propagates", "create-with-dependents",
    "delete-rewired", "toggle-cbd", "rewire", "depends-on", "count", "for-each",
    "triggered-by", "mixed", "module", "moved", "removed", "mixed", "module",
    "mixed", "replace-cbd",
]


# ------------------------------ doc cases ---------------------------------
# The worked examples of hashicorp/terraform docs/destroying.md.  "B depends
# on A" is expressed as B.input referencing A.id; "replaced" as a changed
# triggers_replace literal.


def R(name, body):
    return 'resource "terraform_data" "%s" {\n%s}\n' % (name, body)


EMPTY = "# no resources in this version\n"


def doc_cases():
    A = lambda trig, cbd=False, inp='"a"': R("a", "  input            = %s\n  triggers_replace = %s\n%s" % (
        inp, hcl_str(trig), "\n  lifecycle {\n    create_before_destroy = true\n  }\n" if cbd else ""))
    B = lambda trig, cbd=False, inp="terraform_data.a.id": R("b", "  input            = %s\n  triggers_replace = %s\n%s" % (
        inp, hcl_str(trig), "\n  lifecycle {\n    create_before_destroy = true\n  }\n" if cbd else ""))
    C = lambda trig, cbd=False, inp="terraform_data.b.id": R("c", "  input            = %s\n  triggers_replace = %s\n%s" % (
        inp, hcl_str(trig), "\n  lifecycle {\n    create_before_destroy = true\n  }\n" if cbd else ""))
    OUT_A, OUT_B = "terraform_data.a.output", "terraform_data.b.output"
    cases = [
        ("d01-simple-create", "Simple Resource Creation: A, B depends on A, C depends on B; none exists yet.",
         ["A create", "B create", "C create"],
         EMPTY, A("t") + "\n" + B("t") + "\n" + C("t")),
        ("d02-simple-update", "Resource Updates: A is created, B (now referencing A) and C (referencing B) are updated.",
         ["A create", "B update", "C update"],
         B("t", inp='"no-a"') + "\n" + C("t", inp=OUT_B),
         A("t") + "\n" + B("t", inp=OUT_A) + "\n" + C("t", inp=OUT_B)),
        ("d03-simple-destroy", "Simple Resource Destruction: A <- B <- C all removed.",
         ["C destroy", "B destroy", "A destroy"],
         A("t") + "\n" + B("t") + "\n" + C("t"), EMPTY),
        ("d04-replace-all", "Resource Replacement: B depends on A, both replaced, no create_before_destroy.",
         ["B destroy", "A destroy", "A create", "B create"],
         A("cur") + "\n" + B("cur"), A("t") + "\n" + B("t")),
        ("d05-replace-dependency", "Only A replaced, B (input = A.id) updated.",
         ["A destroy", "A create", "B update"],
         A("cur") + "\n" + B("t"), A("t") + "\n" + B("t")),
        ("d06-destroy-then-update", "A updated in place while B (which depended on A) is destroyed: A update waits for B destroy.",
         ["B destroy", "A update"],
         A("t", inp='"a-cur"') + "\n" + B("t"), A("t")),
        ("d07-update-former-dependent-then-delete",
         "B stops referencing A and A is deleted. The doc section 'Updating Former Dependents Before Deletion' "
         "(B update, then A destroy) describes a Terraform newer than 1.11.4: Terraform 1.11.4 destroys A first "
         "and B's update waits for it (see apply.dot).",
         ["B update", "A destroy"],
         A("t") + "\n" + B("t"), B("t", inp='"no-a"')),
        ("d08-cbd-replace-all", "Create Before Destroy: A is create_before_destroy, both A and B replaced.",
         ["B destroy", "A create", "B create", "A destroy"],
         A("cur", True) + "\n" + B("cur"), A("t", True) + "\n" + B("t")),
        ("d09-cbd-replace-dependency", "A is create_before_destroy and replaced, B updated.",
         ["A create", "B update", "A destroy"],
         A("cur", True) + "\n" + B("t"), A("t", True) + "\n" + B("t")),
        ("d10-cbd-update-then-destroy", "A (create_before_destroy) is only removed, B stops referencing it and is updated.",
         ["B update", "A destroy"],
         A("t", True) + "\n" + B("t"), B("t", inp='"no-a"')),
        ("d11-forced-cbd-replace-all", "Forced Create Before Destroy: B is create_before_destroy, A is not; both replaced. A is forced CBD.",
         ["A create", "B create", "B destroy", "A destroy"],
         A("cur") + "\n" + B("cur", True), A("t") + "\n" + B("t", True)),
        ("d12-forced-cbd-replace-dependency", "B is create_before_destroy, A is not; only A replaced, B updated. A is forced CBD.",
         ["A create", "B update", "A destroy"],
         A("cur") + "\n" + B("t", True), A("t") + "\n" + B("t", True)),
        ("d13-chain-replace-all", "Three resources A <- B <- C, all replaced, no CBD.",
         ["C destroy", "B destroy", "A destroy", "A create", "B create", "C create"],
         A("cur") + "\n" + B("cur") + "\n" + C("cur"), A("t") + "\n" + B("t") + "\n" + C("t")),
        ("d14-chain-replace-root", "Three resources A <- B <- C, only A replaced: B and C updated through 'known after apply'.",
         ["A destroy", "A create", "B update", "C update"],
         A("cur") + "\n" + B("t", inp=OUT_A) + "\n" + C("t", inp=OUT_B),
         A("t") + "\n" + B("t", inp=OUT_A) + "\n" + C("t", inp=OUT_B)),
        ("d15-chain-cbd-middle", "A <- B <- C, B is create_before_destroy, all replaced: CBD spreads to A (dependency) but not to C (dependent).",
         ["C destroy", "A create", "B create", "C create", "B destroy", "A destroy"],
         A("cur") + "\n" + B("cur", True) + "\n" + C("cur"), A("t") + "\n" + B("t", True) + "\n" + C("t")),
        ("d16-cbd-only-in-state", "A was create_before_destroy in current (so the state says so) but not in target; both replaced.",
         ["B destroy", "A destroy", "A create", "B create"],
         A("cur", True) + "\n" + B("cur"), A("t") + "\n" + B("t")),
    ]
    out = []
    for name, desc, doc_order, cur, tgt in cases:
        out.append({
            "name": name,
            "description": desc,
            "doc_order": doc_order,
            "current": {"main.tf": cur},
            "target": {"main.tf": tgt},
        })
    return out


# ------------------------------ hand cases --------------------------------
# Module, moved and removed situations the random generator does not reach.

MOD_UNIT = """variable "label" {
  type = string
}

resource "terraform_data" "u" {
  input = var.label
}

output "out" {
  value = terraform_data.u.output
}
"""


def hand_cases():
    cases = []
    cases.append(("h01-moved-into-module",
                  "target moves root terraform_data.x into module.m (moved block across a module boundary) and changes its input",
                  {"main.tf": R("x", '  input = "x"\n') + "\n" + R("y", "  input = terraform_data.x.output\n")},
                  {"main.tf": 'module "m" {\n  source = "./modules/m"\n  label  = "x2"\n}\n\nmoved {\n  from = terraform_data.x\n  to   = module.m.terraform_data.u\n}\n\n'
                   + R("y", "  input = module.m.out\n"),
                   "modules/m/main.tf": MOD_UNIT}))
    cases.append(("h02-removed-destroy-true",
                  "target has removed { destroy = true } for x (a plain delete) and forgets z (destroy = false)",
                  {"main.tf": R("x", '  input = "x"\n') + "\n" + R("z", '  input = "z"\n') + "\n" + R("y", "  input = terraform_data.x.id\n")},
                  {"main.tf": R("y", '  input = "no-x"\n')
                   + "\nremoved {\n  from = terraform_data.x\n\n  lifecycle {\n    destroy = true\n  }\n}\n"
                   + "\nremoved {\n  from = terraform_data.z\n\n  lifecycle {\n    destroy = false\n  }\n}\n"}))
    producer = 'module "a" {\n  source = "./modules/unit"\n  label  = %s\n}\n\nmodule "b" {\n  source = "./modules/unit"\n  label  = module.a.out\n}\n\n'
    cases.append(("h03-module-output-feeds-module",
                  "module.a's output feeds module.b's input; reverting module.a's input updates module.b through 'known after apply'; root resource after module b",
                  {"main.tf": producer % '"a-cur"' + R("root", "  input = module.b.out\n  depends_on = [module.a]\n"),
                   "modules/unit/main.tf": MOD_UNIT},
                  {"main.tf": producer % '"a"' + R("root", "  input = module.b.out\n  depends_on = [module.a]\n"),
                   "modules/unit/main.tf": MOD_UNIT}))
    nested_outer = 'variable "label" {\n  type = string\n}\n\nmodule "inner" {\n  source = "./inner"\n  label  = var.label\n}\n\nresource "terraform_data" "o" {\n  input            = module.inner.out\n  triggers_replace = module.inner.out\n}\n\noutput "out" {\n  value = terraform_data.o.id\n}\n'
    cases.append(("h04-nested-module-replace",
                  "nested modules: module.outer.module.inner's input changes, which replaces module.outer.terraform_data.o (triggers_replace) and updates the root consumer",
                  {"main.tf": 'module "outer" {\n  source = "./modules/outer"\n  label  = "cur"\n}\n\n' + R("top", "  input = module.outer.out\n"),
                   "modules/outer/main.tf": nested_outer, "modules/outer/inner/main.tf": MOD_UNIT},
                  {"main.tf": 'module "outer" {\n  source = "./modules/outer"\n  label  = "old"\n}\n\n' + R("top", "  input = module.outer.out\n"),
                   "modules/outer/main.tf": nested_outer, "modules/outer/inner/main.tf": MOD_UNIT}))
    counted = 'module "c" {\n  source = "./modules/unit"\n  count  = %d\n  label  = "c${count.index}"\n}\n\n' + R("sum", "  input = module.c[*].out\n")
    cases.append(("h05-module-count-shrinks",
                  "module count 3 in current, 1 in target: the instances module.c[1] and module.c[2] are deleted, sum is updated",
                  {"main.tf": counted % 3, "modules/unit/main.tf": MOD_UNIT},
                  {"main.tf": counted % 1, "modules/unit/main.tf": MOD_UNIT}))
    cases.append(("h06-moved-count-to-for-each",
                  "target switches x from count to for_each with moved blocks per instance; x[2] has no moved block and is deleted",
                  {"main.tf": R("x", '  count = 3\n  input = "x${count.index}"\n') + "\n" + R("y", "  input = terraform_data.x[0].output\n")},
                  {"main.tf": R("x", '  for_each = toset(["a", "b"])\n  input    = "x-${each.key}"\n')
                   + '\nmoved {\n  from = terraform_data.x[0]\n  to   = terraform_data.x["a"]\n}\n'
                   + '\nmoved {\n  from = terraform_data.x[1]\n  to   = terraform_data.x["b"]\n}\n\n'
                   + R("y", '  input = terraform_data.x["a"].output\n')}))
    cases.append(("h07-replace-triggered-by-attribute",
                  "replace_triggered_by on a resource and on an attribute: version's input is reverted, which replaces both watchers (replace_by_triggers)",
                  {"main.tf": R("version", '  input = "v2"\n') + "\n"
                   + R("whole", '  input = "w"\n\n  lifecycle {\n    replace_triggered_by = [terraform_data.version]\n  }\n') + "\n"
                   + R("attr", '  input = "a"\n\n  lifecycle {\n    replace_triggered_by = [terraform_data.version.output]\n  }\n') + "\n"
                   + R("plain", "  input = terraform_data.version.output\n")},
                  {"main.tf": R("version", '  input = "v1"\n') + "\n"
                   + R("whole", '  input = "w"\n\n  lifecycle {\n    replace_triggered_by = [terraform_data.version]\n  }\n') + "\n"
                   + R("attr", '  input = "a"\n\n  lifecycle {\n    replace_triggered_by = [terraform_data.version.output]\n  }\n') + "\n"
                   + R("plain", "  input = terraform_data.version.output\n")}))
    cases.append(("h08-for-each-key-change",
                  "for_each keys {a, b, c} in current, {a, d} in target: b and c deleted, d created, consumer updated",
                  {"main.tf": R("x", '  for_each = toset(["a", "b", "c"])\n  input    = each.key\n') + "\n" + R("all", "  input = [for k, v in terraform_data.x : v.output]\n")},
                  {"main.tf": R("x", '  for_each = toset(["a", "d"])\n  input    = each.key\n') + "\n" + R("all", "  input = [for k, v in terraform_data.x : v.output]\n")}))
    A = lambda t: R("a", '  input            = "a"\n  triggers_replace = "%s"\n' % t)
    B = lambda cbd: R("b", "  input = terraform_data.a.id\n"
                      + ("\n  lifecycle {\n    create_before_destroy = true\n  }\n" if cbd else ""))
    cases.append(("h09-cbd-dependent-only-in-current",
                  "b (references a) is create_before_destroy in current only, so the state marks a and b CBD; "
                  "a is replaced: the replace is delete-then-create (forcing comes from the target config, not the state)",
                  {"main.tf": A("cur") + "\n" + B(True)}, {"main.tf": A("t") + "\n" + B(False)}))
    cases.append(("h10-cbd-dependent-only-in-target",
                  "b (references a) is create_before_destroy in target only (the state has no CBD flags); "
                  "a is replaced: a is forced create-then-delete by the target config",
                  {"main.tf": A("cur") + "\n" + B(False)}, {"main.tf": A("t") + "\n" + B(True)}))
    spelled = (R("b", "  input = resource.terraform_data.a.output\n") + "\n"
               + R("c", "  input = try(\n    terraform_data.a\n    .output,\n    null\n  )\n") + "\n"
               + R("d", '  input = "d"\n\n  lifecycle {\n    replace_triggered_by = [resource.terraform_data.a]\n  }\n'))
    cases.append(("h11-explicit-resource-prefix",
                  "references spelled resource.terraform_data.a.output and across lines inside try( ); "
                  "reverting a's input updates b and c and replaces d (replace_triggered_by = [resource.terraform_data.a])",
                  {"main.tf": R("a", '  input = "a-cur"\n') + "\n" + spelled},
                  {"main.tf": R("a", '  input = "a"\n') + "\n" + spelled}))
    return [{"name": n, "description": d, "current": c, "target": t} for n, d, c, t in cases]


# The terraform half (running it, normalizing and writing its output) is in
# scripts/oracle_common.py.


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="number of generated cases")
    ap.add_argument("--out", default=None, help="output directory (default fixtures/oracle/plan)")
    ap.add_argument("--no-doc-cases", action="store_true", help="skip the dNN (docs/destroying.md) and hNN (hand-written) cases")
    ap.add_argument("--errors-out", default=None,
                    help="where revert plans that Terraform itself rejects (e.g. cycles) are kept (default: OUT-errors)")
    ap.add_argument("--only", nargs="*", help="only record these case names")
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("--clean", action="store_true", help="remove case directories in --out that this run would not produce")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = os.path.abspath(args.out or os.path.join(root, "fixtures", "oracle", "plan"))
    os.makedirs(out_dir, exist_ok=True)

    ver = json.loads(subprocess.run([TF, "version", "-json"], stdout=subprocess.PIPE, env=tf_env(),
                                    universal_newlines=True).stdout)["terraform_version"]
    if not ver.startswith("1.11."):
        print("warning: fixtures were recorded with Terraform 1.11.4, this is %s" % ver, file=sys.stderr)

    t0 = time.time()
    scratch = tempfile.mkdtemp(prefix="rewind-plan-oracle.")
    produced = []
    produced_errors = []
    failures = []
    err_dir = os.path.abspath(args.errors_out or (out_dir.rstrip("/") + "-errors"))
    try:
        # generated cases
        for i in range(args.count):
            profile = SCHEDULE[i % len(SCHEDULE)]
            name = "%03d-%s" % (i + 1, profile)
            produced.append(name)
            if args.only and name not in args.only:
                continue
            builder, pred = PROFILES[profile]
            rng = random.Random("rewind-oracle/%d/%d/%s" % (args.seed, i + 1, profile))
            done = False
            for attempt in range(1, MAX_ATTEMPTS + 1):
                built = builder(rng)
                if built is None:
                    continue
                tgt, cur, muts = built
                if any(m is None for m in muts):
                    continue
                tfiles, cfiles = render(tgt), render(cur)
                if tfiles == cfiles:
                    continue
                work = os.path.join(scratch, "%s-%d" % (name, attempt))
                base_meta = {
                    "name": name,
                    "kind": "generated",
                    "generator_version": GENERATOR_VERSION,
                    "seed": args.seed,
                    "index": i + 1,
                    "profile": profile,
                    "attempt": attempt,
                    "description": "%s: %s" % (profile, "; ".join(muts)),
                    "mutations": muts,
                    "terraform_version": ver,
                }
                try:
                    raw = run_case(work, tfiles, cfiles)
                except TfError as e:
                    # applying target or current failed (e.g. a cycle in the
                    # forward change): not a revert case, re-roll.
                    print("  %s attempt %d: applying a version failed, re-rolling: %s" % (
                        name, attempt, normalize_error(str(e)).strip()), file=sys.stderr)
                    shutil.rmtree(work, ignore_errors=True)
                    continue
                except CaseError as e:
                    ename = "%s-attempt%02d" % (name, attempt)
                    produced_errors.append(ename)
                    if not args.only or name in args.only:
                        write_error_case(err_dir, ename, tfiles, cfiles, e, dict(base_meta, name=ename))
                    print("  %s attempt %d: the revert plan failed (kept as %s), re-rolling: %s" % (
                        name, attempt, ename, normalize_error(e.message).strip()), file=sys.stderr)
                    shutil.rmtree(work, ignore_errors=True)
                    continue
                norm = normalize(raw)
                if not pred(norm[1], tgt, cur):
                    shutil.rmtree(work, ignore_errors=True)
                    continue
                meta = dict(base_meta)
                meta["target_resources"] = [r["name"] for r in tgt["resources"]]
                meta["current_resources"] = [r["name"] for r in cur["resources"]]
                meta["plan_command"] = "terraform plan -refresh=false -out=tfplan"
                if not args.only or name in args.only:
                    write_case(out_dir, name, tfiles, cfiles, norm, meta)
                shutil.rmtree(work, ignore_errors=True)
                print("%-32s attempt %2d  %s" % (name, attempt, json.dumps(summarize(norm[1]), sort_keys=True)))
                done = True
                break
            if not done:
                failures.append(name)
                print("FAILED %s: no attempt satisfied the profile" % name, file=sys.stderr)
                if not args.keep_going:
                    break
        # doc cases
        if not args.no_doc_cases and not (failures and not args.keep_going):
            for c in doc_cases() + hand_cases():
                name = c["name"]
                produced.append(name)
                if args.only and name not in args.only:
                    continue
                work = os.path.join(scratch, name)
                try:
                    raw = run_case(work, c["target"], c["current"])
                except (TfError, CaseError) as e:
                    failures.append(name)
                    print("FAILED %s:\n%s" % (name, e), file=sys.stderr)
                    if not args.keep_going:
                        break
                    continue
                norm = normalize(raw)
                meta = {"name": name, "kind": "hand", "description": c["description"]}
                if "doc_order" in c:
                    meta = {
                        "name": name,
                        "kind": "doc",
                        "source": "hashicorp/terraform docs/destroying.md",
                        "description": c["description"],
                        "doc_order_of_operations": c["doc_order"],
                    }
                meta.update({
                    "terraform_version": ver,
                    "plan_command": "terraform plan -refresh=false -out=tfplan",
                })
                write_case(out_dir, name, c["target"], c["current"], norm, meta)
                shutil.rmtree(work, ignore_errors=True)
                print("%-32s %s" % (name, json.dumps(summarize(norm[1]), sort_keys=True)))
        if args.clean and not args.only:
            for d, keep in ((out_dir, produced), (err_dir, produced_errors)):
                if not os.path.isdir(d):
                    continue
                for entry in sorted(os.listdir(d)):
                    if os.path.isdir(os.path.join(d, entry)) and entry not in keep:
                        shutil.rmtree(os.path.join(d, entry))
                        print("removed stale %s" % os.path.join(d, entry))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("recorded into %s in %.1fs%s" % (out_dir, time.time() - t0,
                                            "; FAILED: %s" % ", ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

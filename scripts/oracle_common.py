"""Terraform-running, normalization and case-writing code shared by the plan
oracle recorders (scripts/record-plan-oracle.py, scripts/record-plan-oracle2.py).

Everything here runs ``terraform`` offline (no CLI config, built-in
``terraform_data`` only), in a scratch directory, and writes the case layout
described in fixtures/oracle/README.md.  stdlib only.
"""

import json
import os
import re
import shutil
import subprocess

TF = os.environ.get("TERRAFORM", "terraform")

# ------------------------------ terraform ---------------------------------

UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
DEPOSED_RE = re.compile(r"deposed ([0-9a-f]{8})\b")


class TfError(Exception):
    pass


def tf_env():
    env = dict(os.environ)
    env.update({
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "TF_CLI_ARGS_init": "-input=false",
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": "/dev/null",
    })
    for k in ["TF_LOG", "TF_PLUGIN_CACHE_DIR", "TF_CLI_ARGS", "TF_CLI_ARGS_plan", "TF_CLI_ARGS_apply"]:
        env.pop(k, None)
    return env


def tf(work, *args):
    p = subprocess.run([TF] + list(args), cwd=work, env=tf_env(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise TfError("terraform %s failed in %s:\n%s%s" % (" ".join(args), work, p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def put_config(work, files):
    for entry in os.listdir(work):
        path = os.path.join(work, entry)
        if entry.endswith(".tf") or entry == "modules":
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    for rel, text in files.items():
        path = os.path.join(work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def sort_edges(text):
    lines = text.split("\n")
    out, run = [], []
    for line in lines:
        if " -> " in line:
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    out.extend(sorted(run))
    return "\n".join(out)


class CaseError(Exception):
    """Terraform failed after `current` was applied: planning (or graphing)
    the revert is what failed.  Carries what is needed to keep the case."""

    def __init__(self, stage, message, state):
        Exception.__init__(self, message)
        self.stage = stage
        self.message = message
        self.state = state


def run_case(work, target_files, current_files, first_files=None):
    """Returns dict of raw outputs (not yet normalized).  Raises TfError
    when applying target or current fails, CaseError when the revert plan
    (or its apply graph) fails.  The history is: apply `first_files`
    (default: the target) to an empty state, then apply current."""
    os.makedirs(work, exist_ok=True)
    put_config(work, target_files if first_files is None else first_files)
    tf(work, "init", "-backend=false")
    tf(work, "apply", "-auto-approve", "-input=false", "-no-color")
    put_config(work, current_files)
    tf(work, "init", "-backend=false")
    tf(work, "apply", "-auto-approve", "-input=false", "-no-color")
    with open(os.path.join(work, "terraform.tfstate")) as f:
        state = f.read()
    put_config(work, target_files)
    # a target Terraform refuses already at init (count with for_each) is
    # a refused plan too
    stage = "init"
    try:
        tf(work, "init", "-backend=false", "-no-color")
        stage = "plan"
        tf(work, "plan", "-refresh=false", "-input=false", "-no-color", "-out=tfplan")
        plan_json = tf(work, "show", "-json", "tfplan")
        plan_txt = tf(work, "show", "-no-color", "tfplan")
        stage = "graph"
        apply_dot = tf(work, "graph", "-type=apply", "-plan=tfplan")
    except TfError as e:
        raise CaseError(stage, str(e), state)
    return {"state": state, "plan_json": plan_json, "plan_txt": plan_txt, "apply_dot": apply_dot}


CYCLE_RE = re.compile(r"Error: Cycle: (.*)")


def normalize_error(message):
    """Keep the `Error:` lines; sort the node list of a cycle error (Terraform
    prints it in map order)."""
    out = []
    message = DEPOSED_RE.sub("deposed 00000000", message)  # random per run
    for line in message.split("\n"):
        m = CYCLE_RE.match(line.strip())
        if m:
            nodes = sorted(n.strip() for n in m.group(1).split(", "))
            out.append("Error: Cycle: " + ", ".join(nodes))
        elif line.startswith("Error:"):
            out.append(line.rstrip())
    return "\n".join(out) + "\n"


def write_sides(out_dir, name, target_files, current_files):
    """A fresh case folder with its current/ and target/ configurations."""
    d = os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    for side, files in (("current", current_files), ("target", target_files)):
        for rel, text in files.items():
            p = os.path.join(d, side, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
    return d


def write_error_case(err_dir, name, target_files, current_files, err, meta):
    d = write_sides(err_dir, name, target_files, current_files)
    state_text = normalize({"state": err.state, "plan_json": "{}", "plan_txt": "", "apply_dot": ""})[0]
    with open(os.path.join(d, "current.tfstate"), "w") as f:
        f.write(state_text)
    with open(os.path.join(d, "error.txt"), "w") as f:
        f.write(normalize_error(err.message))
    meta = dict(meta)
    meta["failed_step"] = {
        "init": "terraform init -backend=false -no-color",
        "plan": "terraform plan -refresh=false -out=tfplan",
        "graph": "terraform graph -type=apply -plan=tfplan",
    }[err.stage]
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


# Terraform's numbers are exact decimals, written with every digit
# (1/3 with 155 of them, 1e-400 as 0.000...1): Python's floats would
# round them. Decimal numbers are read as marked strings and written back
# as the text they were.
_NUM = "\x00num:"
_NUM_RE = re.compile(r'"\\u0000num:([^"]*)"')


def loads_exact(text):
    return json.loads(text, parse_float=lambda s: _NUM + s)


def dumps_exact(value, **kw):
    return _NUM_RE.sub(lambda m: m.group(1), json.dumps(value, **kw))


def normalize(raw):
    state = loads_exact(raw["state"])
    # The serial counts intermediate state writes during the two applies,
    # which depends on timing: pin it.
    if "serial" in state:
        state["serial"] = 2
    mapping = {}
    if state.get("lineage"):
        mapping[state["lineage"]] = "00000000-0000-0000-0000-000000000000"

    def sub_uuid(m):
        # upper(id) in a config yields upper-case copies: one placeholder,
        # in the same case. The placeholders hold letters, so that upper()
        # and lower() of an id change it as they change a real one (with
        # digits only, `upper(id) != id` was false in the recorded state
        # and true in Terraform's plan)
        u = m.group(0).lower()
        if u not in mapping:
            mapping[u] = "0000000a-0000-4000-8000-%012d" % len(mapping)
        return mapping[u] if m.group(0) == u else mapping[u].upper()

    state_text = UUID_RE.sub(sub_uuid, dumps_exact(state, indent=2)) + "\n"
    plan = loads_exact(raw["plan_json"])
    plan.pop("timestamp", None)
    # Terraform emits these two lists in map-iteration order: sort them.
    if "relevant_attributes" in plan:
        plan["relevant_attributes"].sort(key=lambda x: json.dumps(x, sort_keys=True))
    for rc in plan.get("resource_changes", []):
        if "replace_paths" in rc["change"]:
            rc["change"]["replace_paths"].sort(key=lambda x: json.dumps(x))
    plan_text = UUID_RE.sub(sub_uuid, dumps_exact(plan, indent=4)) + "\n"
    plan_txt = UUID_RE.sub(sub_uuid, raw["plan_txt"])
    deposed = {}

    def sub_deposed(m):
        k = m.group(1)
        if k not in deposed:
            deposed[k] = "%08d" % (len(deposed) + 1)
        return "deposed " + deposed[k]

    apply_dot = sort_edges(DEPOSED_RE.sub(sub_deposed, raw["apply_dot"]))
    return state_text, loads_exact(plan_text), plan_text, plan_txt, apply_dot


# What the Rust tests read of `terraform show -json`: the rest (prior_state,
# which is current.tfstate again, planned_values, configuration,
# relevant_attributes, the before/after values) is left out by the recorders
# that pass slim=True, to keep the fixtures small.
SLIM_CHANGE_KEYS = ("address", "module_address", "mode", "type", "name", "index", "deposed",
                    "previous_address", "action_reason", "change")


def slim_plan(plan):
    out = {k: plan[k] for k in ("format_version", "terraform_version", "errored") if k in plan}
    out["resource_changes"] = []
    for rc in plan.get("resource_changes", []):
        rc = {k: rc[k] for k in SLIM_CHANGE_KEYS if k in rc}
        rc["change"] = {k: rc["change"][k] for k in ("actions", "replace_paths", "importing") if k in rc["change"]}
        out["resource_changes"].append(rc)
    return out


def write_case(out_dir, name, target_files, current_files, norm, meta, slim=False):
    state_text, plan, plan_text, plan_txt, apply_dot = norm
    if slim:
        plan_text = dumps_exact(slim_plan(plan), indent=1) + "\n"
    d = write_sides(out_dir, name, target_files, current_files)
    for fname, text in (("current.tfstate", state_text), ("plan.json", plan_text),
                        ("plan.txt", plan_txt), ("apply.dot", apply_dot)):
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
    meta = dict(meta)
    meta["observed_actions"] = {
        rc["address"]: {k: v for k, v in (
            ("actions", rc["change"]["actions"]),
            ("action_reason", rc.get("action_reason")),
            ("previous_address", rc.get("previous_address")),
        ) if v is not None}
        for rc in plan.get("resource_changes", [])
    }
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def summarize(plan):
    ks = {}
    for rc in plan.get("resource_changes", []):
        k = "/".join(rc["change"]["actions"])
        ks[k] = ks.get(k, 0) + 1
    return ks

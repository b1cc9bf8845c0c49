"""Read the registry documentation of a provider's resources
(website/docs/r/*.html.markdown or docs/resources/*.md): the arguments of
each resource, with nested block paths, and which of them the text says
force a new resource ("(Forces new resource)", "Changing this forces a new
... to be created")."""

import re

FORCE_NEW = re.compile(
    r"forces? (?:a |the )?new\b|forces? (?:a |the )?(?:re-?creation|replacement)|"
    r"requires? (?:a |the )?(?:replacement|re-?creation)|"
    r"will (?:cause|trigger|force) (?:a |the )?(?:re-?creation|replacement|new resource)|"
    r"changing (?:this|it|the value)[^.]{0,60}(?:re-?creates?|replaces?) the resource",
    re.I,
)
CONDITION = re.compile(r"\b(?:if|when|unless|only)\b", re.I)
BULLET = re.compile(r"^\s{0,6}[*-]\s+`([A-Za-z0-9_.]+)`\s*(?:[-–:]\s*)?(.*)$")
BLOCK_INTRO = re.compile(
    r"^\s*(?:The|Each|This|An?|Every|Within)?\s*(?:optional\s+|nested\s+|top-level\s+)?`([A-Za-z0-9_.]+)`\s+"
    r"(?:\w+\s+){0,3}?(?:block|blocks|object|objects|configuration|argument|attribute|map)?\s*"
    r"(?:supports|contains|has|accepts|takes|must|can|is|exports|allows)\b",
    re.I,
)
HEADING = re.compile(r"^(#{2,6})\s+(.*?)\s*#*\s*$")
BACKTICK = re.compile(r"`([A-Za-z0-9_.]+)`")


def resource_docs(tree, prefix):
    """Map resource type -> {path: (force_new, conditional_note)} and the
    set of documented argument paths, from the provider's docs."""
    out = {}
    for f in tree.files:
        m = re.match(r"^(?:website/docs/r|docs/resources)/([A-Za-z0-9_]+)\.(?:html\.markdown|html\.md|markdown|md)$", f)
        if not m:
            continue
        text = tree.read(f)
        rtype = _type_name(text, m.group(1), prefix)
        if rtype is None or rtype in out:
            continue
        out[rtype] = parse_arguments(text)
    return out


def _type_name(text, stem, prefix):
    m = re.search(r"^#\s+(?:Resource:\s*)?`?([a-z0-9_]+)`?\s*$", text, re.M)
    if m and m.group(1).startswith(prefix + "_"):
        return m.group(1)
    m = re.search(r'^page_title:.*?\b(' + re.escape(prefix) + r'_[a-z0-9_]+)', text, re.M)
    if m:
        return m.group(1)
    stem = stem.lower()
    if stem.startswith(prefix + "_"):
        return stem
    return f"{prefix}_{stem}"


def parse_arguments(text):
    lines = text.split("\n")
    args = {}
    parent = {}
    context = None
    in_args = False
    in_code = False
    i = 0
    n = len(lines)

    def path_of(name):
        parts = [name]
        seen = {name}
        p = parent.get(name)
        while p is not None and p not in seen:
            parts.append(p)
            seen.add(p)
            p = parent.get(p)
        return ".".join(reversed(parts))

    while i < n:
        line = lines[i]
        if line.strip().startswith("```"):
            in_code = not in_code
            i += 1
            continue
        if in_code:
            i += 1
            continue
        h = HEADING.match(line)
        if h:
            level, title = len(h.group(1)), h.group(2)
            low = title.lower()
            if level == 2:
                if re.search(r"argument", low):
                    in_args, context = True, None
                elif re.search(r"attribute|import|timeouts|example|notes?\b|^see", low):
                    in_args = False
                i += 1
                continue
            if in_args:
                if re.search(r"^(?:timeouts?|attributes? reference|import)\b", low):
                    in_args = False
                    i += 1
                    continue
                bt = BACKTICK.findall(title)
                word = title.split()[0].strip("`") if title.split() else ""
                name = bt[-1] if bt else (word if re.fullmatch(r"[a-z0-9_]+", word) and "_" in word or word in parent else None)
                if name:
                    context = name.split(".")[-1]
                    if "." in name and context not in parent:
                        parent[context] = name.split(".")[-2]
                elif level >= 3 and re.fullmatch(r"(?:optional|required)?\s*arguments?", low):
                    pass
            i += 1
            continue
        if not in_args:
            i += 1
            continue
        b = BULLET.match(line)
        if b:
            name, desc = b.group(1), b.group(2)
            j = i + 1
            while j < n and lines[j].strip() and not BULLET.match(lines[j]) and not HEADING.match(lines[j]) and not lines[j].strip().startswith("```"):
                desc += " " + lines[j].strip()
                j += 1
            leaf = name.split(".")[-1]
            if context is not None and leaf not in parent and leaf != context:
                parent[leaf] = context
            path = path_of(leaf) if context is not None else leaf
            if context is None:
                parent.pop(leaf, None)
                path = leaf
            fn = FORCE_NEW.search(desc)
            if fn:
                # the sentence that says it
                start = desc.rfind(".", 0, fn.start()) + 1
                end = desc.find(".", fn.end())
                sentence = desc[start : end if end >= 0 else len(desc)]
                cond = CONDITION.search(sentence) is not None
                args[path] = (not cond, sentence.strip() if cond else None)
            else:
                args.setdefault(path, (False, None))
            i = j
            continue
        bi = BLOCK_INTRO.match(line)
        if bi and re.search(r"support|following|contain|accept|argument", line, re.I):
            context = bi.group(1).split(".")[-1]
            if "." in bi.group(1) and context not in parent:
                parent[context] = bi.group(1).split(".")[-2]
        i += 1
    return args

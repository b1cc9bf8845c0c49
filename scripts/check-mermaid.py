#!/usr/bin/env python3
"""Parse and render Mermaid charts (e.g. `rewind graph REF --format mermaid > g.mmd`) with the mermaid npm package in headless
Chromium (default limits: maxEdges 500, maxTextSize 50,000). Prints ok or
the error for each file; exits 1 if any failed.

Needs chromium and the mermaid npm package:
  (cd /tmp/mmd && npm install mermaid@11)   # or set MERMAID_JS to its dist/mermaid.min.js
  scripts/check-mermaid.py g.mmd ...
"""
import json, os, subprocess, sys, tempfile, html as H
MERMAID = os.environ.get("MERMAID_JS", "/tmp/mmd/node_modules/mermaid/dist/mermaid.min.js")
bad = 0
for path in sys.argv[1:]:
    text = open(path).read()
    page = f"""<!DOCTYPE html><html><body><div id="out"></div>
<script src="file://{MERMAID}"></script>
<script>
const text = {json.dumps(text)};
mermaid.initialize({{startOnLoad: false}});
(async () => {{
  try {{ await mermaid.parse(text); const r = await mermaid.render('g', text);
        document.getElementById('out').setAttribute('data-result', 'ok ' + r.svg.length); }}
  catch (e) {{ document.getElementById('out').setAttribute('data-result', 'error: ' + (e.message || e)); }}
}})();
</script></body></html>"""
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "p.html")
        open(f, "w").write(page)
        out = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={d}/prof",
            "--allow-file-access-from-files", "--virtual-time-budget=30000", "--dump-dom", "file://" + f],
            capture_output=True, text=True, timeout=300)
    import re
    m = re.search(r'data-result="([^"]*)"', out.stdout)
    res = H.unescape(m.group(1)) if m else "no result (timeout?)"
    print(f"{path}: {res[:300]}")
    if not res.startswith("ok"):
        bad += 1
sys.exit(1 if bad else 0)

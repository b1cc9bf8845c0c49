// Parses every chart of `window.CHARTS` (an array of {name, text, render})
// with the real mermaid, in the page, and renders those marked `render`
// (rendering also applies maxTextSize: a longer chart renders as an error
// message); writes one result per chart into <pre id="results"> as JSON:
// {name, ok, error, svg_bytes}, with <, >, & and no-break spaces as \u
// escapes (so the DOM Chromium dumps holds the JSON as it is).
// Loaded by tests/e2e/render.rs in headless Chromium after mermaid.min.js.
(async () => {
  const out = document.getElementById("results");
  const results = [];
  if (typeof mermaid === "undefined") {
    out.textContent = JSON.stringify({ fatal: "mermaid.min.js did not load" });
    return;
  }
  // the defaults GitHub and mermaid.live use: maxEdges 500, maxTextSize 50,000
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  const config = mermaid.mermaidAPI.getConfig();
  let i = 0;
  for (const chart of window.CHARTS) {
    const r = { name: chart.name, ok: false, error: null, svg_bytes: 0 };
    try {
      await mermaid.parse(chart.text);
      if (chart.render) {
        const { svg } = await mermaid.render("chart" + i, chart.text);
        r.svg_bytes = svg.length;
        if (svg.includes("Maximum text size in diagram exceeded")) {
          r.error = "render: Maximum text size in diagram exceeded";
        } else if (svg.includes("Syntax error in text")) {
          r.error = "render: Syntax error in text";
        } else {
          r.ok = true;
        }
      } else {
        r.ok = true;
      }
    } catch (e) {
      r.error = String(e && e.message ? e.message : e);
    }
    results.push(r);
    i += 1;
  }
  out.textContent = JSON.stringify({
    maxEdges: config.maxEdges,
    maxTextSize: config.maxTextSize,
    results,
  }).replace(/[<>&\u00a0]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
})();

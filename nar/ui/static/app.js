// nar's page: search, graph view, embedding map, dataset. Talks only to the server that served it.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { result: null, match: null, graph: null, map: null, dataset: null };
const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"];
const PLOT_CFG = { displaylogo: false, responsive: true, scrollZoom: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"] };

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function human(n) {
  if (!n) return "–";
  const u = ["", "K", "M", "G", "T", "P"]; let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)) + u[i];
}
async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  const data = await r.json();
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
  return data;
}
function setStatus(text, cls) { const s = $("#status"); s.textContent = text; s.className = "status " + (cls || ""); }

// -- tabs ------------------------------------------------------------------------------------------
function showTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === "tab-" + name));
  if (name === "map") loadMap();
  if (name === "dataset") loadDataset();
  if (name === "graph" && state.graph) drawGraphs();
  window.dispatchEvent(new Event("resize"));
}
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));

// -- search ----------------------------------------------------------------------------------------
async function runJob(start, label) {
  $("#search-btn").disabled = true;
  setStatus(label + " …", "running");
  try {
    const { job } = await start();
    for (;;) {
      const j = await api("/api/jobs/" + job);
      if (j.state === "running") {
        const stage = j.stage.replace(/\s*(\.\.\.|…)\s*$/, "");
        setStatus(`${stage.includes(label) ? "" : label + ": "}${stage} … ${j.seconds.toFixed(0)} s`, "running");
        await new Promise((r) => setTimeout(r, 300));
        continue;
      }
      if (j.state === "failed") { setStatus(`${label} failed: ${j.error}`, "failed"); return; }
      showResult(j.result);
      return;
    }
  } catch (e) {
    setStatus(`${label} failed: ${e.message}`, "failed");
  } finally {
    $("#search-btn").disabled = false;
  }
}
function search(query) {
  $("#query").value = query;
  const k = parseInt($("#k").value, 10) || 10;
  return runJob(() => api("/api/search", { query, k }), query);
}
$("#search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("#query").value.trim();
  if (q) search(q);
});
$("#config-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const text = await file.text();
  const k = parseInt($("#k").value, 10) || 10;
  ev.target.value = "";
  runJob(() => api("/api/search-config", { name: file.name, text, k }), file.name);
});

function showResult(res) {
  state.result = res; state.match = null; state.graph = null;
  const q = res.query;
  const how = res.traced ? (q.in_dataset ? "built and traced now; its graph is in the dataset" : "built and traced now")
    : "in the dataset";
  setStatus(`${res.hits.length} matches among ${res.database} architectures in ${res.seconds.toFixed(2)} s (${how})`);
  $("#empty").classList.add("hidden");
  const card = $("#query-card");
  card.classList.remove("hidden");
  const twins = res.twins_total ? ` · ${res.twins_total} model(s) with this very graph` : "";
  card.innerHTML = `<h2>${esc(q.title)}</h2><div class="muted">${esc(q.family)} · ${esc(q.task)} · ${q.num_nodes} operators · `
    + `${human(q.num_params)} parameters · ${human(q.flops)} FLOPs · arch_id <code>${esc(q.arch_id.slice(0, 16))}</code>${twins}</div>`;
  const tbody = $("#results tbody");
  tbody.innerHTML = "";
  for (const h of res.hits) {
    const tr = document.createElement("tr");
    tr.className = "hit"; tr.dataset.arch = h.arch_id;
    const width = Math.max(0, Math.min(1, h.score)) * 60;
    tr.innerHTML = `<td>${h.rank}</td><td><span class="score">${h.score.toFixed(3)}</span><span class="bar" style="width:${width}px"></span></td>`
      + `<td class="model">${esc(h.model_id)}${h.twin ? '<span class="twin" title="same arch_id as the query">identical graph</span>' : ""}`
      + `${h.also.length ? `<span class="also" title="${esc(h.also.join(", "))}">+${h.also.length} same graph</span>` : ""}</td>`
      + `<td>${esc(h.family)}</td><td>${esc(h.task)}</td><td class="num">${human(h.num_params)}</td><td class="num">${human(h.flops)}</td>`
      + `<td><button class="explain-btn">why?</button></td><td><button class="graph-btn">graph</button></td>`;
    tr.querySelector(".explain-btn").addEventListener("click", () => toggleExplain(tr, h));
    tr.querySelector(".graph-btn").addEventListener("click", () => openGraph(h));
    tbody.appendChild(tr);
  }
  $("#results").classList.remove("hidden");
  if (state.map) drawMap();
}

async function toggleExplain(tr, hit) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("explanation")) { next.remove(); return; }
  const row = document.createElement("tr");
  row.className = "explanation";
  row.innerHTML = `<td colspan="9" class="muted">explaining …</td>`;
  tr.after(row);
  try {
    const ex = await api(`/api/explain?query=${encodeURIComponent(state.result.query.arch_id)}&match=${encodeURIComponent(hit.arch_id)}`);
    const motifs = ex.shared_motifs.map((m) => `<tr><td>${esc(m.name)}</td><td class="num">${m.size} ops</td>`
      + `<td class="num">×${m.query}</td><td class="num">×${m.match}</td></tr>`).join("") || '<tr><td class="muted">none</td></tr>';
    const ops = ex.op_differences.map((d) => `<tr><td>${esc(d.op)}</td><td class="num">${d.query}</td><td class="num">${d.match}</td></tr>`).join("")
      || '<tr><td class="muted">same op counts</td></tr>';
    const s = ex.stats;
    const side = [["blocks", [ex.query_blocks.text || "–", ex.match_blocks.text || "–"], String], ["operators", s.nodes, String],
      ["parameters", s.parameters, human], ["FLOPs", s.flops, human], ["depth (weight ops)", s.depth, String]]
      .map(([n, v, f]) => `<tr><td>${n}</td><td class="num">${esc(f(v[0]))}</td><td class="num">${esc(f(v[1]))}</td></tr>`).join("");
    row.innerHTML = `<td colspan="9"><div class="explain">`
      + `<div class="summary">${esc(ex.summary)}</div>`
      + `<div><h4>shared motifs</h4><table><tr><th>motif</th><th></th><th class="num">query</th><th class="num">match</th></tr>${motifs}</table></div>`
      + `<div><h4>op-type differences</h4><table><tr><th>op</th><th class="num">query</th><th class="num">match</th></tr>${ops}</table></div>`
      + `<div><h4>side by side</h4><table><tr><th></th><th class="num">query</th><th class="num">match</th></tr>${side}</table></div>`
      + `</div></td>`;
  } catch (e) {
    row.innerHTML = `<td colspan="9" class="status failed">${esc(e.message)}</td>`;
  }
}

// -- graph view ------------------------------------------------------------------------------------
async function openGraph(hit) {
  document.querySelectorAll("tr.hit").forEach((r) => r.classList.toggle("selected", r.dataset.arch === hit.arch_id));
  state.match = hit;
  $("#graph-title").textContent = "loading graphs …";
  showTab("graph");
  try {
    state.graph = await api(`/api/graph?query=${encodeURIComponent(state.result.query.arch_id)}&match=${encodeURIComponent(hit.arch_id)}`);
  } catch (e) { $("#graph-title").textContent = e.message; return; }
  drawGraphs();
}
$("#show-ops").addEventListener("change", () => state.graph && drawGraphs());

function layoutXY(nodes, gap) {
  const width = {};
  for (const n of nodes) width[n.layer] = Math.max(width[n.layer] || 0, n.pos + 1);
  return nodes.map((n) => [gap * (n.pos - (width[n.layer] - 1) / 2), -n.layer]);
}
// Both panels share one height and one vertical scale (ROW px per layer) so the two graphs compare at a glance.
const ROW = 34;
function drawSide(div, side, ops, height) {
  const g = ops && side.ops ? side.ops : side.macro;
  const xy = layoutXY(g.nodes, ops && side.ops ? 1 : 2.6);
  const ex = [], ey = [];
  for (const e of g.edges) { ex.push(xy[e.source][0], xy[e.target][0], null); ey.push(xy[e.source][1], xy[e.target][1], null); }
  const edges = { x: ex, y: ey, mode: "lines", line: { color: "#c3cad8", width: 1 }, hoverinfo: "skip", type: "scatter" };
  let nodes;
  if (ops && side.ops) {
    nodes = { x: xy.map((p) => p[0]), y: xy.map((p) => p[1]), mode: "markers", type: g.nodes.length > 3000 ? "scattergl" : "scatter",
      marker: { size: 7, color: g.nodes.map((n) => n.shared ? "#f28e2b" : "#8da6c9"), line: { width: 0 } },
      text: g.nodes.map((n) => `${n.op} (motif node ${n.group})`), hoverinfo: "text" };
  } else {
    const maxc = Math.max(...g.nodes.map((n) => n.count));
    nodes = { x: xy.map((p) => p[0]), y: xy.map((p) => p[1]), mode: "markers+text", type: "scatter",
      marker: { size: g.nodes.map((n) => 11 + 17 * Math.sqrt((n.count - 1) / Math.max(maxc - 1, 1))), color: g.nodes.map((n) => n.shared ? "#f28e2b" : "#8da6c9"),
        line: { width: 1, color: "#fff" }, opacity: 0.95 },
      text: g.nodes.map((n) => (n.count > 1 ? `×${n.count} ` : "") + n.label), textposition: "middle right",
      textfont: { size: 11, color: "#333" },
      hovertext: g.nodes.map((n) => `${esc(n.label)}<br>${n.count} occurrence(s) × ${n.ops} ops${n.shared ? "<br><b>shared</b>" : ""}`),
      hoverinfo: "text", customdata: g.nodes.map((n) => n.id) };
  }
  // x: a fixed minimum half-width so a side branch sits next to the spine; room on the right for labels.
  const half = Math.max(ops ? 2 : 3, ...xy.map((p) => Math.abs(p[0])));
  const shown = ops ? 60 : Math.floor(height / ROW);  // the first layers; pan or zoom for the rest
  div.style.height = (ops ? 640 : height) + "px";
  const layout = { margin: { l: 10, r: 10, t: 10, b: 10 }, showlegend: false, dragmode: "pan", hovermode: "closest",
    xaxis: { visible: false, range: [-half - 0.8, half + (ops ? 0.8 : 4)] },
    yaxis: { visible: false, range: [-shown + 0.4, 0.6] }, plot_bgcolor: "#fff", paper_bgcolor: "#fff" };
  Plotly.react(div, [edges, nodes], layout, PLOT_CFG);
  div.removeAllListeners && div.removeAllListeners("plotly_click");
  div.on("plotly_click", (ev) => {
    const pt = ev.points.find((p) => p.curveNumber === 1);
    if (!pt || ops) return;
    const n = side.macro.nodes[pt.pointIndex];
    const info = $("#motif-info");
    info.classList.remove("hidden");
    info.innerHTML = `<b>${esc(n.label)}</b> ×${n.count} in ${esc(side.title)}${n.shared ? " (shared)" : ""}: `
      + n.op_names.map(esc).join(" → ") + (n.ops > n.op_names.length ? " …" : "");
  });
}
function drawGraphs() {
  const g = state.graph, ops = $("#show-ops").checked;
  $("#graph-title").textContent = `${g.shared.length} shared motifs · drag to pan, scroll to zoom, click a node for its operators`;
  $("#gq-title").textContent = `query: ${g.query.title} (${g.query.nodes} ops)`;
  $("#gm-title").textContent = `match: ${g.match.title} (${g.match.nodes} ops)`;
  const layers = Math.max(...[g.query, g.match].map((s) => 1 + Math.max(...s.macro.nodes.map((n) => n.layer))));
  const height = Math.min(1400, Math.max(640, ROW * layers));
  drawSide($("#graph-query"), g.query, ops, height);
  drawSide($("#graph-match"), g.match, ops, height);
}

// -- embedding map ---------------------------------------------------------------------------------
async function loadMap() {
  if (state.map) { drawMap(); return; }
  $("#map-info").textContent = "computing the map (once per encoder version) …";
  try { state.map = await api("/api/map"); } catch (e) { $("#map-info").textContent = e.message; return; }
  drawMap();
}
$("#color-by").addEventListener("change", () => state.map && drawMap());
function drawMap() {
  const m = state.map, by = $("#color-by").value;
  const groups = {};
  m.points.forEach((p, i) => { (groups[p[by]] = groups[p[by]] || []).push(i); });
  const names = Object.keys(groups).sort((a, b) => groups[b].length - groups[a].length);
  const big = m.points.length > 4000;
  const traces = names.map((name, gi) => {
    const idx = groups[name];
    return { name: `${name} (${idx.length})`, x: idx.map((i) => m.points[i].x), y: idx.map((i) => m.points[i].y),
      mode: "markers", type: big ? "scattergl" : "scatter",
      marker: { size: 8, color: COLORS[gi % COLORS.length], opacity: 0.8, line: { width: 0.5, color: "#fff" } },
      text: idx.map((i) => `${esc(m.points[i].model)}<br>${m.points[i].arch_id.slice(0, 16)}`), hoverinfo: "text",
      customdata: idx.map((i) => m.points[i].arch_id) };
  });
  let info = `${m.points.length} architectures · ${m.method.toUpperCase()} of ${m.encoder_version} · click a point for its neighbours`;
  const r = state.result;
  if (r && r.map_xy) {
    const pos = {}; m.points.forEach((p) => { pos[p.arch_id] = p; });
    const nb = r.hits.map((h) => pos[h.arch_id]).filter(Boolean);
    traces.push({ name: "neighbours", x: nb.map((p) => p.x), y: nb.map((p) => p.y), mode: "markers", type: "scatter",
      marker: { size: 16, color: "rgba(0,0,0,0)", line: { width: 2, color: "#141a26" } }, hoverinfo: "skip" });
    const title = r.query.title;
    traces.push({ name: "query: " + title, x: [r.map_xy[0]], y: [r.map_xy[1]], mode: "markers+text", type: "scatter",
      marker: { size: 20, symbol: "star", color: "#e15759", line: { width: 1, color: "#141a26" } },
      text: [title], textposition: "top center", textfont: { size: 13, color: "#141a26" }, hoverinfo: "text" });
    info += ` · ★ ${title} and its ${nb.length} neighbours`;
  }
  $("#map-info").textContent = info;
  // ranges padded by 8% so the query's star and its label are never cut at the border
  const xs = traces.flatMap((t) => t.x), ys = traces.flatMap((t) => t.y);
  const pad = (v) => { const lo = Math.min(...v), hi = Math.max(...v), d = (hi - lo || 1) * 0.08; return [lo - d, hi + d]; };
  const layout = { margin: { l: 20, r: 10, t: 10, b: 20 }, hovermode: "closest", dragmode: "pan",
    legend: { itemsizing: "constant", bgcolor: "rgba(255,255,255,.8)" },
    xaxis: { zeroline: false, showticklabels: false, range: pad(xs) },
    yaxis: { zeroline: false, showticklabels: false, range: pad(ys) } };
  const div = $("#map");
  Plotly.react(div, traces, layout, PLOT_CFG);
  div.removeAllListeners && div.removeAllListeners("plotly_click");
  div.on("plotly_click", (ev) => {
    const pt = ev.points[0];
    if (pt && pt.customdata) search(pt.customdata);
  });
}

// -- dataset ---------------------------------------------------------------------------------------
async function loadDataset() {
  if (state.dataset) return;
  const div = $("#dataset");
  div.innerHTML = '<div class="muted">reading the dataset …</div>';
  let d;
  try { d = state.dataset = await api("/api/dataset"); } catch (e) { div.innerHTML = `<div class="status failed">${esc(e.message)}</div>`; return; }
  const v = d.versions, c = d.coverage;
  const versions = [["dataset id", v.dataset_id || "–"], ["encoder", v.encoder_version], ["schema", v.schema_version.join(", ")],
    ["tracer", v.tracer_version.join(", ")], ["vocab", v.vocab_version.join(", ")]]
    .map(([k, x]) => `<div><b>${k}</b><code>${esc(x)}</code></div>`).join("");
  const pct = (x) => (100 * x).toFixed(1) + "%";
  const rows = Object.entries(c.sources).map(([s, x]) => `<tr><td>${esc(s)}</td><td class="num">${x.models}</td>`
    + `<td class="num">${x.ok}</td><td class="num">${x.failed}</td><td class="num">${x.pending}</td><td class="num">${pct(x.success)}</td>`
    + `<td class="num">${x.nodes.median === null ? "–" : x.nodes.median.toFixed(0)}</td><td class="num">${x.arch_ids}</td></tr>`).join("");
  const t = c.total;
  const fails = Object.entries(c.sources).flatMap(([s, x]) => x.failures.map((f) => `<tr><td>${esc(s)}</td><td>${esc(f.class)}</td>`
    + `<td class="num">${f.count}</td><td class="muted">${esc(f.example)}</td></tr>`)).join("") || '<tr><td class="muted" colspan="4">no failures</td></tr>';
  div.innerHTML = `<div class="card"><div class="versions">${versions}</div></div>`
    + `<div class="grid2"><div><table id="coverage"><thead><tr><th>source</th><th class="num">models</th><th class="num">traced</th>`
    + `<th class="num">failed</th><th class="num">pending</th><th class="num">success</th><th class="num">nodes (median)</th><th class="num">arch_ids</th></tr></thead>`
    + `<tbody>${rows}<tr><td><b>all</b></td><td class="num">${t.models}</td><td class="num">${t.ok}</td><td class="num">${t.models - t.ok}</td>`
    + `<td></td><td class="num">${pct(t.success)}</td><td></td><td class="num">${t.arch_ids}</td></tr></tbody></table></div>`
    + `<div><table id="failures"><thead><tr><th>source</th><th>failure class</th><th class="num">count</th><th>example</th></tr></thead>`
    + `<tbody>${fails}</tbody></table></div></div>`;
  const ops = d.ops.slice().reverse();
  Plotly.react($("#ops-hist"), [{ type: "bar", orientation: "h", y: ops.map((o) => o.op), x: ops.map((o) => o.nodes),
    marker: { color: "#4e79a7" }, customdata: ops.map((o) => o.graphs), textposition: "none",
    hovertemplate: "%{y}: %{x} nodes in %{customdata} architectures<extra></extra>" }],
    { margin: { l: 190, r: 20, t: 40, b: 36 }, title: { text: `top ${ops.length} op types over distinct architectures (nodes)`, font: { size: 14 } },
      yaxis: { dtick: 1, tickfont: { size: 11 } }, bargap: 0.25 }, PLOT_CFG);
}

// -- start -----------------------------------------------------------------------------------------
api("/api/health").then((h) => { $("#meta").textContent = `${h.database} architectures · ${h.encoder_version} · ${h.data}`; })
  .catch(() => {});
const initial = new URLSearchParams(location.search).get("q");
if (initial) search(initial);

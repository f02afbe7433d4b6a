/**
 * The inspector's page: one self-contained HTML document (inline CSS and JS, nothing fetched
 * but its own feed). Every value from the hub is written with `textContent`, never as HTML:
 * aliases, group names and addresses come from clients.
 * @module
 */

const STYLE = `
:root { --fg: #1d2430; --muted: #5b6675; --line: #d9dee5; --bg: #f6f7f9; --card: #fff; --in: #1f6feb; --out: #c2410c; --bad: #b42318; --ok: #067647; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: #10151d; color: #e8edf3; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header .meta { color: #a9b4c2; font-size: 13px; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: #889; display: inline-block; margin-right: 6px; }
.dot.live { background: #22c55e; }
.badge { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #2a3341; color: #cfd8e3; }
.badge.on { background: #7a2e0e; color: #ffe4d5; }
main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(12, 1fr); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; font-weight: 600; }
section h2 .muted { text-transform: none; letter-spacing: 0; font-weight: 400; }
.stats { grid-column: span 12; display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; background: none; border: 0; padding: 0; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.stat .k { color: var(--muted); font-size: 12px; }
.stat .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat .r { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.chart { grid-column: span 6; }
.chart svg { width: 100%; height: 120px; display: block; background: #fbfcfd; border: 1px solid #eef1f4; border-radius: 4px; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend b { font-weight: 600; }
.sw { display: inline-block; width: 10px; height: 3px; vertical-align: middle; margin-right: 4px; }
.sw.in { background: var(--in); } .sw.out { background: repeating-linear-gradient(90deg, var(--out) 0 4px, transparent 4px 6px); }
.wide { grid-column: span 12; }
.side { grid-column: span 4; }
.half { grid-column: span 8; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef1f4; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 280px; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.tag { display: inline-block; background: #eef2f7; border-radius: 4px; padding: 0 6px; margin-right: 4px; font-size: 12px; }
.mode-raw { color: #7c3aed; } .mode-envelope { color: #0e7490; }
.muted { color: var(--muted); }
.toolbar { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; }
input, button, textarea { font: inherit; }
input[type=search], input[type=text], input[type=number], textarea { border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; background: #fff; }
input[type=search] { width: 320px; }
button { border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
button.danger { border-color: #f1b5ae; color: var(--bad); }
button.primary { background: #1f2937; color: #fff; border-color: #1f2937; }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
form label { font-size: 12px; color: var(--muted); display: flex; flex-direction: column; gap: 2px; }
#drop-form { margin-top: 10px; padding: 10px; border: 1px solid #f1b5ae; background: #fff7f6; border-radius: 6px; }
#status { font-size: 13px; }
#status.err { color: var(--bad); } #status.ok { color: var(--ok); }
[hidden] { display: none !important; }
@media (max-width: 900px) { .chart, .side, .half { grid-column: span 12; } }
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const base = location.pathname;
// The page's own query (a room name a Worker routes by, ...) goes with every request it makes.
const own = new URLSearchParams(location.search);
const token = own.get("token");
own.delete("token");
const HISTORY = 90;
let history = [], es, query = "", last, retry;

function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; }
const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
function fmtBytes(n) { const u = ["B", "KiB", "MiB", "GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return (i ? n.toFixed(1) : Math.round(n)) + " " + u[i]; }
function fmtAge(ms) { const s = Math.max(0, Math.round(ms / 1000)); if (s < 60) return s + " s"; if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s"; return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"; }

function connect() {
  clearTimeout(retry);
  if (es) es.close();
  const p = new URLSearchParams(own);
  p.set("feed", "1");
  if (token) p.set("token", token);
  if (query) p.set("q", query); else p.delete("q");
  es = new EventSource(base + "?" + p);
  es.addEventListener("snapshot", (e) => { setLive(true); render(JSON.parse(e.data)); });
  es.addEventListener("bye", () => setLive(false, "hub shutting down"));
  es.onerror = () => { setLive(false); if (es.readyState === EventSource.CLOSED) retry = setTimeout(connect, 3000); };
}
function setLive(on, why) { $("live").className = on ? "dot live" : "dot"; $("live-text").textContent = on ? "live" : why || "reconnecting"; }

function rates(s) {
  const m = s.metrics, prev = history[history.length - 1];
  if (prev && (m.messagesIn < prev.mi || m.messagesOut < prev.mo)) history = [];
  history.push({ t: s.t, mi: m.messagesIn, mo: m.messagesOut, bi: m.bytesIn, bo: m.bytesOut });
  if (history.length > HISTORY + 1) history.shift();
  const r = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i], dt = Math.max(1, b.t - a.t) / 1000;
    r.push({ mi: (b.mi - a.mi) / dt, mo: (b.mo - a.mo) / dt, bi: (b.bi - a.bi) / dt, bo: (b.bo - a.bo) / dt });
  }
  return r;
}

function chart(svg, r, kin, kout, fmt, maxId, inId, outId) {
  while (svg.firstChild) svg.firstChild.remove();
  const max = Math.max(1, ...r.map((x) => Math.max(x[kin], x[kout])));
  const ns = "http://www.w3.org/2000/svg";
  for (const f of [0.25, 0.5, 0.75]) {
    const g = document.createElementNS(ns, "line");
    g.setAttribute("x1", "0"); g.setAttribute("x2", "300"); g.setAttribute("y1", String(100 * f)); g.setAttribute("y2", String(100 * f));
    g.setAttribute("stroke", "#e8ecf1"); g.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(g);
  }
  // "out" dashed on top: an echo server's two lines coincide, and both must stay visible.
  for (const [k, color, dash] of [[kin, "#1f6feb", ""], [kout, "#c2410c", "5 4"]]) {
    const pl = document.createElementNS(ns, "polyline");
    const n = r.length, step = 300 / Math.max(1, HISTORY - 1), x0 = 300 - (n - 1) * step;
    pl.setAttribute("points", r.map((x, i) => (x0 + i * step).toFixed(1) + "," + (98 - (x[k] / max) * 94).toFixed(1)).join(" "));
    pl.setAttribute("fill", "none"); pl.setAttribute("stroke", color); pl.setAttribute("stroke-width", "2");
    pl.setAttribute("vector-effect", "non-scaling-stroke"); pl.setAttribute("stroke-linejoin", "round");
    if (dash) pl.setAttribute("stroke-dasharray", dash);
    svg.append(pl);
  }
  const now = r[r.length - 1] || { [kin]: 0, [kout]: 0 };
  $(maxId).textContent = fmt(max);
  $(inId).textContent = fmt(now[kin]);
  $(outId).textContent = fmt(now[kout]);
}

/** Keep one row per key; update cells in place so clicks and selections survive each snapshot. */
function sync(tbody, items, key, fill) {
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  let prev = null;
  for (const it of items) {
    const k = key(it);
    let tr = old.get(k);
    if (tr) old.delete(k); else { tr = document.createElement("tr"); tr.dataset.key = k; }
    fill(tr, it);
    const at = prev ? prev.nextSibling : tbody.firstChild;
    if (at !== tr) tbody.insertBefore(tr, at);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}
function cells(tr, values) {
  while (tr.children.length < values.length) tr.append(document.createElement("td"));
  values.forEach((v, i) => {
    const td = tr.children[i];
    if (v instanceof Node) { if (td.firstChild !== v) td.replaceChildren(v); return; }
    const [t, cls, title] = Array.isArray(v) ? v : [v];
    if (td.textContent !== String(t)) td.textContent = String(t);
    td.className = cls || ""; if (title !== undefined) td.title = title;
  });
}

function render(s) {
  last = s;
  const m = s.metrics;
  $("instance").textContent = "instance " + s.instance.id;
  $("mode").textContent = s.actions ? "actions on" : "read-only";
  $("mode").className = s.actions ? "badge on" : "badge";
  $("s-sessions").textContent = fmtInt(m.sessions);
  $("s-opened").textContent = fmtInt(m.opened) + " opened";
  $("s-groups").textContent = fmtInt(s.groups.total);
  $("s-present").textContent = fmtInt(s.present) + " present";
  $("m-in").textContent = fmtInt(m.messagesIn);
  $("m-out").textContent = fmtInt(m.messagesOut);
  $("b-in").textContent = fmtBytes(m.bytesIn);
  $("b-out").textContent = fmtBytes(m.bytesOut);
  $("s-dropped").textContent = fmtInt(m.dropped);
  $("s-errors").textContent = fmtInt(m.errors);
  const r = rates(s);
  const cur = r[r.length - 1];
  $("m-in-r").textContent = cur ? cur.mi.toFixed(1) + " /s" : "…";
  $("m-out-r").textContent = cur ? cur.mo.toFixed(1) + " /s" : "…";
  $("b-in-r").textContent = cur ? fmtBytes(cur.bi) + "/s" : "…";
  $("b-out-r").textContent = cur ? fmtBytes(cur.bo) + "/s" : "…";
  chart($("chart-msgs"), r, "mi", "mo", (v) => v.toFixed(1) + " /s", "cm-max", "cm-in", "cm-out");
  chart($("chart-bytes"), r, "bi", "bo", (v) => fmtBytes(v) + "/s", "cb-max", "cb-in", "cb-out");

  const closes = Object.entries(m.closes).sort((a, b) => Number(a[0]) - Number(b[0]));
  sync($("closes").tBodies[0], closes, (c) => c[0], (tr, c) => cells(tr, [[c[0], "mono"], [fmtInt(c[1]), "num"]]));
  $("closes-none").hidden = closes.length > 0;

  $("s-count").textContent = s.sessions.matched === s.sessions.list.length
    ? (query ? s.sessions.matched + " of " + s.sessions.total + " match" : s.sessions.total + " sessions")
    : "showing " + s.sessions.list.length + " of " + s.sessions.matched + (query ? " matching" : "") + ": refine the search";
  sync($("sessions").tBodies[0], s.sessions.list, (x) => x.id, (tr, x) => {
    tr.dataset.sid = x.id;
    const groups = el("span");
    for (const g of x.groups) groups.append(el("span", "tag", g));
    let act = tr.querySelector("button.drop");
    if (s.actions && !act) { act = el("button", "danger drop", "drop"); act.type = "button"; act.addEventListener("click", () => askDrop(tr.dataset.sid)); }
    cells(tr, [
      [x.id, "mono"],
      [x.alias ?? "—", x.alias ? "" : "muted", x.visible ? "visible in presence" : "not visible in presence"],
      [x.mode + (x.state === "open" ? "" : " (" + x.state + ")"), "mode-" + x.mode],
      groups.childNodes.length ? groups : ["—", "muted"],
      [x.remoteAddress || "—", "mono"],
      [fmtAge(s.t - x.openedAt), "num"],
      [fmtAge(s.t - x.lastSeen) + " ago", "num"],
      [x.rtt < 0 ? "—" : x.rtt + " ms", "num"],
      [fmtBytes(x.bufferedAmount), "num"],
      s.actions ? act : "",
    ]);
  });

  $("g-count").textContent = s.groups.matched === s.groups.list.length ? s.groups.matched + " groups" : "showing " + s.groups.list.length + " of " + s.groups.matched;
  sync($("groups").tBodies[0], s.groups.list, (g) => g.name, (tr, g) => {
    tr.dataset.group = g.name;
    cells(tr, [[g.name, "mono"], [fmtInt(g.members), "num"], [g.present.join(", ") || "—", g.present.length ? "" : "muted"]]);
  });

  const i = s.instance;
  $("inst-id").textContent = i.id;
  $("inst-broker").textContent = i.broker === "own" ? "its own in-process broker: a single instance"
    : i.broker === "memory" ? "a shared MemoryBroker: " + i.hubs + " hub(s) in this process"
    : i.instances ? i.broker + ": " + i.instances.length + " instance(s) in its store"
    : i.broker + ": other instances are not listed (its link has no store)";
  // With a cluster: every instance, from the heartbeat entries in the broker's store.
  $("instances").hidden = !i.instances;
  sync($("instances").tBodies[0], i.instances || [], (x) => x.id, (tr, x) => {
    tr.dataset.instance = x.id;
    cells(tr, [[x.id + (x.self ? " (this hub)" : ""), "mono"], [fmtInt(x.sessions), "num"], [fmtAge(x.heartbeatAge) + " ago", "num", "last heartbeat"]]);
  });
  $("actions").hidden = !s.actions;
}

function status(text, ok) { const e = $("status"); e.textContent = text; e.className = ok ? "ok" : "err"; }
async function post(body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  try {
    const r = await fetch(base + (own.size ? "?" + own : ""), { method: "POST", headers, body: JSON.stringify(body) });
    const j = await r.json().catch(() => ({}));
    return r.ok ? j : { error: j.error || "HTTP " + r.status };
  } catch (e) { return { error: String(e) }; }
}
function askDrop(sid) { $("drop-sid").textContent = sid; $("drop-form").hidden = false; $("drop-reason").focus(); }
$("drop-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = $("drop-sid").textContent;
  const j = await post({ action: "drop", id, code: Number($("drop-code").value), reason: $("drop-reason").value });
  if (j.error) return status("drop failed: " + j.error, false);
  $("drop-form").hidden = true;
  status(j.local ? "dropped " + id : id + " is not on this instance: asked the others through the broker", true);
});
$("drop-cancel").addEventListener("click", () => { $("drop-form").hidden = true; });
$("emit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  let data;
  try { data = $("emit-data").value.trim() ? JSON.parse($("emit-data").value) : null; } catch { return status("data is not JSON", false); }
  const group = $("emit-group").value.trim();
  const j = await post({ action: "emit", event: $("emit-event").value.trim(), data, ...(group ? { group } : {}) });
  status(j.error ? "send failed: " + j.error : "sent to " + j.local + " local session(s)" + (group ? " in " + group : ""), !j.error);
});
let typing;
$("search").addEventListener("input", (e) => { clearTimeout(typing); typing = setTimeout(() => { query = e.target.value.trim(); connect(); }, 250); });
connect();
`;

const BODY = `
<header>
  <h1>wirehub inspector</h1>
  <span class="meta"><span id="live" class="dot"></span><span id="live-text">connecting</span></span>
  <span class="meta mono" id="instance"></span>
  <span class="badge" id="mode">read-only</span>
</header>
<main>
  <section class="stats">
    <div class="stat"><div class="k">Sessions</div><div class="v" id="s-sessions">–</div><div class="r" id="s-opened"></div></div>
    <div class="stat"><div class="k">Groups</div><div class="v" id="s-groups">–</div><div class="r" id="s-present"></div></div>
    <div class="stat"><div class="k">Messages in</div><div class="v" id="m-in">–</div><div class="r" id="m-in-r"></div></div>
    <div class="stat"><div class="k">Messages out</div><div class="v" id="m-out">–</div><div class="r" id="m-out-r"></div></div>
    <div class="stat"><div class="k">Bytes in</div><div class="v" id="b-in">–</div><div class="r" id="b-in-r"></div></div>
    <div class="stat"><div class="k">Bytes out</div><div class="v" id="b-out">–</div><div class="r" id="b-out-r"></div></div>
    <div class="stat"><div class="k">Dropped frames</div><div class="v" id="s-dropped">–</div></div>
    <div class="stat"><div class="k">Errors</div><div class="v" id="s-errors">–</div></div>
  </section>
  <section class="chart"><h2>Messages per second <span class="muted">(max <span id="cm-max"></span>)</span></h2>
    <svg id="chart-msgs" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="messages per second"></svg>
    <div class="legend"><span><i class="sw in"></i>in <b id="cm-in"></b></span><span><i class="sw out"></i>out <b id="cm-out"></b></span></div></section>
  <section class="chart"><h2>Bytes per second <span class="muted">(max <span id="cb-max"></span>)</span></h2>
    <svg id="chart-bytes" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="bytes per second"></svg>
    <div class="legend"><span><i class="sw in"></i>in <b id="cb-in"></b></span><span><i class="sw out"></i>out <b id="cb-out"></b></span></div></section>
  <section class="wide"><h2>Sessions</h2>
    <div class="toolbar"><input type="search" id="search" placeholder="search: id, alias, group, address, mode" aria-label="search sessions and groups"><span class="muted" id="s-count"></span></div>
    <table id="sessions"><thead><tr><th>id</th><th>alias</th><th>mode</th><th>groups</th><th>remote address</th><th class="num">age</th><th class="num">last seen</th><th class="num">rtt</th><th class="num">buffered</th><th></th></tr></thead><tbody></tbody></table>
    <form id="drop-form" hidden><span>Drop <code id="drop-sid"></code></span>
      <label>code<input type="number" id="drop-code" value="4000" min="1000" max="4999"></label>
      <label>reason<input type="text" id="drop-reason" maxlength="123" value="dropped by the inspector"></label>
      <button type="submit" class="danger" id="drop-confirm">drop session</button><button type="button" id="drop-cancel">cancel</button></form>
  </section>
  <section class="half"><h2>Groups and presence <span class="muted" id="g-count"></span></h2>
    <table id="groups"><thead><tr><th>group</th><th class="num">members</th><th>present (visible aliases)</th></tr></thead><tbody></tbody></table></section>
  <section class="side"><h2>Closes by code</h2>
    <table id="closes"><thead><tr><th>code</th><th class="num">sessions</th></tr></thead><tbody></tbody></table><p class="muted" id="closes-none">none yet</p>
    <h2>Instances</h2><p>This hub: <code id="inst-id"></code><br><span class="muted" id="inst-broker"></span></p>
    <table id="instances" hidden><thead><tr><th>instance</th><th class="num">sessions</th><th class="num">heartbeat</th></tr></thead><tbody></tbody></table></section>
  <section class="wide" id="actions" hidden><h2>Send a test event</h2>
    <form id="emit-form"><label>group (empty: everyone)<input type="text" id="emit-group"></label>
      <label>event<input type="text" id="emit-event" value="inspector"></label>
      <label>data (JSON)<input type="text" id="emit-data" value='{"hello":"from the inspector"}' size="40"></label>
      <button type="submit" class="primary" id="emit-send">send</button></form></section>
  <section class="wide"><span id="status" class="muted">Actions and errors show here.</span></section>
</main>`;

/** The page, with `nonce` on its inline style and script (the response's CSP allows only those). */
export function page(nonce: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>wirehub inspector</title><style nonce="${nonce}">${STYLE}</style></head>
<body>${BODY}<script nonce="${nonce}">${SCRIPT}</script></body></html>`;
}

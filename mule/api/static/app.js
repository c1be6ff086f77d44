// The mule node's web UI: plain JS, no build step. Every call carries the bearer token; the live event stream
// is read with fetch (EventSource cannot send a header), so the token never travels in a URL.
"use strict";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("mule-token") || "";
let currentSearch = null;
const shown = new Set();

function takeTokenFromHash() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    token = decodeURIComponent(match[1]);
    sessionStorage.setItem("mule-token", token);
    history.replaceState(null, "", location.pathname + "#dashboard");
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token}`, ...(options.headers || {}) };
  const response = await fetch(API + path, { ...options, headers });
  const body = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (response.status === 401) {
    showLogin();
    throw new Error("the token was refused");
  }
  if (!response.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : response.statusText);
  return body;
}

function showLogin() {
  $("login").hidden = false;
  $("live").className = "badge off";
  $("live").textContent = "no token";
}

function fail(error) {
  $("error").textContent = String(error.message || error);
}

// --- pages --------------------------------------------------------------------------------------------------

function showPage() {
  const page = (location.hash.replace("#", "") || "dashboard").split("&")[0];
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== page;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === page);
}

function renderStatus(status) {
  $("node-id").textContent = `${status.kad_id} · ${status.destination}`;
  const cards = [
    ["contacts", status.contacts], ["verified", status.verified], ["seeds", status.seeds],
    ["queued", status.queued], ["sent", status.sent], ["admitted", status.admitted],
    ["dropped inputs", status.dropped_inputs], ["faults", status.faults],
  ];
  $("status-cards").innerHTML = cards
    .map(([name, value]) => `<div class="card${name === "faults" && value ? " bad" : ""}"><b>${value}</b><span>${name}</span></div>`)
    .join("");
}

function renderZones(target, routing) {
  const k = routing.bucket_size;
  target.innerHTML = routing.zones
    .map((zone) => {
      const all = Math.min(100, (100 * zone.contacts) / k);
      const verified = Math.min(100, (100 * zone.verified) / k);
      return `<div class="zone" title="level ${zone.level}, prefix ${zone.prefix || "(root)"}: ${zone.contacts}/${k}, ${zone.verified} verified">
        <div class="fill" style="height:${all}%"></div><div class="fill verified" style="height:${verified}%"></div>
        <span>${zone.prefix || "·"}</span></div>`;
    })
    .join("");
}

function renderContacts(routing) {
  $("contact-count").textContent = `(${routing.contacts.length})`;
  $("contacts").tBodies[0].innerHTML = routing.contacts
    .map((c) => `<tr><td class="mono">${c.kad_id}</td><td class="mono">${c.destination}</td><td>${c.version}</td>
      <td>${c.type}</td><td>${c.verified ? "yes" : ""}</td><td>${c.last_seen_ago.toFixed(0)} s ago</td></tr>`)
    .join("");
}

// --- plots --------------------------------------------------------------------------------------------------

function plotBars(canvas, edges, counts, options = {}) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 30;
  ctx.clearRect(0, 0, w, h);
  const total = counts.reduce((a, b) => a + b, 0);
  const lo = edges[0], hi = edges[edges.length - 1];
  const x = (v) => pad + ((v - lo) / (hi - lo)) * (w - 2 * pad);
  // Densities (per second), so the bars and the law share one scale.
  const density = counts.map((c, i) => (total ? c / total / (edges[i + 1] - edges[i]) : 0));
  const top = Math.max(...density, options.lawDensity || 0, 1e-9) * 1.15;
  const y = (d) => h - pad - (d / top) * (h - 2 * pad);
  ctx.fillStyle = "#4a7bd0";
  density.forEach((d, i) => ctx.fillRect(x(edges[i]) + 0.5, y(d), Math.max(1, x(edges[i + 1]) - x(edges[i]) - 1), h - pad - y(d)));
  if (options.lawDensity) {
    ctx.strokeStyle = "#d04a4a";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x(lo), y(0));
    ctx.lineTo(x(options.lawLow), y(0));
    ctx.lineTo(x(options.lawLow), y(options.lawDensity));
    ctx.lineTo(x(options.lawHigh), y(options.lawDensity));
    ctx.lineTo(x(options.lawHigh), y(0));
    ctx.lineTo(x(hi), y(0));
    ctx.stroke();
  }
  if (options.deadline !== undefined) {
    ctx.strokeStyle = "#999";
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x(options.deadline), pad / 2);
    ctx.lineTo(x(options.deadline), h - pad);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  ctx.fillText(`${fmt(lo, options.unit)}`, pad, h - 10);
  ctx.fillText(`${fmt(hi, options.unit)}`, w - pad - 40, h - 10);
  ctx.fillText(`${total} samples`, w - pad - 90, 14);
  ctx.strokeStyle = "#333";
  ctx.beginPath();
  ctx.moveTo(pad, h - pad);
  ctx.lineTo(w - pad, h - pad);
  ctx.stroke();
}

function fmt(seconds, unit) {
  return unit === "ms" ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`;
}

// The thread that puts each datagram on the wire at its instant (none on the SAM TCP path): its lateness is µs.
function releaseText(release) {
  if (!release) return "none: datagrams leave when the event loop hands them over (the SAM TCP path)";
  const priority = release.realtime ? "SCHED_FIFO" : "the process's priority (SCHED_FIFO not allowed here)";
  const late = [release.lateness_p50, release.lateness_p99, release.lateness_max].map((v) => `${(v * 1e6).toFixed(0)} µs`);
  return `${priority}; lateness p50 / p99 / max ${late.join(" / ")} over ${release.samples} sends; ${release.refused} refused by the kernel`;
}

function renderShaper(shaper) {
  const law = {
    lawLow: shaper.delay_base,
    lawHigh: shaper.delay_base + shaper.delay_jitter,
    lawDensity: 1 / shaper.delay_jitter,
    deadline: shaper.delay_base + shaper.delay_jitter + shaper.deadline_slack,
  };
  for (const id of ["delay", "dash-delay"]) plotBars($(id), shaper.delay.edges, shaper.delay.counts, law);
  for (const id of ["lateness", "dash-lateness"])
    plotBars($(id), shaper.lateness.edges, shaper.lateness.counts, { unit: "ms", deadline: shaper.deadline_slack });
  const q = shaper.lateness_quantiles;
  const rows = [
    ["profile", shaper.profile], ["queued", `${shaper.queued_messages} messages, ${shaper.queued_bytes} bytes`],
    ["submitted / sent", `${shaper.submitted} / ${shaper.sent}`],
    ["caps hit", `${shaper.capped} capped, ${shaper.over_cap} inputs over cap, ${shaper.overflowed} overflowed`],
    ["congestion", `${shaper.congested} (${shaper.expired} past deadline)`],
    ["lateness p50 / p90 / p99 / max", [q["0.5"], q["0.9"], q["0.99"], shaper.lateness_max].map((v) => fmt(v, "ms")).join(" / ")],
    ["release thread", releaseText(shaper.release)],
  ];
  $("shaper-figures").innerHTML = rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("");
}

// --- search -------------------------------------------------------------------------------------------------

function addResult(result) {
  const key = `${result.search_id}/${result.seq}`;
  if (!currentSearch || result.search_id !== currentSearch || shown.has(key)) return;
  shown.add(key);
  const f = result.fields;
  const row = $("results").tBodies[0].insertRow();
  row.className = "result";
  row.innerHTML = `<td>${result.seq + 1}</td><td>${escape(f.name ?? "")}</td><td>${f.size ?? ""}</td>
    <td class="mono">${f.file_hash ?? ""}</td><td>${f.sources ?? ""}</td>`;
  $("search-state").textContent = `${shown.size} result(s) for search ${currentSearch}`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function startSearch(event) {
  event.preventDefault();
  const body = { kind: $("search-kind").value, query: $("search-query").value };
  try {
    const info = await api("/searches", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    currentSearch = info.id;
    shown.clear();
    $("results").tBodies[0].innerHTML = "";
    $("search-state").textContent = `search ${info.id} ${info.state}: results appear as they arrive`;
    const known = await api(`/searches/${info.id}/results?after=-1`);
    known.results.forEach(addResult);
    refreshSearches();
  } catch (error) {
    fail(error);
  }
}

async function refreshSearches() {
  try {
    const list = await api("/searches");
    $("search-list").innerHTML = list.searches
      .map((s) => `<li>${s.id}: ${s.kind} “${escape(s.query)}” — ${s.state}, ${s.results} result(s)</li>`)
      .join("");
  } catch (error) {
    if (!String(error.message).startsWith("unavailable")) fail(error);
  }
}

// --- live events --------------------------------------------------------------------------------------------

async function listen() {
  while (true) {
    try {
      const response = await fetch(API + "/events", { headers: { Authorization: `Bearer ${token}` } });
      if (response.status === 401) return showLogin();
      $("live").className = "badge on";
      $("live").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      fail(error);
    }
    $("live").className = "badge off";
    $("live").textContent = "reconnecting";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function dispatch(block) {
  let name = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (name === "status") {
    renderStatus(payload);
    refresh();
  } else if (name === "search-result") {
    addResult(payload);
    refreshSearches();
  }
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [routing, shaper] = await Promise.all([api("/routing"), api("/shaper")]);
    renderZones($("zones"), routing);
    renderZones($("dash-zones"), routing);
    renderContacts(routing);
    renderShaper(shaper);
    $("error").textContent = "";
    refreshSearches();
  } catch (error) {
    fail(error);
  } finally {
    refreshing = false;
  }
}

function begin() {
  $("login").hidden = true;
  refresh();
  refreshSearches();
  listen();
}

takeTokenFromHash();
showPage();
window.addEventListener("hashchange", showPage);
$("search-form").addEventListener("submit", startSearch);
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("mule-token", token);
  begin();
});
if (token) begin();
else showLogin();

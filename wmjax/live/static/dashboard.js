// The wmjax live dashboard: one card per order, redrawn from server-sent events.
// A reload fetches /api/sessions (frames, ticks, alerts so far) and resumes the stream after
// its last event number. Event-to-screen latency (server emit -> drawn) goes to /api/latency.
"use strict";

const S = {};            // session id -> {frame, ticks, alerts, fills, filled, status, dirty}
let lastSeq = 0;
let pending = [];        // emit times (ms) of live events not yet drawn
let latency = [];        // measured event-to-screen latencies (ms), not yet posted
const grid = document.getElementById("grid");

function fmt(x, d = 1) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const v = Number(x);
  return (Math.abs(v) < 0.5 * 10 ** -d ? 0 : v).toFixed(d);   // no "-0"
}

function card(id) {
  if (S[id]) return S[id];
  const el = document.createElement("section");
  el.className = "card";
  el.id = "session-" + id;
  el.dataset.session = id;
  el.innerHTML = `
    <div class="title"><div><b class="sym"></b> <span class="strat"></span></div>
      <div><span class="badge regime"></span><span class="badge tier"></span><span class="badge status"></span></div></div>
    <canvas class="is-chart" height="150"></canvas>
    <canvas class="price-chart" height="80"></canvas>
    <div class="stats">
      <div><span>IS so far (bps)</span><b class="is"></b></div>
      <div><span>band p5–p95 now</span><b class="bandnow"></b></div>
      <div><span>remaining shares</span><b class="remaining"></b></div>
      <div><span>time left</span><b class="timeleft"></b></div>
      <div><span>arrival</span><b class="arrival"></b></div>
      <div><span>market VWAP</span><b class="vwap"></b></div>
      <div><span>realised avg</span><b class="realised"></b></div>
      <div><span>participation / ceiling</span><b class="part"></b></div>
    </div>
    <div class="bar"><i></i><u></u></div>
    <ul class="alerts"></ul>`;
  grid.appendChild(el);
  S[id] = { el, frame: null, ticks: [], alerts: {}, fills: 0, filled: 0, status: "running", dirty: true };
  document.getElementById("count").textContent = Object.keys(S).length + " orders";
  return S[id];
}

function apply(e, live) {
  if (e.seq <= lastSeq) return;   // already seen (a resumed stream may repeat)
  lastSeq = e.seq;
  update(e, live);
}

function update(e, live) {
  const s = card(e.session);
  switch (e.type) {
    case "session": s.frame = e; break;
    case "tick": s.ticks.push(e); if (e.done) s.status = "done"; break;
    case "fill": s.fills += 1; s.filled += e.shares; break;
    case "alert":
      if (e.active) s.alerts[e.kind] = e.message; else delete s.alerts[e.kind];
      if (e.kind === "session_error") s.status = "error";
      break;
  }
  s.dirty = true;
  if (live && e.emit_ms) pending.push(e.emit_ms);
}

function scale(lo, hi, a, b) { const k = (b - a) / ((hi - lo) || 1); return v => a + (v - lo) * k; }

function line(ctx, xs, ys, colour, width = 1.5, dash = []) {
  ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.setLineDash(dash); ctx.beginPath();
  let started = false;
  for (let i = 0; i < xs.length; i++) {
    if (ys[i] === null || !isFinite(ys[i])) continue;
    if (!started) { ctx.moveTo(xs[i], ys[i]); started = true; } else ctx.lineTo(xs[i], ys[i]);
  }
  ctx.stroke(); ctx.setLineDash([]);
}

function fit(canvas) {
  const w = canvas.clientWidth;
  if (canvas.width !== w) canvas.width = w;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

function drawIS(s) {
  const c = s.el.querySelector(".is-chart");
  const ctx = fit(c);
  const f = s.frame; if (!f) return;
  const n = f.n_steps, b = f.band, t = s.ticks;
  const vals = b.p05_bps.concat(b.p95_bps, t.map(x => x.is_bps), [0]);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const X = scale(0, n - 1, 36, c.width - 6), Y = scale(lo, hi, c.height - 14, 6);
  const steps = [...Array(n).keys()];
  ctx.fillStyle = "rgba(80,140,220,0.28)"; ctx.beginPath();   // the pre-trade band
  steps.forEach(k => (k ? ctx.lineTo : ctx.moveTo).call(ctx, X(k), Y(b.p95_bps[k])));
  steps.slice().reverse().forEach(k => ctx.lineTo(X(k), Y(b.p05_bps[k])));
  ctx.closePath(); ctx.fill();
  line(ctx, steps.map(X), b.p50_bps.map(Y), "rgba(120,170,240,0.8)", 1, [4, 3]);
  line(ctx, [X(0), X(n - 1)], [Y(0), Y(0)], "#2b3742", 1);
  line(ctx, t.map(x => X(x.step)), t.map(x => Y(x.is_bps)), "#f0b429", 2.2);
  ctx.fillStyle = "#8a99a8"; ctx.font = "10px system-ui";
  ctx.fillText(fmt(hi, 0), 2, 12); ctx.fillText(fmt(lo, 0), 2, c.height - 16);
  ctx.fillText("bps", 2, c.height / 2); ctx.fillText("interval →", c.width - 60, c.height - 3);
  c.dataset.isPoints = t.length; c.dataset.bandPoints = n;
}

function drawPrices(s) {
  const c = s.el.querySelector(".price-chart");
  const ctx = fit(c);
  const f = s.frame, t = s.ticks; if (!f || !t.length) return;
  const series = [t.map(x => x.mid), t.map(() => f.arrival_price), t.map(x => x.market_vwap), t.map(x => x.realised_price)];
  const all = series.flat().filter(v => v !== null && isFinite(v));
  const lo = Math.min(...all), hi = Math.max(...all);
  const X = scale(0, f.n_steps - 1, 36, c.width - 6), Y = scale(lo, hi, c.height - 6, 6);
  const xs = t.map(x => X(x.step));
  ["#dce3ea", "#3fb950", "#a371f7", "#f0b429"].forEach((col, i) => line(ctx, xs, series[i].map(v => v === null ? null : Y(v)), col, 1.4));
  ctx.fillStyle = "#8a99a8"; ctx.font = "10px system-ui";
  ctx.fillText(fmt(hi, 2), 2, 12); ctx.fillText(fmt(lo, 2), 2, c.height - 4);
}

function draw(s) {
  const f = s.frame, t = s.ticks, last = t[t.length - 1], q = x => s.el.querySelector(x);
  if (f) { q(".sym").textContent = f.symbol; q(".strat").textContent = `${f.side} ${fmt(f.quantity_shares, 0)} · ${f.strategy} · ${f.feed}`; }
  q(".status").textContent = s.status;
  if (last) {
    q(".regime").textContent = last.regime; q(".regime").className = "badge regime " + last.regime;
    q(".tier").textContent = "tier " + last.tier; q(".tier").className = "badge tier " + last.tier;
    q(".is").textContent = fmt(last.is_bps, 2);
    q(".bandnow").textContent = `${fmt(last.band.p05_bps)} … ${fmt(last.band.p95_bps)}`;
    q(".remaining").textContent = fmt(last.remaining_shares, 0);
    q(".timeleft").textContent = fmt(last.time_left_s / 60, 1) + " min";
    q(".arrival").textContent = fmt(last.arrival_price, 3);
    q(".vwap").textContent = fmt(last.market_vwap, 3);
    q(".realised").textContent = fmt(last.realised_price, 3);
    q(".part").textContent = `${fmt(100 * last.participation)}% / ${fmt(100 * last.ceiling)}%`;
    const top = Math.max(last.ceiling * 1.5, last.participation, 1e-9);
    const bar = q(".bar i");
    bar.style.width = Math.min(100, 100 * last.participation / top) + "%";
    bar.className = last.participation > last.ceiling * (1 + 1e-4) ? "over" : "";
    q(".bar u").style.left = (100 * last.ceiling / top) + "%";
  }
  const ul = q("ul.alerts");
  ul.innerHTML = "";
  for (const [kind, msg] of Object.entries(s.alerts)) {
    const li = document.createElement("li");
    li.className = "alert"; li.dataset.kind = kind; li.textContent = `⚠ ${kind}: ${msg}`;
    ul.appendChild(li);
  }
  s.el.classList.toggle("alerting", Object.keys(s.alerts).length > 0);
  s.el.dataset.ticks = t.length; s.el.dataset.fills = s.fills;
  drawIS(s); drawPrices(s);
}

function frame() {
  for (const s of Object.values(S)) if (s.dirty) { draw(s); s.dirty = false; }
  if (pending.length) {
    const now = Date.now();
    for (const t of pending) latency.push(now - t);
    pending = [];
  }
  requestAnimationFrame(frame);
}

function connect() {
  const es = new EventSource("/api/stream?after=" + lastSeq);
  const conn = document.getElementById("conn");
  es.onopen = () => { conn.textContent = "live"; conn.className = "live"; };
  es.onerror = () => { conn.textContent = "reconnecting…"; conn.className = ""; };
  es.onmessage = m => { const e = JSON.parse(m.data); apply(e, !e.replayed); };
}

async function boot() {
  const r = await fetch("/api/sessions");
  const j = await r.json();
  for (const s of j.sessions) {
    const c = card(s.id);
    c.frame = s.frame; c.status = s.status;
    for (const e of s.events) if (e.type !== "session") update(e, false);
  }
  lastSeq = j.last_seq;
  connect();
  requestAnimationFrame(frame);
  setInterval(() => {
    if (!latency.length) return;
    const body = JSON.stringify({ samples_ms: latency }); latency = [];
    fetch("/api/latency", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  }, 1000);
}

window.dash = { S, get lastSeq() { return lastSeq; } };
boot();

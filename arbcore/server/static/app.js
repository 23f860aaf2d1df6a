// arbcore risk dashboard: polls /status, /positions and /health each second, streams /trades,
// /system and /market-data, and draws PnL and decision latency on a canvas. No libraries.
// Everything from the server goes into the page as text (textContent), never as HTML.
"use strict";

const TOKEN_KEY = "arbcore.token";
const POLL_MS = 1000;
const FEED_ROWS = 60;
const CHART_POINTS = 300;
const $ = (id) => document.getElementById(id);
const history = []; // {pnl, p50} per poll, oldest first
const quotes = new Map(); // "venue symbol" -> quote
const counts = { opportunities: 0, trades: 0 };

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function say(text, kind) {
  const message = $("message");
  message.textContent = text;
  message.className = kind || "muted";
}

async function api(path, options) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(response.status + ": " + (body.error || response.statusText));
  return body;
}

function fixed(value, places) {
  return value === null || value === undefined ? "-" : Number(value).toFixed(places);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((values) => {
    const tr = document.createElement("tr");
    for (const value of values) {
      if (Array.isArray(value)) cell(tr, value[0], value[1]); else cell(tr, value);
    }
    return tr;
  }));
}

function prepend(id, text, className) {
  const list = $(id);
  const item = document.createElement("li");
  item.textContent = text;
  if (className) item.className = className;
  list.insertBefore(item, list.firstChild);
  while (list.children.length > FEED_ROWS) list.removeChild(list.lastChild);
}

function clock(tsNs) {
  return new Date(Number(BigInt(tsNs) / 1000000n)).toISOString().slice(11, 23);
}

// -- polled views --------------------------------------------------------------------------

function showState(trading) {
  const state = $("state");
  state.textContent = trading.state;
  state.className = "state " + trading.state;
  $("state-reason").textContent = trading.reason || "";
}

function showStatus(status) {
  showState(status.trading);
  const pnl = status.pnl;
  $("pnl-today").textContent = fixed(pnl.today_usd, 2);
  $("pnl-today").className = pnl.today_usd < 0 ? "bad" : "ok";
  $("pnl-limit").textContent = fixed(pnl.max_daily_loss_usd, 2);
  $("pnl-session").textContent = fixed(pnl.session_usd, 2);
  const used = Math.min(1, Math.max(0, -pnl.today_usd / pnl.max_daily_loss_usd));
  $("loss-bar").style.width = (used * 100).toFixed(1) + "%";
  $("loss-bar").style.background = used > 0.8 ? "var(--bad)" : used > 0.5 ? "var(--warn)" : "";
  const latency = status.latency_us;
  for (const name of ["p50", "p90", "p99", "max"]) $("lat-" + name).textContent = fixed(latency[name], 1);
  $("lat-samples").textContent = latency.samples;
  const c = status.counts;
  $("updates").textContent = c.book_updates;
  $("open-orders").textContent = c.open_orders;
  $("trade-count").textContent = Math.max(c.trades, counts.trades);
  const found = Object.values(c.opportunities).reduce((a, b) => a + b, 0);
  $("opp-count").textContent = Math.max(found, counts.opportunities);
  const refused = Object.entries(c.risk_refused).map(([rule, n]) => rule + " " + n);
  $("refused").textContent = refused.join(", ") || "none";
  history.push({ pnl: pnl.today_usd, p50: latency.p50 });
  if (history.length > CHART_POINTS) history.shift();
  drawChart();
}

function showPositions(positions) {
  const limit = positions.max_exposure_per_exchange_usd;
  fillTable("positions", Object.entries(positions.venues).map(([venue, view]) => {
    const held = Object.entries(view.assets)
      .filter(([, a]) => Math.abs(a.position) > 1e-12)
      .map(([asset, a]) => asset + " " + (a.position > 0 ? "+" : "") + a.position.toPrecision(6));
    const share = view.exposure_usd / limit;
    return [venue, [fixed(view.exposure_usd, 2), share > 0.8 ? "bad" : share > 0.5 ? "warn" : ""],
            fixed(limit, 0), held.join("  ") || "flat"];
  }));
}

function showHealth(health) {
  fillTable("health", Object.entries(health.venues).map(([venue, v]) => [
    venue,
    [v.connected ? "connected" : "down", v.connected ? "ok" : "bad"],
    [v.synced + "/" + v.books + (v.stale.length ? " (stale: " + v.stale.join(", ") + ")" : ""),
     v.synced === v.books ? "ok" : "warn"],
    v.last_message_age_ms === null ? "-" : fixed(v.last_message_age_ms, 0) + " ms ago",
    String(v.resyncs),
    [v.ready ? "ready" : "not ready", v.ready ? "ok" : "bad"],
  ]));
}

async function poll() {
  try {
    const [status, positions, health] = await Promise.all(
      ["/status", "/positions", "/health"].map((path) => api(path)));
    showStatus(status);
    showPositions(positions);
    showHealth(health);
    if ($("message").dataset.poll === "failed") say("");
    $("message").dataset.poll = "ok";
  } catch (error) {
    $("message").dataset.poll = "failed";
    say("reading the engine failed: " + error.message + (token() ? "" : " (enter the API token)"), "bad");
  }
}

// -- chart ---------------------------------------------------------------------------------

function drawChart() {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  if (canvas.width !== width * ratio) { canvas.width = width * ratio; canvas.height = height * ratio; }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const pad = { left: 60, right: 60, top: 10, bottom: 18 };
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  g.strokeStyle = "#2a323b";
  g.strokeRect(pad.left, pad.top, plotW, plotH);
  const series = [
    { key: "pnl", color: "#58a6ff", side: "left", places: 2 },
    { key: "p50", color: "#e3b341", side: "right", places: 0 },
  ];
  g.font = "11px system-ui, sans-serif";
  for (const s of series) {
    const values = history.map((p) => p[s.key]).filter((v) => v !== null && v !== undefined);
    if (!values.length) continue;
    let low = Math.min(...values), high = Math.max(...values);
    if (high === low) { high += 1; low -= 1; }
    const x = (i) => pad.left + (history.length < 2 ? plotW : (i / (history.length - 1)) * plotW);
    const y = (v) => pad.top + plotH - ((v - low) / (high - low)) * plotH;
    g.strokeStyle = s.color;
    g.lineWidth = 1.5;
    g.beginPath();
    let started = false;
    history.forEach((p, i) => {
      const v = p[s.key];
      if (v === null || v === undefined) return;
      if (started) g.lineTo(x(i), y(v)); else { g.moveTo(x(i), y(v)); started = true; }
    });
    g.stroke();
    g.fillStyle = s.color;
    g.textAlign = s.side === "left" ? "right" : "left";
    const labelX = s.side === "left" ? pad.left - 4 : pad.left + plotW + 4;
    g.fillText(high.toFixed(s.places), labelX, pad.top + 10);
    g.fillText(low.toFixed(s.places), labelX, pad.top + plotH);
  }
  g.fillStyle = "#8b96a1";
  g.textAlign = "center";
  g.fillText("last " + history.length + " s", pad.left + plotW / 2, height - 4);
}

// -- streams -------------------------------------------------------------------------------

function protocols() {
  const list = ["arbcore.v1"];
  if (token()) {
    const bytes = new TextEncoder().encode(token());
    const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    list.push("arbcore.bearer." + b64);
  }
  return list;
}

const sockets = {};

function stream(path, onFrame) {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  const socket = new WebSocket(url, protocols());
  sockets[path] = socket;
  socket.onmessage = (message) => onFrame(JSON.parse(message.data));
  socket.onclose = (event) => {
    if (event.reason) prepend("system", "stream " + path + " closed: " + event.reason, "warn");
    setTimeout(() => { if (sockets[path] === socket) stream(path, onFrame); }, 2000);
  };
}

function onTrade(frame) {
  const d = frame.data;
  const r = d.record || {};
  const when = clock(frame.ts_ns);
  if (frame.kind === "opportunity") {
    counts.opportunities += 1;
    const profit = r.expected_profit_usd ?? r.expected_profit;
    prepend("opportunities", when + "  " + (r.kind || "") + "  " + d.venue + "  profit " +
            fixed(profit, 4) + " USD  " + fixed(r.profit_bps, 1) + " bps");
  } else if (frame.kind === "decision" && !r.approved) {
    const why = r.rule === "trading_halted" ? "trading is halted"
      : r.rule + " " + fixed(r.value, 2) + " over " + fixed(r.limit, 2);
    prepend("opportunities", when + "  refused by risk: " + why, "muted");
  } else if (frame.kind === "order") {
    const status = r.status || (r.error ? "rejected" : "");
    const line = r.error ? r.error + ": " + r.message
      : r.side + " " + (d.size || "") + " @ " + (d.price || "") + " filled " + (d.filled || "");
    prepend("trades", when + "  " + d.venue + " " + d.symbol + "  " + status + "  " + line,
            status === "rejected" ? "bad" : status === "filled" ? "ok" : "");
  } else if (frame.kind === "pnl") {
    counts.trades += 1;
    prepend("trades", when + "  trade " + d.trace_id.slice(0, 8) + " PnL " + fixed(r.realized_usd, 4) + " USD",
            r.realized_usd < 0 ? "bad" : "ok");
  } else if (frame.kind === "fill") {
    prepend("trades", when + "  fill " + d.venue + " " + d.symbol + "  " + r.side + " " +
            (d.size || "") + " @ " + (d.price || ""), "ok");
  }
}

function onSystem(frame) {
  const d = frame.data;
  if (frame.kind === "state") {
    showState(d);
    prepend("system", clock(frame.ts_ns) + "  trading " + d.state + ": " + d.reason, d.state === "halted" ? "bad" : "ok");
  } else if (frame.kind === "alert") {
    prepend("system", clock(frame.ts_ns) + "  ALERT " + (d.severity || "") + " " + (d.rule || d.name || "") + ": " +
            (d.message || JSON.stringify(d)), "bad");
  } else if (frame.kind === "health") {
    prepend("system", clock(frame.ts_ns) + "  " + d.venue + (d.ready ? " ready" : " not ready"), d.ready ? "ok" : "warn");
  } else if (frame.kind === "error") {
    prepend("system", "stream error: " + d.reason, "bad");
  }
}

function onQuotes(frame) {
  if (frame.kind !== "quotes") return;
  for (const q of frame.data.quotes) quotes.set(q.venue + " " + q.symbol, q);
  const rows = [...quotes.values()].sort((a, b) => (a.symbol + a.venue).localeCompare(b.symbol + b.venue));
  fillTable("quotes", rows.map((q) => [q.venue, q.symbol, q.bid ?? "-", q.ask ?? "-", q.bid_size ?? "-", q.ask_size ?? "-"]));
}

function openStreams() {
  for (const socket of Object.values(sockets)) socket.close();
  stream("/trades", onTrade);
  stream("/system", onSystem);
  stream("/market-data?interval_ms=500", onQuotes);
}

// -- commands ------------------------------------------------------------------------------

async function command(path, body, done) {
  try {
    const state = await api(path, { method: "POST", body: JSON.stringify(body) });
    showState(state);
    say(done, "ok");
  } catch (error) {
    say(path + " refused: " + error.message, "bad");
  }
}

$("stop").addEventListener("click", () => command("/trading/stop", { reason: "stopped from the dashboard" }, "trading stopped"));
$("start").addEventListener("click", () => command("/trading/start", {}, "trading started"));
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value);
  $("token").value = "";
  $("token").placeholder = token() ? "token set" : "API token";
  say(token() ? "token kept for this tab" : "token cleared");
  openStreams();
  poll();
});
if (token()) $("token").placeholder = "token set";
window.addEventListener("resize", drawChart);
openStreams();
poll();
setInterval(poll, POLL_MS);

// smppgate ops page: reads /v1/ops/events (server-sent events over fetch, so that the API key
// can travel as a header, never in a URL) and redraws each panel from one snapshot a second.
// Every value from the server enters the DOM as text (textContent), never as HTML.
"use strict";

const KEY_STORAGE = "smppgate.apiKey";
const RETRY_MS = 2000;
const STALE_MS = 4000;

// ------------------------------------------------------------------ DOM helpers

function $(id) {
  return document.getElementById(id);
}

// el("td", {class: "num"}, "42", child, ...): strings become text nodes, so data is never
// parsed as markup; null and undefined children are skipped.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

function badge(text, tone, attrs) {
  return el("span", Object.assign({ class: "badge badge-" + tone }, attrs || {}), text);
}

function fmtNumber(n) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 120) return Math.round(s) + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}

function fmtTime(epoch) {
  if (epoch === null || epoch === undefined) return "–";
  return new Date(epoch * 1000).toLocaleTimeString("en-GB", { hour12: false });
}

function fmtIso(iso) {
  if (!iso) return "–";
  return iso.replace("T", " ").replace("Z", "");
}

const STATE_TONES = {
  bound: "ok",
  connecting: "info",
  cooling_down: "warn",
  waiting: "idle",
  draining: "info",
  stopped: "bad",
  scheduled: "idle",
  queued: "idle",
  sending: "info",
  submitted: "info",
  delivered: "ok",
  accepted: "ok",
  undeliverable: "bad",
  expired: "bad",
  rejected: "bad",
  failed: "bad",
  unknown: "warn",
  blocked: "warn",
  cancelled: "idle",
};

function stateText(state) {
  return state === "cooling_down" ? "cooling down" : state.replace(/_/g, " ");
}

// ------------------------------------------------------------------ the key

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

function headers() {
  const key = storedKey();
  return key ? { "X-API-Key": key } : {};
}

function askForKey(message) {
  $("key-panel").hidden = false;
  $("dash").hidden = true;
  $("key-error").textContent = message || "";
  setLink("key needed", "warn");
  $("key-input").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("key-input").value = "";
  $("key-panel").hidden = true;
  $("dash").hidden = false;
  connect();
});

// ------------------------------------------------------------------ the event stream

let lastData = 0;
let generation = 0;

function setLink(text, tone) {
  const link = $("link");
  link.textContent = text;
  link.className = "badge badge-" + tone;
}

class Unauthorized extends Error {}

// One SSE stream at a time: a new connect() (after a key was given) ends the old loop.
async function connect() {
  const mine = ++generation;
  while (mine === generation) {
    try {
      await readStream(mine);
    } catch (err) {
      if (err instanceof Unauthorized) {
        const had = storedKey() !== null;
        sessionStorage.removeItem(KEY_STORAGE);
        askForKey(had ? "That key was not accepted." : "");
        return;
      }
    }
    if (mine !== generation) return;
    setLink("reconnecting", "bad");
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function readStream(mine) {
  const response = await fetch("/v1/ops/events", {
    headers: Object.assign({ Accept: "text/event-stream" }, headers()),
    cache: "no-store",
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (mine === generation) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      onEvent(block);
    }
  }
  reader.cancel();
}

function onEvent(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (type !== "snapshot" || data.length === 0) return;
  const snapshot = JSON.parse(data.join("\n"));
  lastData = Date.now();
  setLink("live", "ok");
  render(snapshot);
}

setInterval(() => {
  if (lastData && Date.now() - lastData > STALE_MS && $("link").textContent === "live") {
    setLink("stale", "warn");
  }
}, 1000);

// ------------------------------------------------------------------ rendering

function render(s) {
  $("node").textContent = s.node_id;
  const store = $("store");
  store.textContent = s.store_up ? "up" : "down";
  store.className = "badge badge-" + (s.store_up ? "ok" : "bad");
  $("clock").textContent = fmtTime(s.now);
  renderAccounts(s.accounts);
  renderQueue(s.queue);
  renderRates(s.rates, s.totals, s.now);
  renderResponses(s.responses);
  renderReceipts(s.receipts);
  renderRetries(s.retries);
  renderClients(s.clients || []);
  renderFrontDoor(s.front_door || null);
  renderWebhooks(s.webhooks);
  renderErrors(s.errors);
}

function sessionState(row) {
  const tone = STATE_TONES[row.state] || "idle";
  const label = badge(stateText(row.state), tone, { "data-testid": "session-state" });
  if (row.state !== "cooling_down") return label;
  const total = row.cooldown_total || row.cooldown_left || 1;
  const done = Math.max(0, Math.min(100, 100 * (1 - row.cooldown_left / total)));
  return el(
    "span",
    { class: "cooldown" },
    label,
    el("b", { "data-testid": "cooldown-left" }, Math.ceil(row.cooldown_left) + " s"),
    el("span", { class: "muted" }, "of " + Math.ceil(total) + " s after " + row.cooldown_reason),
    el("span", { class: "meter" }, el("span", { style: "width:" + done.toFixed(0) + "%" })),
  );
}

function windowCell(used, size) {
  const pct = size ? Math.min(100, (100 * used) / size) : 0;
  return el(
    "td",
    {},
    el("span", { class: "meter window" }, el("span", { style: "width:" + pct.toFixed(0) + "%" })),
    " " + used + " / " + size,
  );
}

function renderAccounts(accounts) {
  const box = $("accounts");
  if (!accounts.length) {
    box.replaceChildren(el("p", { class: "muted" }, "no accounts configured"));
    return;
  }
  box.replaceChildren(
    ...accounts.map((a) =>
      el(
        "div",
        { class: "account", "data-account": a.name },
        el(
          "div",
          { class: "account-head" },
          el("span", { class: "name" }, a.name),
          el("span", { class: "muted" }, "system_id " + a.system_id),
          el("span", {}, "bound ", el("b", {}, a.bound + " / " + a.sessions.length)),
          el("span", {}, "in flight ", el("b", {}, a.inflight)),
          el("span", {}, "backlog ", el("b", {}, a.backlog)),
          el("span", { title: "no response, the SMSC's TCP had acknowledged the submit" }, "unknown ", el("b", {}, a.stats.unknown)),
          el("span", { title: "no response, the SMSC's TCP never acknowledged the submit: sent again" }, "requeued after link loss ", el("b", {}, a.stats.requeued_link_loss)),
          el("span", { class: "muted" }, a.hosts.map((h) => h.address + " (" + h.role + ")").join(", ")),
        ),
        el(
          "table",
          { class: "compact" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["#", "mode", "state", "host", "window", "last PDU in", "reconnects", "failures", "last error / close"].map(
                (h) => el("th", {}, h),
              ),
            ),
          ),
          el(
            "tbody",
            {},
            a.sessions.map((row) =>
              el(
                "tr",
                { "data-testid": "session", "data-state": row.state },
                el("td", {}, row.slot),
                el("td", {}, row.mode),
                el("td", {}, sessionState(row)),
                el(
                  "td",
                  { class: row.host_current ? null : "muted", title: row.host_current ? null : "last host" },
                  row.host || "–",
                  row.role ? el("span", { class: "role" }, row.role) : null,
                ),
                windowCell(row.window_used, row.window_size),
                el("td", { class: "num" }, row.last_pdu_ago === null ? "–" : fmtSeconds(row.last_pdu_ago) + " ago"),
                el("td", { class: "num" }, row.reconnects),
                el("td", { class: "num" }, row.failures),
                el("td", { class: "wrap muted" }, row.last_error || row.last_close_reason || ""),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

const FINAL_OK = new Set(["delivered"]);
const FINAL_BAD = new Set(["undeliverable", "expired", "rejected", "failed"]);

function renderQueue(queue) {
  $("queue").replaceChildren(
    ...Object.entries(queue).map(([state, count]) =>
      el(
        "div",
        {
          class: "tile" + (FINAL_OK.has(state) ? " final-ok" : FINAL_BAD.has(state) && count ? " final-bad" : ""),
          "data-state": state,
        },
        el("div", { class: "label" }, state),
        el("div", { class: "count", "data-testid": "queue-" + state }, fmtNumber(count)),
      ),
    ),
  );
}

function facts(id, pairs) {
  $(id).replaceChildren(...pairs.flatMap(([name, value, testid]) => [el("dt", {}, name), el("dd", { "data-testid": testid }, value)]));
}

function niceMax(value) {
  if (value <= 1) return 1;
  const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

function renderRates(rates, totals, now) {
  $("submits-rate").textContent = fmtNumber(rates.submits_per_second);
  $("receipts-rate").textContent = fmtNumber(rates.receipts_per_second);
  facts("totals", [
    ["accepted", fmtNumber(totals.accepted), "total-accepted"],
    ["submit_sm sent", fmtNumber(totals.submits), "total-submits"],
    ["receipts", fmtNumber(totals.receipts), "total-receipts"],
    ["MO / USSD in", fmtNumber(totals.inbound), "total-inbound"],
  ]);
  drawChart(rates, now);
}

function drawChart(rates, now) {
  const box = $("chart");
  const width = Math.max(200, box.clientWidth || 300);
  const height = Math.max(80, box.clientHeight || 120);
  const left = 34;
  const bottom = 16;
  // the last 5 minutes, or less while the gateway has not been up that long
  const up = rates.t.length ? now - rates.t[0] : 0;
  const span = Math.min(300, Math.max(60, Math.ceil(up / 60) * 60));
  const step = span <= 60 ? 15 : span <= 180 ? 30 : 60;
  $("rate-window").textContent = "last " + span / 60 + " min";
  const peak = Math.max(0, ...rates.submits, ...rates.receipts);
  const top = niceMax(peak);
  const x = (t) => left + ((width - left - 4) * (span - Math.min(span, Math.max(0, now - t)))) / span;
  const y = (v) => 4 + (height - bottom - 4) * (1 - v / top);
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, preserveAspectRatio: "none" });
  for (const v of [0, top / 2, top]) {
    chart.append(svg("line", { class: "grid-line", x1: left, x2: width - 4, y1: y(v), y2: y(v) }));
    const label = svg("text", { class: "axis-label", x: left - 4, y: y(v) + 3, "text-anchor": "end" });
    label.textContent = fmtNumber(v);
    chart.append(label);
  }
  for (let ago = 0; ago <= span; ago += step) {
    const label = svg("text", { class: "axis-label", x: x(now - ago), y: height - 3, "text-anchor": ago ? "middle" : "end" });
    label.textContent = ago === 0 ? "now" : step < 60 ? "-" + ago + "s" : "-" + ago / 60 + "m";
    chart.append(label);
  }
  for (const name of ["submits", "receipts"]) {
    const points = [];
    rates.t.forEach((t, i) => {
      if (now - t <= span) points.push(x(t).toFixed(1) + "," + y(rates[name][i]).toFixed(1));
    });
    if (points.length > 1) chart.append(svg("polyline", { class: "series-" + name, points: points.join(" ") }));
  }
  box.replaceChildren(chart);
}

function barRows(tbody, rows, bad) {
  const peak = Math.max(1, ...rows.map((r) => r.count));
  $(tbody).replaceChildren(
    ...rows.map((r) =>
      el(
        "tr",
        { "data-key": r.name },
        el("td", { class: "mono" }, r.name),
        el("td", { class: "num" }, fmtNumber(r.count)),
        el(
          "td",
          { class: "bar-cell" },
          el("div", { class: "hbar" + (bad(r.name) ? " bad" : ""), style: "width:" + ((100 * r.count) / peak).toFixed(1) + "%" }),
        ),
      ),
    ),
  );
}

function renderResponses(responses) {
  if (!responses.length) {
    $("responses").replaceChildren(el("tr", {}, el("td", { class: "muted" }, "no responses yet")));
    return;
  }
  barRows(
    "responses",
    responses.map((r) => ({ name: r.status, count: r.count })),
    (name) => name !== "ESME_ROK",
  );
}

function percent(rate) {
  return rate === null || rate === undefined ? "–" : (100 * rate).toFixed(1) + " %";
}

function renderReceipts(r) {
  facts("receipts", [
    ["received", fmtNumber(r.received), "receipts-received"],
    ["matched", percent(r.match_rate), "receipts-match-rate"],
    ["matched on arrival", percent(r.match_rate_on_arrival), "receipts-match-on-arrival"],
    ["kept unmatched", fmtNumber(r.unmatched_stored), "receipts-unmatched"],
    [
      "median latency",
      r.median_latency === null ? "–" : fmtSeconds(r.median_latency) + " (" + r.latency_sample + " parts)",
      "receipts-latency",
    ],
  ]);
  barRows(
    "receipt-states",
    Object.entries(r.by_state)
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count),
    (name) => name !== "delivered" && name !== "accepted",
  );
}

const REASON_TONES = { throttled: "warn", queue_full: "warn", transient: "bad", scheduled: "idle" };

function renderRetries(retries) {
  const reasons = Object.entries(retries.by_reason).map(([reason, n]) => reason.replace("_", " ") + " " + n);
  let note = retries.waiting + (retries.truncated ? "+" : "") + " waiting";
  if (reasons.length) note += ": " + reasons.join(" · ");
  if (retries.items.length < retries.waiting) note += " (the soonest " + retries.items.length + " below)";
  $("retry-note").textContent = note;
  if (!retries.items.length) {
    $("retries").replaceChildren(el("tr", {}, el("td", { class: "muted", colspan: 7 }, "nothing waits for a retry")));
    return;
  }
  $("retries").replaceChildren(
    ...retries.items.map((r) =>
      el(
        "tr",
        { "data-testid": "retry" },
        el("td", { class: "mono" }, r.id),
        el("td", {}, r.account),
        el("td", { class: "mono" }, r.destination),
        el("td", {}, badge(r.reason.replace("_", " "), REASON_TONES[r.reason] || "idle")),
        el("td", {}, r.detail),
        el("td", { class: "num" }, r.attempts),
        el("td", { class: "num" }, fmtSeconds(r.in)),
      ),
    ),
  );
}

function renderClients(clients) {
  if (!clients.length) {
    $("clients").replaceChildren(el("tr", {}, el("td", { class: "muted", colspan: 7 }, "no clients")));
    return;
  }
  $("clients").replaceChildren(
    ...clients.map((c) => {
      const quota = c.daily_quota === null ? fmtNumber(c.used_today) + " / –" : fmtNumber(c.used_today) + " / " + fmtNumber(c.daily_quota);
      const full = c.daily_quota !== null && c.used_today >= c.daily_quota;
      const refused = c.limited.rate + c.limited.daily_quota;
      return el(
        "tr",
        { "data-testid": "client" },
        el("td", {}, c.name, c.operator ? " " : null, c.operator ? badge("operator", "idle") : null),
        el("td", {}, c.accounts === null ? "all" : c.accounts.join(", ")),
        el("td", {}, c.default_class || "–"),
        el("td", { class: "num" }, c.rate === null ? "–" : fmtNumber(c.rate) + "/s"),
        el("td", { class: "num", "data-testid": "client-quota" }, full ? badge(quota, "bad") : quota),
        el("td", { class: "num" }, fmtNumber(c.accepted)),
        el("td", { class: "num" }, refused ? badge(fmtNumber(refused), "warn") : "0"),
      );
    }),
  );
}

// the applications bound over SMPP, one row per configured user (the panel is hidden when the
// front door is off)
function renderFrontDoor(door) {
  $("front-door-panel").hidden = door === null;
  if (door === null) return;
  $("front-door-note").textContent = "listening on " + door.listen + "; backlogs: receipts and routed MO waiting in the store, bound or not";
  if (!door.users.length) {
    $("front-door").replaceChildren(el("tr", {}, el("td", { class: "muted", colspan: 9 }, "no users")));
    return;
  }
  $("front-door").replaceChildren(
    ...door.users.map((u) => {
      const bound = u.sessions.length;
      const apps = u.sessions.map((x) => x.mode + " " + x.peer).join(", ");
      const limit = u.throughput === null ? "" : " / " + fmtNumber(u.throughput);
      return el(
        "tr",
        { "data-testid": "door-user", "data-user": u.system_id },
        el("td", {}, u.system_id),
        el("td", {}, u.account),
        el("td", { title: apps, "data-testid": "door-bound" }, bound ? badge(bound + " / " + u.max_binds, "ok") : badge("0 / " + u.max_binds, "idle")),
        windowCell(u.window_used, door.window * Math.max(1, bound)),
        el("td", { class: "num" }, fmtNumber(u.submits_per_second) + limit),
        el("td", { class: "num", "data-testid": "door-submits" }, fmtNumber(u.submits)),
        el("td", { class: "num", "data-testid": "door-receipts" }, fmtNumber(u.receipts_sent)),
        el("td", { class: "num", "data-testid": "door-backlog" }, u.receipt_backlog ? badge(fmtNumber(u.receipt_backlog), "warn") : "0"),
        el("td", { class: "num", "data-testid": "door-mo-backlog" }, u.mo_backlog ? badge(fmtNumber(u.mo_backlog), "warn") : "0"),
      );
    }),
  );
}

function renderWebhooks(w) {
  facts("webhooks", [
    ["backlog", fmtNumber(w.backlog), "webhooks-backlog"],
    ["delivered", fmtNumber(w.delivered), "webhooks-delivered"],
    ["retried", fmtNumber(w.retry), "webhooks-retry"],
    ["given up", fmtNumber(w.gave_up), "webhooks-gave-up"],
  ]);
}

function renderErrors(errors) {
  if (!errors.length) {
    $("errors").replaceChildren(el("tr", {}, el("td", { class: "muted" }, "no warnings or errors")));
    return;
  }
  $("errors").replaceChildren(
    ...errors.slice(0, 20).map((e) =>
      el(
        "tr",
        {},
        el("td", { class: "muted" }, fmtTime(e.at)),
        el("td", { class: "level-" + e.level }, e.level),
        el("td", { class: "muted" }, e.logger),
        el("td", { class: "wrap" }, e.message),
      ),
    ),
  );
}

// ------------------------------------------------------------------ search

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = $("search-input").value.trim();
  if (!q) return;
  const note = $("search-note");
  note.textContent = "searching…";
  let response;
  try {
    response = await fetch("/v1/ops/search?q=" + encodeURIComponent(q), { headers: headers(), cache: "no-store" });
  } catch (err) {
    note.textContent = "the gateway did not answer";
    return;
  }
  if (response.status === 401) {
    note.textContent = "";
    askForKey("The key is needed to search.");
    return;
  }
  const body = await response.json();
  if (!response.ok) {
    note.textContent = (body.error && body.error.message) || "HTTP " + response.status;
    $("search-results").replaceChildren();
    return;
  }
  const scanned = body.kind === "destination" ? " (" + fmtNumber(body.scanned) + " recent messages looked at)" : "";
  note.textContent = body.messages.length + " found" + scanned;
  $("search-results").replaceChildren(...body.messages.map(messageCard));
});

function table(headings, rows) {
  return el(
    "table",
    { class: "compact" },
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))))),
  );
}

function messageCard(m) {
  const receipts = m.parts.flatMap((p) => p.receipts.map((r) => ({ seq: p.seq, ...r })));
  return el(
    "div",
    { class: "result", "data-testid": "search-result", "data-id": m.id },
    el(
      "div",
      { class: "result-head" },
      el("b", { class: "mono" }, m.id),
      badge(m.status, STATE_TONES[m.status] || "idle", { "data-testid": "result-status" }),
      el("span", {}, "to ", el("b", { class: "mono" }, m.to)),
      el("span", {}, "from ", el("b", {}, m.from)),
      el("span", { class: "muted" }, "account " + m.account),
      el("span", { class: "muted" }, "created " + fmtIso(m.created_at)),
      m.reference ? el("span", { class: "muted" }, "reference " + m.reference) : null,
      m.last_status ? el("span", { class: "muted" }, "last status " + m.last_status) : null,
    ),
    el("p", { class: "text" }, m.text),
    el("h3", {}, "Parts (" + m.parts.length + ")"),
    table(
      ["#", "status", "SMSC id", "attempts", "submitted", "receipt", "at", "error"],
      m.parts.map((p) => [
        p.seq,
        badge(p.status, STATE_TONES[p.status] || "idle"),
        el("td", { class: "mono" }, p.message_id || "–"),
        p.attempt_count,
        fmtIso(p.submitted_at),
        p.receipt_state ? badge(p.receipt_state, STATE_TONES[p.receipt_state] || "idle") : "–",
        fmtIso(p.receipt_at),
        p.error_code || p.last_status || "",
      ]),
    ),
    el("h3", {}, "Attempts (" + m.attempts.length + ")"),
    table(
      ["at", "part", "outcome", "command_status", "host", "session", "node"],
      m.attempts.map((a) => [fmtIso(a.at), a.seq === null ? "–" : a.seq, a.outcome, a.status_name || "–", a.host, a.session_id, a.node_id]),
    ),
    el("h3", {}, "Receipts (" + receipts.length + ")"),
    receipts.length
      ? table(
          ["part", "state", "received", "error", "raw"],
          receipts.map((r) => [r.seq, r.state, fmtIso(r.received_at), r.error_code || "", el("td", { class: "wrap mono" }, r.raw)]),
        )
      : el("p", { class: "muted" }, "none yet"),
  );
}

// ------------------------------------------------------------------ start

connect();

import { h, fill, svg, keyed } from "/static/dom.js";
import { TEXTS, lang, toggle, rub, when } from "/static/i18n.js";
const t = TEXTS[lang()];
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("staff-token");
$("title").textContent = t.staff;
$("lang").textContent = t.lang;
$("lang").onclick = toggle;
$("findsale").textContent = t.sale_lookup;
$("retcode").placeholder = t.sale_lookup;
$("retcode").ariaLabel = t.sale_lookup;
$("pinbtn").textContent = t.sign_in;
$("badgebtn").textContent = t.badge;
$("lookup").textContent = t.lookup;
async function call(path, method = "GET", body) {
  const r = await fetch(path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const d = await r.json();
  if (r.status === 401 && token) {
    token = null;
    sessionStorage.removeItem("staff-token");
    show();
  }
  if (!r.ok) throw d.detail && d.detail.code ? d.detail : { code: "invalid_request" };
  return d;
}
/** What staff read for a refusal: its translation, never its code or English. */
const errorText = (e) => (e && t.errors[e.code]) || t.errors.generic;
function signedIn(tok) {
  token = tok;
  sessionStorage.setItem("staff-token", tok);
  show();
}
$("pinbtn").onclick = async () => {
  try {
    signedIn(
      (await call("/api/staff/token", "POST", { staff_id: $("staff_id").value, pin: $("pin").value })).token,
    );
  } catch (e) {
    $("msg").textContent = errorText(e);
  }
};
$("pin").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") $("pinbtn").click();
}); // a keyboard signs in too
$("badgebtn").onclick = async () => {
  const { challenge } = await call("/api/staff/badge", "POST", { pin: $("pin").value || null });
  $("msg").textContent = t.badge_wait;
  for (let i = 0; i < 60 && !token; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    try {
      signedIn((await call(`/api/staff/badge/${challenge}`)).token);
    } catch {
      /* still waiting */
    }
  }
};
$("lookup").onclick = async () => {
  try {
    codeInfo(await call(`/api/staff/codes/${encodeURIComponent($("code").value)}?check=true`));
  } catch (e) {
    $("codeinfo").textContent = errorText(e);
  }
};
/** A code as staff read it: the product, its price in roubles, the verdict in words, when. */
function codeInfo(c) {
  const check = c.check || {};
  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  const verdict = { ALLOWED: t.verified, BLOCKED: t.blocked, UNAVAILABLE: t.unavailable }[check.outcome];
  fill(
    $("codeinfo"),
    h(
      "dl",
      { class: "facts" },
      row(t.product_title, c.product ? c.product.name : t.product_unknown),
      c.product ? row(t.price, rub(c.product.price)) : null,
      row("GTIN", c.gtin),
      c.serial ? row(t.serial, c.serial) : null,
      check.outcome
        ? row(t.check_result, h("b", { dataset: { outcome: check.outcome } }, verdict || t.unavailable))
        : null,
      check.source ? row(t.product_source, (t.product_sources || {})[check.source] || check.source) : null,
      check.checked_at ? row(t.product_checked, when(check.checked_at, timezone)) : null,
      (check.reasons || []).length
        ? row(
            t.reasons,
            check.reasons.map((r) => (t.product_reasons || {})[r.code] || t.product_reason_other).join("; "),
          )
        : null,
      row(t.product_sold, c.sold_here ? t.yes : t.no),
    ),
  );
}
function showSale(s, message = "") {
  const rows = s.lines.map((x) =>
    h(
      "tr",
      { dataset: { saleLine: x.id } },
      h(
        "td",
        {},
        x.returned
          ? null
          : h("input", {
              type: "checkbox",
              class: "big",
              dataset: { return: x.id, amount: x.amount },
              "aria-label": x.name,
            }),
      ),
      h("td", {}, x.name),
      h("td", { class: "num" }, rub(x.amount)),
      h("td", {}, x.returned ? t.returned : ""),
    ),
  );
  const r = s.receipt;
  fill(
    $("sale"),
    h(
      "p",
      { class: "salehead", id: "salehead" },
      `${t.sale}: ${s.lane}`,
      r ? ` · ${t.fiscal_receipt} № ${r.number} · ${when(r.at, timezone)}` : "",
      ` · ${t.total}: ${rub(s.total)}`,
    ),
    h("table", { class: "returnable" }, rows),
    h("button", { id: "giveback", class: "primary", dataset: { basket: s.basket } }, t.give_back),
    h(
      "div",
      { id: "retconfirm", hidden: true },
      h("p", { id: "retquestion" }),
      h("button", { id: "retyes", class: "primary", dataset: { basket: s.basket } }, t.yes_return),
      " ",
      h("button", { id: "retno" }, t.no),
    ),
    " ",
    h("span", { id: "retmsg", class: "muted" }, message),
  );
}
/** Before the money goes back: what, and how much. */
function askReturn() {
  const ticked = [...document.querySelectorAll("[data-return]:checked")];
  if (!ticked.length) {
    $("retmsg").textContent = t.tick_items;
    return;
  }
  const amount = ticked.reduce((sum, e) => sum + Number(e.dataset.amount), 0);
  $("retquestion").textContent = `${t.return_question} ${ticked.length} · ${rub(amount)}?`;
  $("retconfirm").hidden = false;
  $("giveback").hidden = true;
}
$("findsale").onclick = async () => {
  try {
    showSale(await call(`/api/staff/sales?code=${encodeURIComponent($("retcode").value)}`));
  } catch (e) {
    $("sale").textContent = errorText(e);
  }
};
async function giveBack(basket) {
  const lines = [...document.querySelectorAll("[data-return]:checked")].map((e) => Number(e.dataset.return));
  try {
    const r = await call("/api/staff/returns", "POST", { basket, lines });
    showSale(
      await call(`/api/staff/sales/${encodeURIComponent(basket)}`),
      r.step === "done" ? `${t.return_done}: ${rub(r.amount)}` : t.return_pending,
    );
  } catch (e) {
    $("retmsg").textContent = errorText(e);
  }
}
function register(f) {
  if (!f) return null;
  const why = f.refuses_payments || f.error;
  const r = f.register;
  const kind =
    r && r.fn_blocked
      ? "fn_blocked"
      : r && !r.paper
        ? "paper_out"
        : r && r.cover_open
          ? "cover_open"
          : f.error_kind;
  const said = why ? t.errors[kind] || t.errors.unavailable : t.register_ok;
  return h(
    "p",
    { class: why ? "problem CRITICAL" : "muted", dataset: { register: f.ok ? "ok" : "down" } },
    `${t.register}: ${said}`,
    r
      ? ` · ${t.shift} ${r.shift_number} (${t.shift_states[r.shift] || r.shift}) · ${t.ofd_backlog}: ${r.ofd_unsent}`
      : "",
  );
}
let timezone; // the store's, for the times staff read
window.cues = 0; // new CRITICAL interventions signalled (sound and vibration), for the tests
const seen = new Set();
function cue() {
  // a short beep and a buzz: a new CRITICAL intervention
  window.cues += 1;
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  try {
    const ac = new AudioContext(),
      o = ac.createOscillator();
    o.frequency.value = 880;
    o.connect(ac.destination);
    o.start();
    o.stop(ac.currentTime + 0.25);
  } catch {
    /* no audio device */
  }
}
/** The queue's rows: each basket problem its own; exit-gate alarms and lane faults one row per
 *  lane and cause, however many (a storm of alarms never pushes the help request off screen). */
function grouped(queue) {
  const out = new Map();
  for (const i of queue) {
    const key = i.basket ? `${i.basket}/${i.problem}` : `${i.lane}|${i.code}`;
    const g = out.get(key);
    if (g) {
      g.count += 1;
      g.ids.push(i.problem);
      g.line = i.line || g.line;
    } else out.set(key, { ...i, key, count: 1, ids: [i.problem] });
  }
  return [...out.values()];
}
function intervention(i) {
  const since = when(new Date(i.since * 1000).toISOString(), timezone);
  const alarm = i.actions.includes("resolve");
  return h(
    "li",
    { class: `problem ${i.level}`, dataset: { intervention: i.code, lane: i.lane, count: i.count } },
    h("b", {}, i.lane),
    ` · ${t.problems[i.code] || t.errors.generic}${i.line ? ` · ${i.line}` : ""}`,
    i.count > 1 ? [" ", h("b", { class: "count" }, `×${i.count}`)] : null,
    " · ",
    h("span", { class: "muted", dataset: { waited: "" } }, waited(i.waiting_s)),
    " ",
    i.actions.includes("approve")
      ? h("button", { class: "primary", dataset: { approve: `${i.lane}/${i.problem}` } }, t.approve)
      : null,
    i.actions.includes("void") ? h("button", { dataset: { void: `${i.lane}/${i.line_id}` } }, t.void) : null,
    alarm
      ? [
          h("span", { class: "muted" }, since),
          " ",
          i.count > 1
            ? h(
                "button",
                { class: "primary", dataset: { resolveAll: `${i.lane}/${i.ids.join(",")}` } },
                t.resolved,
              )
            : h("button", { class: "primary", dataset: { resolve: `${i.lane}/${i.problem}` } }, t.resolved),
        ]
      : null,
  );
}
function lane(l) {
  const b = l.basket;
  const readers = Object.entries(l.readers)
    .map(([r, health]) => `${r}: ${health ? t.reader_states[health.state] || health.state : "?"}`)
    .join(", ");
  const problems = b.problems
    .filter((p) => p.open)
    .map((p) =>
      h(
        "div",
        { class: `problem ${p.level}`, dataset: { problem: p.code } },
        t.problems[p.code] || t.errors.generic,
        " ",
        p.level === "MEDIUM" ? h("button", { dataset: { approve: `${l.lane}/${p.id}` } }, t.approve) : null,
        " ",
        p.line_id ? h("button", { dataset: { void: `${l.lane}/${p.line_id}` } }, t.void) : null,
      ),
    );
  const lines = b.lines.map((x) =>
    h(
      "tr",
      {},
      h("td", {}, x.name),
      h("td", { class: "num" }, rub(x.amount)),
      h("td", {}, h("button", { dataset: { void: `${l.lane}/${x.id}` } }, t.void)),
    ),
  );
  const paused = b.paused
    ? h(
        "div",
        { class: "problem CRITICAL", dataset: { paused: b.paused.code } },
        `${t.paused_staff}: ${t.errors[b.paused.code] || t.errors.store_unavailable}`,
      )
    : null;
  const critical =
    b.problems.some((p) => p.open && p.level === "CRITICAL") || !!b.paused || (l.register && !l.register.ok);
  const medium = b.problems.some((p) => p.open);
  const tone = critical ? "alarm" : medium ? "attention" : b.lines.length ? "busy" : "idle";
  return h(
    "section",
    { class: `tile ${tone}`, dataset: { lane: l.lane, tone } },
    h("h3", {}, `${l.lane} · ${t.states[b.state] || b.state}`),
    h("p", { class: "muted" }, `${t.readers}: ${readers}`),
    register(l.register),
    paused,
    problems,
    h("table", {}, lines),
    h("p", { class: "total" }, rub(b.total)),
  );
}
function quarantined(q) {
  return h(
    "section",
    { dataset: { quarantined: q.basket } },
    h("h3", {}, `${t.quarantined}: ${q.lane} · ${q.basket}`),
    h("p", { class: "muted" }, q.reason),
  );
}
function waited(s) {
  return s < 60 ? `${Math.round(s)} ${t.sec}` : `${Math.floor(s / 60)} ${t.min}`;
}
async function refreshQueue() {
  const q = (await call("/api/staff/queue")).interventions;
  for (const i of q) {
    const key = `${i.basket}/${i.problem}`;
    if (!seen.has(key)) {
      seen.add(key);
      if (i.level === "CRITICAL") cue();
    }
  }
  const rows = grouped(q);
  $("queuetitle").textContent = `${t.queue} (${rows.length})`;
  const still = (i) => JSON.stringify({ ...i, waiting_s: 0 }); // its clock ticks in place
  keyed($("interventions"), rows, (i) => i.key, intervention, still);
  for (const i of rows) {
    const el = $("interventions").querySelector(`[data-key="${CSS.escape(i.key)}"] [data-waited]`);
    if (el) el.textContent = waited(i.waiting_s);
  }
}
async function refresh() {
  if (!token) return;
  try {
    await refreshQueue();
    const d = await call("/api/staff/lanes");
    $("who").textContent = d.staff;
    timezone = d.timezone;
    // each lane a tile that stays put: rebuilt only when what it shows changed
    const shown = (l) =>
      JSON.stringify([
        l.basket,
        Object.values(l.readers).map((x) => x && x.state),
        l.register && [l.register.ok, l.register.error_kind, l.register.register],
      ]);
    keyed($("lanes"), d.lanes, (l) => l.lane, lane, shown);
    keyed($("quarantine"), d.quarantined, (q) => q.basket, quarantined);
  } catch {
    /* shown on next refresh */
  }
}
document.addEventListener("click", async (ev) => {
  const a = ev.target.dataset.approve,
    v = ev.target.dataset.void,
    g = ev.target.dataset.resolve;
  if (g) {
    const [gate, id] = g.split("/");
    await call(`/api/staff/gates/${encodeURIComponent(gate)}/alarms/${id}/resolve`, "POST");
    refresh();
  }
  if (ev.target.id === "giveback") {
    askReturn();
    return;
  }
  if (ev.target.id === "retno") {
    $("retconfirm").hidden = true;
    $("giveback").hidden = false;
    return;
  }
  if (ev.target.id === "retyes") {
    await giveBack(ev.target.dataset.basket);
    return;
  }
  const all = ev.target.dataset.resolveAll;
  if (all) {
    const [gate, ids] = all.split("/");
    for (const id of ids.split(","))
      await call(`/api/staff/gates/${encodeURIComponent(gate)}/alarms/${id}/resolve`, "POST");
    refresh();
  }
  if (a) {
    const [lane, id] = a.split("/");
    await call(`/api/staff/lanes/${lane}/problems/${id}/approve`, "POST");
    refresh();
  }
  if (v) {
    const [lane, id] = v.split("/");
    await call(`/api/staff/lanes/${lane}/lines/${id}/void`, "POST");
    refresh();
  }
});
$("dashbtn").textContent = t.dashboard;
$("dashbtn").onclick = async () => {
  // the manager's view: the last 24 h, in the reader's language; charts drawn by the server (SVG)
  const d = await call(`/api/staff/dashboard?lang=${lang()}`);
  const f = d.figures,
    r = f.time_to_resolve_s,
    bt = f.basket_time_s;
  const untouched = f.share_without_intervention;
  const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)} %`);
  const secs = (x) => (x === null || x === undefined ? "—" : `${Math.round(x)} ${t.sec}`);
  const figure = (key, label, value) =>
    h("li", {}, `${label}: `, h("b", { dataset: { figure: key } }, String(value)));
  fill(
    $("figures"),
    h(
      "ul",
      { class: "figures" },
      figure("revenue", t.revenue, rub(f.revenue_kop)),
      figure("baskets", t.baskets, f.baskets),
      figure("paid", t.paid, f.baskets_paid),
      figure("untouched", t.untouched, pct(untouched)),
      figure("basket_time", t.basket_time, `p50 ${secs(bt.p50)}, p90 ${secs(bt.p90)}`),
      figure("throughput", t.throughput, f.throughput_peak_per_hour),
      figure("decline_rate", t.decline_rate, pct(f.payments.decline_rate)),
      figure("shrink", t.shrink, rub(f.shrink.total_kop)),
      figure("gate_alarms", t.gate_alarms, f.gate_alarms.total),
      figure("resolve", t.resolve, `p50 ${secs(r.p50)}, p90 ${secs(r.p90)}`),
    ),
    h("h3", {}, t.per_lane),
    h(
      "table",
      { id: "perlane" },
      h(
        "tr",
        {},
        [t.lane, t.revenue, t.paid, t.cancelled, t.basket_time, t.register].map((x) =>
          h("th", { scope: "col" }, x),
        ),
      ),
      Object.entries(f.per_lane).map(([lane, v]) => {
        const reg = d.registers[lane];
        return h(
          "tr",
          { dataset: { lane } },
          h("td", {}, lane),
          h("td", { class: "num", dataset: { label: t.revenue } }, rub(v.revenue_kop)),
          h("td", { class: "num", dataset: { label: t.paid } }, String(v.paid)),
          h("td", { class: "num", dataset: { label: t.cancelled } }, String(v.cancelled)),
          h("td", { class: "num", dataset: { label: t.basket_time } }, secs(v.basket_time_s.p50)),
          h(
            "td",
            { dataset: { ofd: reg ? reg.ofd_unsent : "" } },
            reg
              ? `${t.shift} ${reg.shift_number ?? "—"} (${t.shift_states[reg.shift] || "—"}) · ${t.ofd_backlog}: ${reg.ofd_unsent ?? "—"}`
              : "—",
          ),
        );
      }),
    ),
  );
  fill($("charts"), Object.values(d.charts).map(svg));
};
function show() {
  $("signin").hidden = !!token;
  $("work").hidden = !token;
  refresh();
}
show();
setInterval(refresh, 1000);

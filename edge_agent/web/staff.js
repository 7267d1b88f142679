import { h, fill, svg } from "/static/dom.js";
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
    $("codeinfo").textContent = JSON.stringify(
      await call(`/api/staff/codes/${encodeURIComponent($("code").value)}?check=true`),
      null,
      2,
    );
  } catch (e) {
    $("codeinfo").textContent = errorText(e);
  }
};
function showSale(s, message = "") {
  const rows = s.lines.map((x) =>
    h(
      "tr",
      { dataset: { saleLine: x.id } },
      h(
        "td",
        {},
        x.returned ? null : h("input", { type: "checkbox", dataset: { return: x.id }, "aria-label": x.name }),
      ),
      h("td", {}, x.name),
      h("td", { class: "num" }, rub(x.amount)),
      h("td", {}, x.returned ? t.returned : ""),
    ),
  );
  fill(
    $("sale"),
    h("table", {}, rows),
    h("button", { id: "giveback", dataset: { basket: s.basket } }, t.give_back),
    " ",
    h("span", { id: "retmsg", class: "muted" }, message),
  );
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
      r.step === "done" ? `${t.return_done}: ${rub(r.amount)}` : r.message || r.step,
    );
  } catch (e) {
    $("retmsg").textContent = errorText(e);
  }
}
function register(f) {
  if (!f) return null;
  const why = f.refuses_payments || f.error;
  const r = f.register;
  return h(
    "p",
    { class: why ? "problem CRITICAL" : "muted", dataset: { register: f.ok ? "ok" : "down" } },
    `${t.register}: ${why || t.register_ok}`,
    r ? ` · ${t.shift} ${r.shift_number} (${r.shift}) · ОФД ${r.ofd_unsent}` : "",
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
function intervention(i) {
  const since = when(new Date(i.since * 1000).toISOString(), timezone);
  return h(
    "li",
    { class: `problem ${i.level}`, dataset: { intervention: i.code, lane: i.lane } },
    h("b", {}, i.lane),
    ` · ${t.problems[i.code] || i.message}${i.line ? ` · ${i.line}` : ""} · `,
    h("span", { class: "muted" }, waited(i.waiting_s)),
    " ",
    i.actions.includes("approve")
      ? h("button", { class: "primary", dataset: { approve: `${i.lane}/${i.problem}` } }, t.approve)
      : null,
    i.actions.includes("void") ? h("button", { dataset: { void: `${i.lane}/${i.line_id}` } }, t.void) : null,
    i.actions.includes("resolve")
      ? [
          h("span", { class: "muted" }, since),
          " ",
          h("button", { class: "primary", dataset: { resolve: `${i.lane}/${i.problem}` } }, t.resolved),
        ]
      : null,
  );
}
function lane(l) {
  const b = l.basket;
  const readers = Object.entries(l.readers)
    .map(([r, health]) => `${r}: ${health ? health.state : "?"}`)
    .join(", ");
  const problems = b.problems
    .filter((p) => p.open)
    .map((p) =>
      h(
        "div",
        { class: `problem ${p.level}`, dataset: { problem: p.code } },
        t.problems[p.code] || p.message,
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
        `${t.paused_staff}: ${b.paused.message}`,
      )
    : null;
  return h(
    "section",
    { dataset: { lane: l.lane } },
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
  $("queuetitle").textContent = `${t.queue} (${q.length})`;
  fill($("interventions"), q.map(intervention));
}
async function refresh() {
  if (!token) return;
  try {
    await refreshQueue();
    const d = await call("/api/staff/lanes");
    $("who").textContent = d.staff;
    timezone = d.timezone;
    fill($("lanes"), d.lanes.map(lane), d.quarantined.map(quarantined));
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
    await giveBack(ev.target.dataset.basket);
    return;
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
  // the manager's view: the last 24 h, charts drawn by the server (SVG)
  const d = await call("/api/staff/dashboard");
  const f = d.figures,
    r = f.time_to_resolve_s;
  const untouched = f.share_without_intervention;
  fill(
    $("figures"),
    h(
      "p",
      {},
      `${t.baskets}: `,
      h("b", { dataset: { figure: "baskets" } }, String(f.baskets)),
      ` · ${t.paid}: `,
      h("b", { dataset: { figure: "paid" } }, String(f.baskets_paid)),
      ` · ${t.untouched}: `,
      h(
        "b",
        { dataset: { figure: "untouched" } },
        untouched === null ? "—" : `${Math.round(untouched * 100)} %`,
      ),
      ` · ${t.resolve}: p50 ${r.p50 ?? "—"} ${t.sec}, p90 ${r.p90 ?? "—"} ${t.sec}`,
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

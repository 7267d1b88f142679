import { TEXTS, lang, toggle, rub, esc, when } from "/static/i18n.js";
const t = TEXTS[lang()];
const $ = id => document.getElementById(id);
let token = sessionStorage.getItem("staff-token");
$("title").textContent = t.staff; $("lang").textContent = t.lang; $("lang").onclick = toggle;
$("findsale").textContent = t.sale_lookup; $("retcode").placeholder = t.sale_lookup; $("retcode").ariaLabel = t.sale_lookup;
$("pinbtn").textContent = t.sign_in; $("badgebtn").textContent = t.badge; $("lookup").textContent = t.lookup;
async function call(path, method = "GET", body) {
  const r = await fetch(path, { method, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const d = await r.json();
  if (r.status === 401 && token) { token = null; sessionStorage.removeItem("staff-token"); show(); }
  if (!r.ok) throw d.detail || d;
  return d;
}
function signedIn(tok) { token = tok; sessionStorage.setItem("staff-token", tok); show(); }
$("pinbtn").onclick = async () => { try { signedIn((await call("/api/staff/token", "POST", { staff_id: $("staff_id").value, pin: $("pin").value })).token); }
  catch (e) { $("msg").textContent = e.message; } };
$("pin").addEventListener("keydown", ev => { if (ev.key === "Enter") $("pinbtn").click(); });  // a keyboard signs in too
$("badgebtn").onclick = async () => {
  const { challenge } = await call("/api/staff/badge", "POST", { pin: $("pin").value || null }); $("msg").textContent = t.badge_wait;
  for (let i = 0; i < 60 && !token; i++) { await new Promise(r => setTimeout(r, 1000));
    try { signedIn((await call(`/api/staff/badge/${challenge}`)).token); } catch (e) { /* still waiting */ } } };
$("lookup").onclick = async () => { try { $("codeinfo").textContent = JSON.stringify(await call(`/api/staff/codes/${encodeURIComponent($("code").value)}?check=true`), null, 2); }
  catch (e) { $("codeinfo").textContent = e.message; } };
function showSale(s, message = "") {
  $("sale").innerHTML = `<table>` + s.lines.map(x => `<tr data-sale-line="${x.id}"><td>${x.returned ? "" : `<input type="checkbox" data-return="${x.id}" aria-label="${esc(x.name)}">`}</td>` +
    `<td>${esc(x.name)}</td><td class="num">${rub(x.amount)}</td><td>${x.returned ? esc(t.returned) : ""}</td></tr>`).join("") +
    `</table><button id="giveback" data-basket="${esc(s.basket)}">${t.give_back}</button> <span id="retmsg" class="muted">${esc(message)}</span>`;
}
$("findsale").onclick = async () => { try { showSale(await call(`/api/staff/sales?code=${encodeURIComponent($("retcode").value)}`)); }
  catch (e) { $("sale").textContent = e.message; } };
async function giveBack(basket) {
  const lines = [...document.querySelectorAll("[data-return]:checked")].map(e => Number(e.dataset.return));
  try { const r = await call("/api/staff/returns", "POST", { basket, lines });
    showSale(await call(`/api/staff/sales/${encodeURIComponent(basket)}`), r.step === "done" ? `${t.return_done}: ${rub(r.amount)}` : (r.message || r.step)); }
  catch (e) { $("retmsg").textContent = e.message; }
}
function register(f) {
  if (!f) return "";
  const why = f.refuses_payments || f.error;
  return `<p class="${why ? "problem CRITICAL" : "muted"}" data-register="${f.ok ? "ok" : "down"}">${t.register}: ${esc(why || t.register_ok)}` +
    (f.register ? ` · ${esc(t.shift)} ${esc(f.register.shift_number)} (${esc(f.register.shift)}) · ОФД ${esc(f.register.ofd_unsent)}` : "") + `</p>`;
}
let timezone;  // the store's, for the times staff read
window.cues = 0;  // new CRITICAL interventions signalled (sound and vibration), for the tests
const seen = new Set();
function cue() {  // a short beep and a buzz: a new CRITICAL intervention
  window.cues += 1;
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  try { const ac = new AudioContext(), o = ac.createOscillator(); o.frequency.value = 880; o.connect(ac.destination);
        o.start(); o.stop(ac.currentTime + 0.25); } catch (e) { /* no audio device */ }
}
function waited(s) { return s < 60 ? `${Math.round(s)} ${t.sec}` : `${Math.floor(s / 60)} ${t.min}`; }
async function refreshQueue() {
  const q = (await call("/api/staff/queue")).interventions;
  for (const i of q) { const key = `${i.basket}/${i.problem}`; if (!seen.has(key)) { seen.add(key); if (i.level === "CRITICAL") cue(); } }
  $("queuetitle").textContent = `${t.queue} (${q.length})`;
  $("interventions").innerHTML = q.map(i => `<li class="problem ${i.level}" data-intervention="${esc(i.code)}" data-lane="${esc(i.lane)}">
    <b>${esc(i.lane)}</b> · ${esc(t.problems[i.code] || i.message)}${i.line ? ` · ${esc(i.line)}` : ""} · <span class="muted">${esc(waited(i.waiting_s))}</span>
    ${i.actions.includes("approve") ? `<button class="primary" data-approve="${esc(i.lane)}/${i.problem}">${t.approve}</button>` : ""}
    ${i.actions.includes("void") ? `<button data-void="${esc(i.lane)}/${i.line_id}">${t.void}</button>` : ""}
    ${i.actions.includes("resolve") ? `<span class="muted">${esc(when(new Date(i.since * 1000).toISOString(), timezone))}</span> <button class="primary" data-resolve="${esc(i.lane)}/${i.problem}">${t.resolved}</button>` : ""}</li>`).join("");
}
async function refresh() {
  if (!token) return;
  try {
    await refreshQueue();
    const d = await call("/api/staff/lanes"); $("who").textContent = d.staff; timezone = d.timezone;
    $("lanes").innerHTML = d.lanes.map(l => {
      const b = l.basket; const readers = Object.entries(l.readers).map(([r, h]) => `${esc(r)}: ${esc(h ? h.state : "?")}`).join(", ");
      const problems = b.problems.filter(p => p.open).map(p => `<div class="problem ${p.level}" data-problem="${esc(p.code)}">${esc(t.problems[p.code] || p.message)}
        ${p.level === "MEDIUM" ? `<button data-approve="${esc(l.lane)}/${p.id}">${t.approve}</button>` : ""}
        ${p.line_id ? `<button data-void="${esc(l.lane)}/${p.line_id}">${t.void}</button>` : ""}</div>`).join("");
      const lines = b.lines.map(x => `<tr><td>${esc(x.name)}</td><td class="num">${rub(x.amount)}</td><td><button data-void="${esc(l.lane)}/${x.id}">${t.void}</button></td></tr>`).join("");
      const paused = b.paused ? `<div class="problem CRITICAL" data-paused="${esc(b.paused.code)}">${esc(t.paused_staff)}: ${esc(b.paused.message)}</div>` : "";
      return `<section data-lane="${esc(l.lane)}"><h3>${esc(l.lane)} · ${esc(t.states[b.state] || b.state)}</h3><p class="muted">${t.readers}: ${readers}</p>${register(l.register)}${paused}${problems}<table>${lines}</table><p class="total">${rub(b.total)}</p></section>`;
    }).join("") + d.quarantined.map(q => `<section data-quarantined="${esc(q.basket)}"><h3>${esc(t.quarantined)}: ${esc(q.lane)} · ${esc(q.basket)}</h3><p class="muted">${esc(q.reason)}</p></section>`).join("");
  } catch (e) { /* shown on next refresh */ }
}
document.addEventListener("click", async ev => {
  const a = ev.target.dataset.approve, v = ev.target.dataset.void, g = ev.target.dataset.resolve;
  if (g) { const [gate, id] = g.split("/"); await call(`/api/staff/gates/${encodeURIComponent(gate)}/alarms/${id}/resolve`, "POST"); refresh(); }
  if (ev.target.id === "giveback") { await giveBack(ev.target.dataset.basket); return; }
  if (a) { const [lane, id] = a.split("/"); await call(`/api/staff/lanes/${lane}/problems/${id}/approve`, "POST"); refresh(); }
  if (v) { const [lane, id] = v.split("/"); await call(`/api/staff/lanes/${lane}/lines/${id}/void`, "POST"); refresh(); }
});
$("dashbtn").textContent = t.dashboard;
$("dashbtn").onclick = async () => {  // the manager's view: the last 24 h, charts drawn by the server (SVG)
  const d = await call("/api/staff/dashboard"); const f = d.figures, r = f.time_to_resolve_s;
  $("figures").innerHTML = `<p>${t.baskets}: <b data-figure="baskets">${f.baskets}</b> · ${t.paid}: <b data-figure="paid">${f.baskets_paid}</b> · ` +
    `${t.untouched}: <b data-figure="untouched">${f.share_without_intervention === null ? "—" : Math.round(f.share_without_intervention * 100) + " %"}</b> · ` +
    `${t.resolve}: p50 ${r.p50 ?? "—"} ${t.sec}, p90 ${r.p90 ?? "—"} ${t.sec}</p>`;
  $("charts").innerHTML = Object.values(d.charts).join("");
};
function show() { $("signin").hidden = !!token; $("work").hidden = !token; refresh(); }
show(); setInterval(refresh, 1000);

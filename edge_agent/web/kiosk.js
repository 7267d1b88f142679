import { TEXTS, lang, toggle, rub, esc, when } from "/static/i18n.js";
const t = TEXTS[lang()];
const lane = decodeURIComponent(location.pathname.split("/").pop());
const api = (path, body) => fetch(`/api/kiosk/${encodeURIComponent(lane)}${path}`, body === undefined ? {} :
  { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  .then(async r => { const d = await r.json(); if (!r.ok) throw d.detail || d; return d; });
const $ = id => document.getElementById(id);
document.title = t.title; $("title").textContent = `${t.title} · ${lane}`; $("lang").textContent = t.lang; $("lang").onclick = toggle;
$("otplabel").textContent = t.otp; $("verify").textContent = t.verify;
for (const [id, key] of [["identify", "identify"], ["redeem", "points"], ["checkout", "checkout"], ["card", "card"], ["sbp", "sbp"], ["cancel", "cancel"], ["help", "help"]]) $(id).textContent = t[key];
$("ref").placeholder = t.phone; $("ref").ariaLabel = t.phone; document.querySelectorAll("[data-t]").forEach(e => e.textContent = t[e.dataset.t]);
let basket = null;
function say(message) { $("payment").textContent = message; }
function verdict(line) {
  if (!line.marked) return "";
  const v = line.verdict || "pending";
  const word = { ALLOWED: t.verified, BLOCKED: t.blocked, UNAVAILABLE: t.unavailable, pending: t.checking }[v];
  return `<span class="badge ${v}">${esc(word)}</span>`;
}
/** Lines of one product at one price, together: two chocolate bars are one row "×2". */
function groups(lines) {
  const out = new Map();
  for (const l of lines) {
    const key = `${l.name}|${l.price}`;
    if (!out.has(key)) out.set(key, { name: l.name, price: l.price, category: l.category, lines: [] });
    out.get(key).lines.push(l);
  }
  return [...out.values()];
}
function row(g) {
  const n = g.lines.length, discount = g.lines.reduce((s, l) => s + l.discount, 0);
  // the category as a coloured chip (no emoji font is guaranteed on a kiosk's system)
  const pict = g.category ? `<span class="pict cat-${esc(g.category)}">${esc((t.categories || {})[g.category] || g.category)}</span>` : "";
  return `<tr data-group="${esc(g.name)}" data-qty="${n}"><td>${pict} ${esc(g.name)}${n > 1 ? ` <b class="qty">×${n}</b>` : ""}` +
    `<div class="items">${g.lines.map(l => `<span data-line="${l.id}">${verdict(l)}</span>`).join(" ")}</div></td>` +
    `<td class="num">${n > 1 ? `<span class="muted">${n} × ${rub(g.price)}</span><br>` : ""}${rub(g.price * n)}</td>` +
    `<td class="num">${discount ? "−" + rub(discount) : ""}</td></tr>`;
}
function problemText(b, p) {  // which item it is about, not only what
  const line = p.line_id ? b.lines.find(l => l.id === p.line_id) : null;
  return (line ? `${line.name}: ` : "") + (t.problems[p.code] || p.message);
}
function render(b) {
  basket = b;
  $("state").textContent = t.states[b.state] || b.state;
  $("empty").textContent = b.lines.length ? "" : t.empty;
  const checking = b.lines.filter(l => l.marked && !l.verdict).length;
  $("lines").innerHTML = b.lines.length ? `<tr><th>${t.item}</th><th class="num">${t.price}</th><th class="num">${t.discount}</th></tr>` +
    groups(b.lines).map(row).join("") + (checking ? `<tr><td colspan="3" class="muted" data-checking="${checking}">${esc(t.checking_n)}: ${checking}</td></tr>` : "") : "";
  $("problems").innerHTML = (b.paused ? `<div class="problem CRITICAL" data-paused="${esc(b.paused.code)}">${esc(t.paused)}</div>` : "") +
    (b.register && ["READY_TO_PAY", "CHECKOUT", "SCANNING"].includes(b.state) ? `<div class="problem CRITICAL" data-register="down">${esc(t.register_down)}</div>` : "") +
    b.problems.filter(p => p.open).map(p =>
    `<div class="problem ${p.level}" data-problem="${esc(p.code)}"><b>${esc(t.staff_needed)}:</b> ${esc(problemText(b, p))}</div>`).join("");
  $("total").textContent = rub(b.total);
  const s = b.state;
  $("checkout").disabled = !["SCANNING", "NEEDS_ASSISTANCE"].includes(s) || !b.lines.length || b.problems.some(p => p.open);
  $("card").disabled = $("sbp").disabled = s !== "READY_TO_PAY" || !!b.register;
  $("identify").disabled = !b.id || ["PAYMENT_PENDING", "PAID", "CLOSED", "CANCELLED"].includes(s);
  $("redeem").disabled = s !== "READY_TO_PAY" || !b.loyalty_verified;
  $("cancel").disabled = !b.id || ["PAYMENT_PENDING", "PAID", "CLOSED", "CANCELLED"].includes(s);
  const p = b.payment;
  if (s === "PAYMENT_PENDING" && p && p.method === "sbp" && p.qr) {
    if (!$("qr").dataset.payment || $("qr").dataset.payment !== p.id) {
      $("qr").dataset.payment = p.id; $("qr").dataset.payBy = p.pay_by || "";
      $("qr").innerHTML = `<p>${esc(t.scan_qr)}</p><img alt="${esc(t.sbp_qr)}" src="/api/kiosk/${encodeURIComponent(lane)}/payment/qr.svg?p=${encodeURIComponent(p.id)}">` +
        `<p class="countdown" id="countdown" aria-live="off"></p>`;
      tick();
    }
  } else { $("qr").innerHTML = ""; delete $("qr").dataset.payment; }
  if (s === "PAYMENT_PENDING") say(t.paying);
  else if (p && ["failed", "abandoned", "cancelling", "refunding", "refunded"].includes(p.step) && s === "READY_TO_PAY") say(`${t.declined}: ${p.message}`);
  else say("");
  if (["PAID", "CLOSED"].includes(s)) receipt(b); else $("receipt").hidden = true;
}
function receipt(b) {
  $("receipt").hidden = false;
  $("receipt").innerHTML = `<h2>${t.receipt}</h2><p>${t.thanks}</p><table>` + b.lines.map(l =>
    `<tr><td>${l.link ? `<a href="${esc(l.link)}">${esc(l.name)}</a>` : esc(l.name)}</td><td class="num">${rub(l.amount)}</td></tr>`).join("") +
    `</table><p class="total">${t.total}: ${rub(b.total)}</p>` + fiscal(b.payment && b.payment.receipt);
}
function fiscal(r) {
  if (!r) return "";
  const at = when(r.at, basket && basket.timezone);
  return `<div id="fiscal"><p>${esc(t.fiscal_receipt)} № ${esc(r.number)} · ${esc(t.shift)} ${esc(r.shift)} · ${esc(at)}</p>` +
    `<p class="muted">ФН ${esc(r.fn)} · ФД ${esc(r.fd)} · ФП ${esc(r.fp)}</p>` +
    `<img alt="${esc(t.receipt_qr)}" src="/api/kiosk/${encodeURIComponent(lane)}/receipt/qr.svg?fd=${encodeURIComponent(r.fd)}"></div>`;
}
function tick() {  // the SBP QR's countdown: how long the kiosk still waits for the phone
  const el = $("countdown"), by = Number($("qr").dataset.payBy);
  if (!el || !by) return;
  const left = Math.max(0, Math.round(by - Date.now() / 1000));
  el.textContent = `${t.time_left}: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  el.dataset.left = String(left);
}
setInterval(tick, 1000);
// the on-screen keypad types into the phone field, or the code field while it is shown
let target = "ref";
for (const id of ["ref", "otp"]) $(id).addEventListener("focus", () => { target = id; });
$("keypad").ariaLabel = t.keypad;
$("keypad").innerHTML = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "+7", "0", "⌫"].map(k =>
  `<button type="button" class="key" data-key="${k}" aria-label="${k === "⌫" ? esc(t.erase) : k}">${k}</button>`).join("");
$("keypad").onclick = ev => {
  const k = ev.target.dataset && ev.target.dataset.key; if (!k) return;
  const field = $(!$("otpbox").hidden ? "otp" : target);
  field.value = k === "⌫" ? field.value.slice(0, -1) : field.value + k;
};
async function act(fn) { try { const r = await fn(); if (r && r.lines) render(r); else if (r && r.basket) render(r.basket); } catch (e) { say(e.message || JSON.stringify(e)); } }
$("identify").onclick = () => act(async () => { const ref = $("ref").value.trim();
  const kind = ref.startsWith("LOY:") ? "qr" : ref.startsWith("+") ? "phone" : "card";
  let r;
  try { r = await api("/identify", { kind, ref }); }
  catch (e) { if (e.code !== "already_identified" || !confirm(t.replace_customer)) throw e; r = await api("/identify", { kind, ref, replace: true }); }
  $("otpbox").hidden = r.verified; $("loyalty").textContent = r.verified ? `${r.program}: ${r.balance}` : (r.code_sent ? t.code_sent : r.program);
  return r; });
$("verify").onclick = () => act(async () => { const r = await api("/verify", { code: $("otp").value.trim() });
  $("otpbox").hidden = true; $("otp").value = ""; $("loyalty").textContent = `${t.balance}: ${r.balance}`; return r; });
$("redeem").onclick = () => act(() => api("/redeem", {}));
$("checkout").onclick = () => act(() => api("/checkout", {}));
$("card").onclick = () => act(() => api("/pay", { method: "card" }));
$("sbp").onclick = () => act(() => api("/pay", { method: "sbp" }));
$("cancel").onclick = () => act(() => api("/cancel", {}));
$("help").onclick = () => act(async () => { const r = await api("/help", {}); say(t.help_sent); return r; });
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/kiosk/${encodeURIComponent(lane)}/ws`);
  ws.onmessage = m => { const d = JSON.parse(m.data); render(d.basket); window.lastUpdate = d; };
  ws.onclose = () => setTimeout(connect, 1000);
}
connect();

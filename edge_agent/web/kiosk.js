// The kiosk: one screen per step (welcome → items → review → loyalty → pay → receipt → thank
// you → welcome). The step follows the basket's state from the agent, plus the two choices the
// shopper makes on the review screen (loyalty, pay). An idle shopper is asked "still there?",
// then the kiosk goes back to welcome with the basket cancelled or kept (config [kiosk]).
import { h, fill } from "/static/dom.js";
import { TEXTS, lang, toggle, rub, when } from "/static/i18n.js";
import { pictogram, welcome } from "/static/pictograms.js";
const t = TEXTS[lang()];
const lane = decodeURIComponent(location.pathname.split("/").pop());
const api = (path, body) =>
  fetch(
    `/api/kiosk/${encodeURIComponent(lane)}${path}`,
    body === undefined
      ? {}
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  ).then(
    async (r) => {
      let d;
      try {
        d = await r.json();
      } catch {
        throw { code: "bad_answer" };
      }
      if (!r.ok) throw d.detail && d.detail.code ? d.detail : { code: "invalid_request" };
      return d;
    },
    () => {
      throw { code: "network" }; // no answer at all: the kiosk's own network
    },
  );
/** What the shopper reads for a refusal: its translation, never its code or English. */
const errorText = (e) => (e && t.errors[e.code]) || t.errors.generic;
const $ = (id) => document.getElementById(id);
document.title = t.title;
// the shopper's words: which checkout this is, never the lane's id or the basket's state
const number = lane.match(/(\d+)$/);
$("title").textContent = number ? `${t.title} · ${t.checkout_no} ${number[1]}` : t.title;
$("lang").textContent = t.lang;
$("lang").onclick = toggle;
$("otplabel").textContent = t.otp;
$("verify").textContent = t.verify;
$("reflabel").textContent = t.phone;
for (const [id, key] of [
  ["identify", "find_card"],
  ["redeem", "points"],
  ["checkout", "checkout"],
  ["cancel", "cancel"],
  ["help", "help"],
  ["start", "start"],
  ["to_loyalty", "identify"],
  ["to_pay", "pay"],
  ["loyalty_back", "back"],
  ["pay_back", "back"],
  ["still_here", "still_here"],
  ["confirm_yes", "yes_cancel"],
  ["confirm_no", "no_continue"],
  ["marks_label", "checking_n"],
  ["points_label", "points_how_many"],
  ["spend", "spend"],
  ["spend_none", "spend_none"],
  ["spend_half", "spend_half"],
])
  $(id).textContent = t[key];
document.querySelectorAll("[data-t]").forEach((e) => (e.textContent = t[e.dataset.t]));
fill($("welcome_art"), welcome());
$("steps").ariaLabel = t.steps;
const STEPS = [
  ["items", "step_items"],
  ["review", "step_review"],
  ["pay", "step_pay"],
  ["receipt", "step_receipt"],
];
fill(
  $("steps").querySelector("ol"),
  STEPS.map(([k, label], i) => h("li", { dataset: { step: k } }, `${i + 1}. ${t[label]}`)),
);

let basket = null,
  current = "welcome",
  lastActive = Date.now(),
  lineCount = 0;
const fresh = () => ({
  started: false,
  loyalty: false,
  pay: false,
  over: null,
  thanksUntil: 0,
  basketId: null,
  cancelAfterPayment: false,
  balance: 0,
});
let ui = fresh();
/** Lane faults after which no payment is taken here (lane_faults.py STOPS_PAYMENT). */
const STOPS_PAYMENT = [
  "paper_out",
  "cover_open",
  "fn_blocked",
  "register_offline",
  "register_error",
  "payments_down",
];
const ACTIVE = ["OPEN", "SCANNING", "NEEDS_ASSISTANCE"],
  BEFORE_PAY = ["CHECKOUT", "READY_TO_PAY"];

/** A button per payment method the agent offers (payment/methods.py), labelled method_<id>. */
function methodButtons(methods) {
  const ids = methods.map((m) => m.id).join(",");
  if ($("methods").dataset.ids === ids) return;
  $("methods").dataset.ids = ids;
  $("methods").replaceChildren(
    ...methods.map((m) => {
      const button = document.createElement("button");
      button.id = m.id;
      button.className = "primary big";
      button.textContent = t[`method_${m.id}`] || m.id;
      button.onclick = () => act(() => api("/pay", { method: m.id }));
      return button;
    }),
  );
}

/** The screen for this basket and the shopper's choices. */
function screen(b) {
  if (ui.thanksUntil) return "thanks";
  // the last shopper's basket (done, or kept when they left): behind the welcome screen, and
  // behind an empty item list once the next shopper taps Start
  if (b.id && b.id === ui.over) return ui.started ? "items" : "welcome";
  if (["PAID", "CLOSED"].includes(b.state)) return "receipt";
  if (b.state === "PAYMENT_PENDING") return "pay";
  if (BEFORE_PAY.includes(b.state)) return ui.loyalty ? "loyalty" : ui.pay ? "pay" : "review";
  if (ACTIVE.includes(b.state)) return "items";
  return ui.started ? "items" : "welcome"; // no basket yet, or the last one cancelled
}
const SECTIONS = {
  welcome: ["welcome"],
  items: ["basket"],
  review: ["basket"],
  loyalty: ["loyaltystep"],
  pay: ["pay"],
  receipt: ["receipt"],
  thanks: ["thanks"],
};

function show(name) {
  const changed = name !== current;
  current = name;
  document.querySelector("main").dataset.screen = name;
  for (const id of ["welcome", "basket", "loyaltystep", "pay", "receipt", "thanks"])
    $(id).hidden = !SECTIONS[name].includes(id);
  $("items_nav").hidden = name !== "items";
  $("review_nav").hidden = name !== "review";
  $("basket_title").textContent = name === "review" ? t.step_review : t.step_items;
  $("footer").hidden = !["items", "review", "loyalty", "pay"].includes(name);
  $("paybar").hidden = !["items", "review", "loyalty", "pay"].includes(name);
  $("bar_total").hidden = !["items", "review"].includes(name);
  $("steps").hidden = ["welcome", "thanks"].includes(name);
  const at = { items: 0, review: 1, loyalty: 1, pay: 2, receipt: 3 }[name];
  $("steps")
    .querySelectorAll("li")
    .forEach((li, i) => {
      if (i === at) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
  if (changed) {
    // a new screen: its heading takes the focus (screen readers and keyboards start there)
    lastActive = Date.now();
    const h = document.querySelector(`#${SECTIONS[name][0]} h2`);
    if (h) h.focus({ preventScroll: false });
  }
}
function say(message) {
  $("payment").textContent = message;
}
function verdict(line) {
  if (!line.marked) return null;
  const v = line.verdict || "pending";
  const word = { ALLOWED: t.verified, BLOCKED: t.blocked, UNAVAILABLE: t.unavailable, pending: t.checking }[
    v
  ];
  return h("span", { class: `badge ${v}` }, word);
}
/** Lines of one product at one price, together: two chocolate bars are one row "×2". */
function groups(lines, aside = new Set()) {
  const out = new Map();
  for (const l of lines) {
    // a weighed item, a pack sold in parts or an item to set aside is a row of its own: its
    // weight, its part or its problem is its own (a blocked bottle never hides behind its twin)
    const key =
      l.grams || l.pack_units || aside.has(l.id) ? `line|${l.id}` : `${l.name}|${l.price}|${l.card_discount}`;
    if (!out.has(key))
      out.set(key, { name: l.name, price: l.price, category: l.category, image: l.image, lines: [] });
    out.get(key).lines.push(l);
  }
  return [...out.values()];
}
const kg = (grams) =>
  (grams / 1000).toLocaleString(lang() === "ru" ? "ru-RU" : "en-GB", { minimumFractionDigits: 3 });
/** How much of the item: "0,352 кг × 1 290,00 ₽/кг", or a choice of how many of the pack's units. */
function measure(l) {
  if (l.grams)
    return h(
      "div",
      { class: "muted", dataset: { weight: l.grams } },
      `${kg(l.grams)} ${t.kg} × ${rub(l.unit_price)}/${t.kg}`,
    );
  if (!l.pack_units) return null;
  const taken = l.part ? l.part[0] : l.pack_units;
  const choice = h(
    "select",
    { id: `part-${l.id}`, dataset: { part: l.id } },
    Array.from({ length: l.pack_units }, (_, i) =>
      h(
        "option",
        { value: i + 1, ...(i + 1 === taken ? { selected: "" } : {}) },
        `${i + 1} ${t.of_pack} ${l.pack_units}`,
      ),
    ),
  );
  choice.onchange = () => act(() => api(`/lines/${l.id}/part`, { units: Number(choice.value) }));
  return h("div", { class: "part" }, h("label", { for: `part-${l.id}` }, `${t.take_units}: `), choice);
}
function row(g, blocked, aside = new Set()) {
  const n = g.lines.length;
  const setAside = n === 1 && aside.has(g.lines[0].id);
  const discount = g.lines.reduce((s, l) => s + l.discount, 0);
  const card = g.lines.reduce((s, l) => s + (l.card_discount || 0), 0);
  const name = (t.categories || {})[g.category] || g.category;
  const cat = g.category ? h("span", { class: `pict cat-${g.category}` }, name) : null;
  const bad = g.lines.some((l) => blocked.has(l.id));
  const items = g.lines.flatMap((l, i) => [
    i ? " " : null,
    h("span", { dataset: { line: l.id, ...(blocked.has(l.id) ? { blocked: "1" } : {}) } }, verdict(l)),
  ]);
  return h(
    "tr",
    { dataset: { group: g.name, qty: n }, class: bad ? "blocked" : null },
    h(
      "td",
      { class: "art" },
      // the catalogue's picture of the product where it has one (beside its name: no alt text)
      g.image
        ? h("img", { class: "photo", src: g.image, alt: "", width: 44, height: 44 })
        : pictogram(g.category),
    ),
    h(
      "td",
      {},
      g.name,
      n > 1 ? [" ", h("b", { class: "qty" }, `×${n}`)] : null,
      " ",
      cat,
      n === 1 ? measure(g.lines[0]) : null,
      setAside ? h("div", { class: "setaside", dataset: { setaside: g.lines[0].id } }, t.set_aside) : null,
      h("div", { class: "items" }, items),
    ),
    h(
      "td",
      { class: "num" },
      n > 1 ? [h("span", { class: "muted" }, `${n} × ${rub(g.price)}`), h("br")] : null,
      rub(g.price * n),
      card
        ? [h("br"), h("span", { class: "discount", dataset: { card: card } }, `−${rub(card)} ${t.by_card}`)]
        : null,
      discount ? [h("br"), h("span", { class: "discount" }, `−${rub(discount)} ${t.by_points}`)] : null,
    ),
  );
}
/** Problems the shopper solves themselves (no staff needed). */
const SHOPPER_STEPS = ["STAMP_NEEDED"];
function problemText(b, p) {
  // which item it is about, not only what
  const line = p.line_id ? b.lines.find((l) => l.id === p.line_id) : null;
  return (line ? `${line.name}: ` : "") + (t.problems[p.code] || t.errors.generic);
}
/** An 18+ item: the digital ID's QR proves age without staff; what became of the last one shown. */
function ageNotice(b) {
  const open = b.problems.some((p) => p.open && p.code === "AGE_RESTRICTED");
  const last = b.age && (open || b.age.outcome === "accepted") ? b.age : null;
  if (!open && !last) return null;
  const said = last
    ? t.age[last.outcome === "accepted" ? "accepted" : last.reason] || t.age.unavailable
    : null;
  return h(
    "div",
    {
      class: `problem ${last && last.outcome === "accepted" ? "OK" : "MEDIUM"}`,
      dataset: { age: last ? last.reason || last.outcome : "offer" },
    },
    said ? h("p", { role: "alert" }, said) : null,
    open && b.age_documents && !(last && ["underage", "unavailable"].includes(last.reason))
      ? h("p", {}, t.age_offer)
      : null,
  );
}
/** Nothing of one shopper for the next: their card or phone, the code, their points, messages. */
function forgetShopper() {
  $("loyalty").textContent = "";
  $("loyaltymsg").textContent = "";
  $("notice").textContent = "";
  $("ref").value = "";
  $("otp").value = "";
  $("otpbox").hidden = true;
  $("refbox").hidden = false;
  $("redeembox").hidden = true;
  $("points").value = "";
  say(""); // a decline, a "cancelled"
  fill($("receipt")); // their receipt: lines, numbers, QR
  delete $("receipt").dataset.basket;
  delete $("receipt").dataset.fd;
  fill($("qr"));
  delete $("qr").dataset.payment;
}
function render(b) {
  if (!b) return; // a tap before the lane's first push: it comes, and draws the screen
  if (b.id && b.id !== ui.basketId) {
    // a new basket: a new shopper (or the same one's first item)
    if (ui.basketId) forgetShopper();
    const over = ui.over,
      tapped = ui.started && !ui.basketId; // Start tapped before the lane's first push
    ui = fresh();
    ui.basketId = b.id;
    ui.over = ["CLOSED", "CANCELLED"].includes(b.state) ? b.id : over; // finished before this page opened
    ui.started = b.id !== ui.over || tapped;
  }
  if (b.id && b.id === ui.over && ["CLOSED", "CANCELLED"].includes(b.state)) {
    // the last shopper's, finished
    b = {
      ...b,
      finished: true, // shown as empty, but over: Start never makes it the next shopper's
      state: "EMPTY",
      lines: [],
      problems: [],
      total: 0,
      discount: 0,
      payment: null,
      customer: false,
      loyalty_verified: false,
    };
  }
  basket = b;
  const helping = b.problems.some((p) => p.open && p.code === "HELP_REQUESTED");
  $("notice").textContent = helping ? t.help_sent : "";
  const faults = b.faults || [];
  fill(
    $("faults"),
    faults
      .filter((f) => t.faults[f])
      .map((f) => h("p", { class: "problem CRITICAL", dataset: { fault: f }, role: "alert" }, t.faults[f])),
  );
  const noPayment = faults.some((f) => STOPS_PAYMENT.includes(f));
  const left = b.left_in_box || 0;
  $("empty_box").hidden = !left;
  $("empty_box").textContent = left ? `${t.empty_box} ${t.left_in_box}: ${left}` : "";
  $("start").disabled = !!left;
  if (b.lines.length !== lineCount) {
    lineCount = b.lines.length;
    lastActive = Date.now();
  }
  $("empty").textContent = b.lines.length ? "" : t.empty;
  const marked = b.lines.filter((l) => l.marked),
    checking = marked.filter((l) => !l.verdict).length;
  $("progress").hidden = !checking;
  $("marks").max = marked.length || 1;
  $("marks").value = marked.length - checking;
  $("marks").dataset.checking = String(checking);
  const blocked = new Set(b.problems.filter((p) => p.open && p.line_id).map((p) => p.line_id));
  const aside = new Set(
    b.problems.filter((p) => p.open && p.line_id && p.level === "CRITICAL").map((p) => p.line_id),
  );
  fill(
    $("lines"),
    b.lines.length
      ? [
          h("caption", { class: "sr" }, t.step_items),
          h(
            "tr",
            {},
            h("th", { scope: "col" }, h("span", { class: "sr" }, t.picture)),
            h("th", { scope: "col" }, t.item),
            h("th", { scope: "col", class: "num" }, t.price),
          ),
          groups(b.lines, aside).map((g) => row(g, blocked, aside)),
        ]
      : [],
  );
  fill(
    $("problems"),
    b.paused ? h("div", { class: "problem CRITICAL", dataset: { paused: b.paused.code } }, t.paused) : null,
    b.problems
      .filter((p) => p.open && p.code !== "HELP_REQUESTED")
      .map((p) =>
        h(
          "div",
          { class: `problem ${p.level}`, dataset: { problem: p.code } },
          h("b", {}, `${SHOPPER_STEPS.includes(p.code) ? t.your_step : t.staff_needed}:`),
          " ",
          problemText(b, p),
        ),
      ),
    ageNotice(b),
    b.notice
      ? h(
          "div",
          { class: "problem MEDIUM", dataset: { notice: b.notice.code }, role: "alert" },
          t.notices[b.notice.code] || t.errors.generic,
        )
      : null,
  );
  // while the box is still being read the total is not final: say so instead of a moving sum
  // what will be paid: an item to set aside is out of the total until it is resolved
  const payable = b.total_payable ?? b.total;
  $("total").textContent = b.settling ? t.counting : rub(payable);
  $("aside_note").textContent = !b.settling && payable !== b.total ? t.without_aside : "";
  $("total").dataset.settling = String(!!b.settling);
  $("paytotal").textContent = rub(b.total);
  const s = b.state;
  $("checkout").disabled =
    !ACTIVE.includes(s) ||
    !b.lines.length ||
    b.problems.some((p) => p.open && p.code !== "HELP_REQUESTED") ||
    !!b.settling;
  methodButtons(b.methods || []);
  for (const m of b.methods || []) $(m.id).disabled = s !== "READY_TO_PAY" || !!b.register || noPayment;
  $("to_pay").disabled = s !== "READY_TO_PAY";
  const p = b.payment;
  $("to_loyalty").hidden = !!b.loyalty_verified;
  $("redeem").hidden = !b.loyalty_verified || b.discount > 0;
  $("redeem").disabled = s !== "READY_TO_PAY";
  if (b.discount > 0 || s !== "READY_TO_PAY") $("redeembox").hidden = true;
  cardLines(b);
  // while the terminal waits, Back cancels the payment (the basket may then be paid another way)
  $("pay_back").textContent = s === "PAYMENT_PENDING" ? t.cancel_payment : t.back;
  $("pay_back").disabled =
    s === "PAYMENT_PENDING" && !!(p && p.step && !["creating", "pending"].includes(p.step));
  $("cancel").disabled = !b.id || ["PAID", "CLOSED", "CANCELLED"].includes(s);
  if (ui.cancelAfterPayment && s === "READY_TO_PAY") {
    ui.cancelAfterPayment = false; // the payment is off: now the purchase
    cancelPurchase();
  }
  $("resume").hidden = !(b.id && b.id === ui.over && ACTIVE.concat(BEFORE_PAY).includes(s));
  $("resume").textContent = `${t.resume} (${b.lines.length})`;
  if (s === "PAYMENT_PENDING" && p && p.qr) {
    if (!$("qr").dataset.payment || $("qr").dataset.payment !== p.id) {
      $("qr").dataset.payment = p.id;
      $("qr").dataset.payBy = p.pay_by || "";
      const src = `/api/kiosk/${encodeURIComponent(lane)}/payment/qr.svg?p=${encodeURIComponent(p.id)}`;
      fill(
        $("qr"),
        h("p", {}, t.scan_qr),
        h("img", { alt: t.sbp_qr, src }),
        h("p", { class: "countdown", id: "countdown", "aria-live": "off" }),
      );
      tick();
    }
  } else {
    fill($("qr"));
    delete $("qr").dataset.payment;
  }
  if (s === "PAYMENT_PENDING" && p && p.step === "receipt")
    say(noPayment ? t.printing_stuck : t.printing); // paid: the receipt comes, or the money goes back
  else if (s === "PAYMENT_PENDING") say((p && t[`wait_${p.method}`]) || t.paying);
  else if (
    p &&
    ["failed", "abandoned", "cancelling", "refunding", "refunded"].includes(p.step) &&
    s === "READY_TO_PAY"
  )
    say(`${t.declined}: ${t.pay_reasons[p.reason] || t.pay_reasons.declined}`);
  else say("");
  if (["PAID", "CLOSED"].includes(s)) receipt(b);
  show(screen(b));
}
function receipt(b) {
  const seen = `${((b.payment && b.payment.receipt) || {}).fd || ""}|${b.points_earned ?? ""}`;
  if ($("receipt").dataset.basket === b.id && $("receipt").dataset.fd === seen) return;
  $("receipt").dataset.basket = b.id;
  $("receipt").dataset.fd = seen; // redrawn once the points the sale earned are known
  fill(
    $("receipt"),
    h("h2", { tabindex: "-1" }, t.receipt),
    h("p", { class: "lead" }, t.thanks),
    h(
      "table",
      {},
      b.lines.map((l) =>
        h(
          "tr",
          {},
          h("td", {}, l.name, l.link ? phoneQr(l) : null),
          h("td", { class: "num" }, rub(l.amount)),
        ),
      ),
    ),
    b.card_discount ? h("p", { class: "discount" }, `${t.card_discount}: −${rub(b.card_discount)}`) : null,
    b.discount ? h("p", { class: "discount" }, `${t.points_discount}: −${rub(b.discount)}`) : null,
    h("p", { class: "total" }, `${t.total}: ${rub(b.total)}`),
    b.payment ? h("p", { id: "paid_by" }, `${t.paid_by}: ${t[`paid_${b.payment.method}`] || ""}`) : null,
    b.points_earned !== null && b.points_earned !== undefined // an identified customer's sale, once booked
      ? h("p", { id: "earned", class: "discount" }, `${t.points_earned}: ${b.points_earned}`)
      : null,
    fiscal(b.payment && b.payment.receipt),
    h("div", { class: "nav" }, h("button", { id: "done", class: "primary big", onclick: thanks }, t.done)),
  );
}
/** A line's product page for the shopper's phone: a QR shown in place (a kiosk never navigates away). */
function phoneQr(l) {
  const src = `/api/kiosk/${encodeURIComponent(lane)}/lines/${l.id}/qr.svg`;
  return h(
    "details",
    { class: "phoneqr", dataset: { qr: l.id } },
    h("summary", {}, t.on_phone),
    h("img", { alt: `${t.on_phone}: ${l.name}`, src, width: 160, height: 160, loading: "lazy" }),
  );
}
function fiscal(r) {
  if (!r) return null;
  const at = when(r.at, basket && basket.timezone);
  const src = `/api/kiosk/${encodeURIComponent(lane)}/receipt/qr.svg?fd=${encodeURIComponent(r.fd)}`;
  const side = qrSide(r);
  return h(
    "div",
    { id: "fiscal" },
    h("p", {}, `${t.fiscal_receipt} № ${r.number} · ${t.shift} ${r.shift} · ${at}`),
    h("p", { class: "muted" }, `ФН ${r.fn} · ФД ${r.fd} · ФП ${r.fp}`),
    h("img", { alt: t.receipt_qr, src, width: side, height: side }),
  );
}
// the receipt QR's side in CSS pixels: the code itself (its quiet zone aside) at least
// kiosk.receipt_qr_mm wide on this screen (kiosk.pixels_per_mm), as the 2025 rules ask
function qrSide(r) {
  const k = (basket && basket.kiosk) || {};
  const mm = k.receipt_qr_mm || 22;
  const ppm = k.pixels_per_mm || 3.78;
  const modules = r.qr_modules || 21;
  return Math.ceil((mm * ppm * (modules + 2 * (r.qr_border || 0))) / modules);
}
function thanks() {
  ui.thanksUntil = Date.now() + 1000 * ((basket && basket.kiosk && basket.kiosk.thanks_s) || 5);
  render(basket);
}
function tick() {
  // the SBP QR's countdown: how long the kiosk still waits for the phone
  const el = $("countdown"),
    by = Number($("qr").dataset.payBy);
  if (!el || !by) return;
  const left = Math.max(0, Math.round(by - Date.now() / 1000));
  el.textContent = `${t.time_left}: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  el.dataset.left = String(left);
}
setInterval(tick, 1000);

// -- the shopper walks away ---------------------------------------------------------------
// any touch or key counts; the prompt itself goes on the next tick (hiding it under the finger
// would send the tap to whatever is beneath)
for (const ev of ["pointerdown", "keydown"])
  addEventListener(
    ev,
    () => {
      lastActive = Date.now();
    },
    true,
  );
async function walkAway(k) {
  const b = basket,
    over = b && b.id;
  if (k.idle_action === "cancel" && b && b.id && !$("cancel").disabled) {
    try {
      await api("/cancel", {});
    } catch {
      /* its state moved on: the next update says where */
    }
  }
  behind(over);
}
/** The shopper is gone: basket ``id`` (theirs) stays behind the welcome screen. */
function behind(id) {
  forgetShopper();
  ui = fresh();
  ui.over = id;
  ui.basketId = id;
  render(basket);
}
setInterval(() => {
  const k = basket && basket.kiosk;
  if (!k) return;
  const idle = (Date.now() - lastActive) / 1000;
  const waiting =
    ["items", "review", "loyalty", "pay"].includes(current) && basket.state !== "PAYMENT_PENDING";
  if (waiting && idle >= k.idle_s + k.idle_prompt_s) {
    $("idle").hidden = true;
    walkAway(k);
  } else if (waiting && idle >= k.idle_s) {
    if ($("idle").hidden) {
      $("idle").hidden = false;
      $("still_here").focus();
    }
    const left = Math.ceil(k.idle_s + k.idle_prompt_s - idle);
    $("idle_left").textContent =
      `${k.idle_action === "cancel" ? t.idle_cancel : t.idle_keep} ${left} ${t.sec}`;
    $("idle").dataset.left = String(left);
  } else $("idle").hidden = true;
  if (current === "receipt" && idle >= k.receipt_s) thanks();
  if (current === "thanks" && Date.now() >= ui.thanksUntil) behind(basket.id);
}, 250);
$("still_here").onclick = () => {
  lastActive = Date.now();
  $("idle").hidden = true;
};

// -- the on-screen keypad types into the phone field, or the code field while it is shown ----
let target = "ref";
for (const id of ["ref", "otp"])
  $(id).addEventListener("focus", () => {
    target = id;
  });
$("keypad").ariaLabel = t.keypad;
fill(
  $("keypad"),
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "+7", "0", "⌫"].map((k) =>
    h(
      "button",
      { type: "button", class: "key", dataset: { key: k }, "aria-label": k === "⌫" ? t.erase : k },
      k,
    ),
  ),
);
$("keypad").onclick = (ev) => {
  const k = ev.target.dataset && ev.target.dataset.key;
  if (!k) return;
  const field = $(!$("otpbox").hidden ? "otp" : target);
  field.value = k === "⌫" ? field.value.slice(0, -1) : field.value + k;
};
for (const [field, button] of [
  ["ref", "identify"],
  ["otp", "verify"],
])
  $(field).addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") $(button).click();
  });

async function act(fn) {
  try {
    const r = await fn();
    if (r && r.lines) render(r);
    else if (r && r.basket) render(r.basket);
  } catch (e) {
    const text = errorText(e);
    say(text);
    $("loyaltymsg").textContent = text;
  }
}
$("start").onclick = () => {
  ui.started = true;
  // a kept basket (walked away from, not finished): theirs now
  if (basket && !basket.finished && !["CLOSED", "CANCELLED"].includes(basket.state)) ui.over = null;
  render(basket);
};
$("resume").onclick = () => {
  ui.over = null;
  ui.started = true;
  render(basket);
};
$("to_loyalty").onclick = () => {
  ui.loyalty = true;
  render(basket);
};
$("loyalty_back").onclick = () => {
  ui.loyalty = false;
  render(basket);
};
$("to_pay").onclick = () => {
  ui.pay = true;
  render(basket);
};
$("pay_back").onclick = () => {
  if (basket && basket.state === "PAYMENT_PENDING") {
    say(t.cancelling_payment);
    act(() => api("/pay/cancel", {}));
    return;
  }
  ui.pay = false;
  render(basket);
};
$("identify").onclick = () =>
  act(async () => {
    const ref = $("ref").value.trim();
    const kind = ref.startsWith("LOY:") ? "qr" : ref.startsWith("+") ? "phone" : "card";
    let r;
    try {
      r = await api("/identify", { kind, ref });
    } catch (e) {
      if (e.code !== "already_identified" || !confirm(t.replace_customer)) throw e;
      r = await api("/identify", { kind, ref, replace: true });
    }
    $("otpbox").hidden = r.verified;
    $("refbox").hidden = !r.verified;
    $("loyaltymsg").textContent = r.verified ? "" : r.code_sent ? t.code_sent : r.program;
    if (r.verified) {
      ui.balance = r.balance;
      $("loyalty").textContent = `${r.program}: ${t.balance} ${r.balance}`;
      ui.loyalty = false;
    } else $("otp").focus();
    return r;
  });
$("verify").onclick = () =>
  act(async () => {
    const r = await api("/verify", { code: $("otp").value.trim() });
    $("otpbox").hidden = true;
    $("refbox").hidden = false;
    $("otp").value = "";
    $("loyaltymsg").textContent = "";
    ui.balance = r.balance;
    $("loyalty").textContent = `${t.balance}: ${r.balance}`;
    ui.loyalty = false;
    return r;
  });
/** Points: the shopper says how many (all they may spend here is the default); none is a choice too. */
$("redeem").onclick = () => {
  $("redeembox").hidden = false;
  $("points").value = ui.balance ? String(ui.balance) : "";
  $("points").focus();
};
$("spend").onclick = () =>
  act(async () => {
    const wanted = Number($("points").value.replace(/\D/g, ""));
    const r = await api("/redeem", wanted > 0 ? { points: wanted } : {});
    $("redeembox").hidden = true;
    return r;
  });
$("spend_half").onclick = () => {
  $("points").value = String(Math.floor(Number($("points").value.replace(/\D/g, "") || ui.balance) / 2));
};
$("spend_none").onclick = () => {
  $("redeembox").hidden = true;
};
/** What the card took off and what points paid, above the total (and on the receipt). */
function cardLines(b) {
  const saving = b.lines.reduce((s, l) => s + Math.max(0, l.price - (l.card_price ?? l.price)), 0);
  const card = b.card_discount || 0;
  $("card_line").hidden = !card && !saving;
  $("card_line").textContent = card
    ? `${t.card_discount}: −${rub(card)}`
    : saving
      ? `${t.card_would_save}: −${rub(saving)}`
      : "";
  $("card_line").dataset.applied = String(!!card);
  $("points_line").hidden = !b.discount;
  $("points_line").textContent = b.discount ? `${t.points_discount}: −${rub(b.discount)}` : "";
}
$("checkout").onclick = () => act(() => api("/checkout", {}));
/** Cancel asks first; a payment under way is cancelled, then the purchase. */
$("cancel").onclick = () => {
  $("confirm").hidden = false;
  $("confirm_no").focus();
};
$("confirm_no").onclick = () => {
  $("confirm").hidden = true;
};
$("confirm_yes").onclick = () => {
  $("confirm").hidden = true;
  if (basket && basket.state === "PAYMENT_PENDING") {
    ui.cancelAfterPayment = true;
    act(() => api("/pay/cancel", {}));
  } else cancelPurchase();
};
function cancelPurchase() {
  act(async () => {
    const r = await api("/cancel", {});
    ui.started = false;
    return r;
  });
}
$("help").onclick = () => act(() => api("/help", {})); // staff come; the purchase goes on
function connect() {
  const ws = new WebSocket(
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/kiosk/${encodeURIComponent(lane)}/ws`,
  );
  ws.onopen = () => offline(false);
  ws.onmessage = (m) => {
    const d = JSON.parse(m.data);
    offline(false);
    render(d.basket);
    window.lastUpdate = d;
  };
  ws.onclose = () => {
    offline(true);
    setTimeout(connect, 1000);
  };
}
/** The kiosk's own connection to the lane: while it is gone nothing on screen can be trusted
 *  or done; it comes back by itself (the attendant sees the kiosk offline meanwhile). */
function offline(gone) {
  if ($("offline").hidden === !gone) return;
  $("offline").hidden = !gone;
  $("offline").textContent = gone ? t.offline : "";
  document.body.classList.toggle("offline", gone);
  if (!gone) {
    say(""); // "no connection" from a tap while it was gone: stale now
    $("loyaltymsg").textContent = "";
  }
}
show("welcome");
connect();

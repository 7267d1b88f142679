// Building the pages' DOM: elements with their text set as text, never markup parsed from
// strings (a product's name or a server message can hold anything).

/**
 * An element: h("td", { class: "num", dataset: { line: 3 } }, "12,00 ₽", child, ...).
 * Props: "class", "dataset", "on<event>" handlers, boolean and other attributes; children:
 * nodes, strings (as text), or null/false (nothing).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** An SVG drawing from markup this product wrote (the pictograms, the dashboard's charts). */
export function svg(markup) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  return document.importNode(doc.documentElement, true);
}

/**
 * Keep ``parent``'s children in step with ``items`` without redrawing them: each item's element
 * is keyed by ``key(item)`` and rebuilt by ``make(item)`` only when its signature ``sig(item)``
 * changed; the rest stay the same nodes (a finger on a button is never under a new one), moved
 * only when the order changes; elements of items gone are removed.
 */
export function keyed(parent, items, key, make, sig = (x) => JSON.stringify(x)) {
  const old = new Map([...parent.children].map((e) => [e.dataset.key, e]));
  let at = 0;
  for (const item of items) {
    const k = String(key(item)),
      s = sig(item);
    let el = old.get(k);
    if (!el || el.dataset.sig !== s) {
      const made = make(item);
      made.dataset.key = k;
      made.dataset.sig = s;
      if (el) el.replaceWith(made);
      el = made;
    }
    old.delete(k);
    if (parent.children[at] !== el) parent.insertBefore(el, parent.children[at] || null);
    at += 1;
  }
  for (const el of old.values()) el.remove();
}

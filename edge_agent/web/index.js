// The index page: a link to each lane's kiosk (the page itself needs that lane's enrolled kiosk).
import { h, fill } from "/static/dom.js";

const answer = await fetch("/api/kiosks");
const { kiosks } = await answer.json();
fill(
  document.getElementById("lanes"),
  kiosks.map((k) => h("li", {}, h("a", { href: k.page }, k.lane))),
);

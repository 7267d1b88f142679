// The index page: a link to each lane's kiosk.
import { h, fill } from "/static/dom.js";

const answer = await fetch("/api/lanes");
const { lanes } = await answer.json();
fill(
  document.getElementById("lanes"),
  lanes.map((lane) => h("li", {}, h("a", { href: `/kiosk/${encodeURIComponent(lane)}` }, lane))),
);

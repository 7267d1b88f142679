import { svg } from "/static/dom.js";

// Category pictograms for the kiosk: small inline SVGs drawn here (no image files, no emoji
// font needed on the kiosk). Decorative: the category's name is written beside each one.
const P = {
  dairy:
    '<path d="M9 3h10v4l3 4v14H6V11l3-4z" fill="#e3f0fb" stroke="#0b4a80" stroke-width="2" stroke-linejoin="round"/><path d="M6 15h16" stroke="#0b4a80" stroke-width="2"/>',
  water:
    '<path d="M14 3c5 7 8 11 8 15a8 8 0 0 1-16 0c0-4 3-8 8-15z" fill="#e3f0fb" stroke="#0b4a80" stroke-width="2" stroke-linejoin="round"/>',
  bakery:
    '<path d="M4 14c0-5 5-8 10-8s10 3 10 8v8H4z" fill="#f7ecdf" stroke="#6b3d00" stroke-width="2" stroke-linejoin="round"/><path d="M10 9l-2 6M15 8l-1 7M20 10l-2 5" stroke="#6b3d00" stroke-width="2" stroke-linecap="round"/>',
  sweets:
    '<rect x="8" y="9" width="12" height="10" rx="3" fill="#f7ecdf" stroke="#6b3d00" stroke-width="2"/><path d="M8 14L3 10v8zM20 14l5-4v8z" fill="#6b3d00"/>',
  drinks:
    '<path d="M11 3h6v5l3 4v13H8V12l3-4z" fill="#f0e6f6" stroke="#5a2a78" stroke-width="2" stroke-linejoin="round"/><rect x="10" y="15" width="8" height="5" fill="#5a2a78"/>',
  shoes:
    '<path d="M3 20v-9h6l3 4 10 2c2 0 3 1 3 3z" fill="#e8eef6" stroke="#12355b" stroke-width="2" stroke-linejoin="round"/><path d="M3 23h22" stroke="#12355b" stroke-width="2"/>',
  tobacco:
    '<rect x="7" y="5" width="14" height="19" rx="1" fill="#f0e6f6" stroke="#5a2a78" stroke-width="2"/><path d="M7 11h14" stroke="#5a2a78" stroke-width="2"/>',
  other:
    '<path d="M4 9l10-5 10 5v11l-10 5-10-5z" fill="#e8eef6" stroke="#12355b" stroke-width="2" stroke-linejoin="round"/><path d="M4 9l10 5 10-5M14 14v11" stroke="#12355b" stroke-width="2"/>',
};
const NS = 'xmlns="http://www.w3.org/2000/svg"';
export function pictogram(category, size = 28) {
  return svg(
    `<svg ${NS} class="pictogram" width="${size}" height="${size}" viewBox="0 0 28 28" aria-hidden="true" focusable="false">${P[category] || P.other}</svg>`,
  );
}
/** The welcome screen's picture: items going into the checkout's box. */
export const welcome = () => svg(WELCOME);
const WELCOME =
  `<svg ${NS} width="220" height="150" viewBox="0 0 220 150" aria-hidden="true" focusable="false">` +
  '<path d="M30 70h160l-14 70H44z" fill="#e8eef6" stroke="#12355b" stroke-width="4" stroke-linejoin="round"/>' +
  '<g transform="translate(70 10) scale(1.6)">' +
  P.dairy +
  '</g><g transform="translate(115 22) scale(1.4)">' +
  P.sweets +
  "</g>" +
  '<path d="M110 58v-4M96 60l-3-3M124 60l3-3" stroke="#12355b" stroke-width="3" stroke-linecap="round"/></svg>';

// The pages' texts, Russian and English, are one file for every page (texts.json): the kiosk,
// the staff handheld and the phone's product page (rendered by the agent from the same file).
// Problem codes come from the agent.
import TEXTS from "/static/texts.json" with { type: "json" };

export { TEXTS };
document.documentElement.lang =
  localStorage.getItem("lang") || (navigator.language.startsWith("ru") ? "ru" : "en");
export function lang() {
  return localStorage.getItem("lang") || (navigator.language.startsWith("ru") ? "ru" : "en");
}
export function toggle() {
  localStorage.setItem("lang", lang() === "ru" ? "en" : "ru");
  location.reload();
}
const MONEY = {
  ru: new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB" }),
  en: new Intl.NumberFormat("en-GB", { style: "currency", currency: "RUB", currencyDisplay: "narrowSymbol" }),
};
export function rub(kop) {
  return MONEY[lang()].format(kop / 100);
}
/** An ISO time in the store's zone (``tz``), in the reader's language. */
export function when(iso, tz) {
  if (!iso) return "";
  const at = new Date(/[+-]\d\d:\d\d$|Z$/.test(iso) ? iso : iso + "Z");
  return at.toLocaleString(lang() === "ru" ? "ru-RU" : "en-GB", {
    timeZone: tz || undefined,
    dateStyle: "long",
    timeStyle: "short",
  });
}

// Texts for the kiosk and staff pages, Russian and English. Problem codes come from the agent.
export const TEXTS = {
  ru: {
    title: "Касса самообслуживания", lang: "English", empty: "Положите товары в корзину или приложите к метке",
    item: "Товар", price: "Цена", discount: "Скидка", total: "Итого", identify: "Карта лояльности",
    phone: "Телефон или номер карты", points: "Списать баллы", checkout: "Перейти к оплате",
    otp: "Код из SMS", verify: "Подтвердить", code_sent: "Мы отправили код в SMS: введите его, чтобы списать баллы",
    balance: "Баллы", replace_customer: "К покупке уже привязан покупатель. Заменить?",
    card: "Оплатить картой", sbp: "Оплатить по СБП", cancel: "Отменить", receipt: "Чек", thanks: "Спасибо за покупку!",
    scan_qr: "Отсканируйте QR-код в приложении банка", paying: "Оплата…", declined: "Оплата не прошла",
    paused: "Касса сейчас не принимает товары: сотрудник уже идёт",
    paused_staff: "Касса не принимает товары", quarantined: "Корзина отложена (журнал не читается)",
    staff_needed: "Нужен сотрудник", verified: "проверен", blocked: "запрещён", unavailable: "нет проверки",
    checking: "проверяется", states: { EMPTY: "Ожидание", OPEN: "Открыта", SCANNING: "Сканирование",
      NEEDS_ASSISTANCE: "Нужна помощь", CHECKOUT: "Проверка", READY_TO_PAY: "К оплате", PAYMENT_PENDING: "Оплата",
      PAID: "Оплачено", CLOSED: "Завершено", CANCELLED: "Отменено" },
    categories: { dairy: "молочное", water: "вода", bakery: "хлеб", sweets: "сладкое", drinks: "напитки", shoes: "обувь", tobacco: "табак" },
    checking_n: "Проверяем маркировку", time_left: "Осталось", keypad: "Клавиатура", erase: "Стереть",
    sbp_qr: "QR-код для оплаты через СБП", dashboard: "Показатели магазина", baskets: "Покупок", paid: "оплачено", untouched: "без помощи сотрудника",
    resolve: "время решения", queue: "Очередь вмешательств", sec: "с", min: "мин", help: "Позвать сотрудника", help_sent: "Сотрудник уже идёт",
    problems: { HELP_REQUESTED: "Покупатель зовёт сотрудника", AGE_RESTRICTED: "Товар для взрослых: сотрудник проверит возраст",
      ALCOHOL_HOURS: "Алкоголь сейчас не продаётся", MARKING_BLOCKED: "Честный ЗНАК запретил продажу этого товара",
      MARKING_CHECK_UNAVAILABLE: "Не удалось проверить маркировку: обратитесь к сотруднику",
      ALREADY_SOLD: "Этот экземпляр уже продан", UNKNOWN_ITEM: "Товар не найден в каталоге",
      QTY_LIMIT: "Превышено количество", PAYMENT_DECLINED: "Оплата отклонена",
      MARKING_REFUSED_BY_REGISTER: "Касса не приняла код маркировки этого товара" },
    register_down: "Принтер чеков не работает: оплата здесь пока невозможна, сотрудник уже идёт",
    fiscal_receipt: "Кассовый чек", shift: "смена", receipt_qr: "QR-код чека",
    register: "Касса (ККТ)", register_ok: "печатает", sale_lookup: "Найти продажу", give_back: "Оформить возврат",
    returned: "возвращён", return_done: "Возврат оформлен",
    staff: "Сотрудник", sign_in: "Войти", badge: "Войти по бейджу", badge_wait: "Введите PIN и приложите бейдж к считывателю этого терминала",
    approve: "Одобрить", void: "Удалить", lookup: "Проверить код", lanes: "Кассы", readers: "Считыватели",
  },
  en: {
    title: "Self-checkout", lang: "Русский", empty: "Put your items in the box or tap them on the pad",
    item: "Item", price: "Price", discount: "Discount", total: "Total", identify: "Loyalty card",
    phone: "Phone or card number", points: "Use points", checkout: "Go to payment",
    otp: "Code from SMS", verify: "Confirm", code_sent: "We sent a code by SMS: type it to use your points",
    balance: "Points", replace_customer: "This purchase already has a customer. Replace them?",
    card: "Pay by card", sbp: "Pay by SBP", cancel: "Cancel", receipt: "Receipt", thanks: "Thank you!",
    scan_qr: "Scan the QR code in your banking app", paying: "Paying…", declined: "Payment declined",
    paused: "This till cannot take items right now: a staff member is on the way",
    paused_staff: "Lane takes no items", quarantined: "Basket set aside (its journal does not replay)",
    staff_needed: "Staff needed", verified: "verified", blocked: "blocked", unavailable: "not checked",
    checking: "checking", states: { EMPTY: "Waiting", OPEN: "Open", SCANNING: "Scanning",
      NEEDS_ASSISTANCE: "Needs assistance", CHECKOUT: "Checking", READY_TO_PAY: "Ready to pay",
      PAYMENT_PENDING: "Paying", PAID: "Paid", CLOSED: "Done", CANCELLED: "Cancelled" },
    categories: { dairy: "dairy", water: "water", bakery: "bakery", sweets: "sweets", drinks: "drinks", shoes: "shoes", tobacco: "tobacco" },
    checking_n: "Checking marks", time_left: "Time left", keypad: "Keypad", erase: "Erase",
    sbp_qr: "QR code to pay with SBP", dashboard: "Store dashboard", baskets: "Baskets", paid: "paid", untouched: "needed nobody",
    resolve: "time to resolve", queue: "Interventions", sec: "s", min: "min", help: "Call staff", help_sent: "A staff member is on the way",
    problems: { HELP_REQUESTED: "The customer asked for help", AGE_RESTRICTED: "Age-restricted item: a staff member will check your age",
      ALCOHOL_HOURS: "Alcohol cannot be sold at this hour", MARKING_BLOCKED: "Chestny ZNAK does not allow this item to be sold",
      MARKING_CHECK_UNAVAILABLE: "The mark could not be checked: please ask a staff member",
      ALREADY_SOLD: "This item was already sold", UNKNOWN_ITEM: "This item is not in the catalogue",
      QTY_LIMIT: "Too many of this item", PAYMENT_DECLINED: "Payment declined",
      MARKING_REFUSED_BY_REGISTER: "The till's register refused this item's mark code" },
    register_down: "The receipt printer is not working: no payment here for now, a staff member is on the way",
    fiscal_receipt: "Fiscal receipt", shift: "shift", receipt_qr: "Receipt QR code",
    register: "Register (KKT)", register_ok: "printing", sale_lookup: "Find the sale", give_back: "Return",
    returned: "returned", return_done: "Return done",
    staff: "Staff", sign_in: "Sign in", badge: "Sign in with badge", badge_wait: "Type your PIN and tap your badge on this handheld's reader",
    approve: "Approve", void: "Remove", lookup: "Check a code", lanes: "Lanes", readers: "Readers",
  },
};
document.documentElement.lang = localStorage.getItem("lang") || (navigator.language.startsWith("ru") ? "ru" : "en");
export function lang() { return localStorage.getItem("lang") || (navigator.language.startsWith("ru") ? "ru" : "en"); }
export function toggle() { localStorage.setItem("lang", lang() === "ru" ? "en" : "ru"); location.reload(); }
const MONEY = { ru: new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB" }),
                en: new Intl.NumberFormat("en-GB", { style: "currency", currency: "RUB", currencyDisplay: "narrowSymbol" }) };
export function rub(kop) { return MONEY[lang()].format(kop / 100); }
/** An ISO time in the store's zone (``tz``), in the reader's language. */
export function when(iso, tz) {
  if (!iso) return "";
  const at = new Date(/[+-]\d\d:\d\d$|Z$/.test(iso) ? iso : iso + "Z");
  return at.toLocaleString(lang() === "ru" ? "ru-RU" : "en-GB", { timeZone: tz || undefined, dateStyle: "long", timeStyle: "short" });
}
export function esc(s) { return String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }

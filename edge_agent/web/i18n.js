// Texts for the kiosk and staff pages, Russian and English. Problem codes come from the agent.
export const TEXTS = {
  ru: {
    title: "Касса самообслуживания", lang: "English", empty: "Положите товары в корзину или приложите к метке",
    item: "Товар", price: "Цена", discount: "Скидка", total: "Итого", identify: "Карта лояльности",
    phone: "Телефон или номер карты", points: "Списать баллы", checkout: "Перейти к оплате",
    card: "Оплатить картой", sbp: "Оплатить по СБП", cancel: "Отменить", receipt: "Чек", thanks: "Спасибо за покупку!",
    scan_qr: "Отсканируйте QR-код в приложении банка", paying: "Оплата…", declined: "Оплата не прошла",
    paused: "Касса сейчас не принимает товары: сотрудник уже идёт",
    paused_staff: "Касса не принимает товары", quarantined: "Корзина отложена (журнал не читается)",
    staff_needed: "Нужен сотрудник", verified: "проверен", blocked: "запрещён", unavailable: "нет проверки",
    checking: "проверяется", states: { EMPTY: "Ожидание", OPEN: "Открыта", SCANNING: "Сканирование",
      NEEDS_ASSISTANCE: "Нужна помощь", CHECKOUT: "Проверка", READY_TO_PAY: "К оплате", PAYMENT_PENDING: "Оплата",
      PAID: "Оплачено", CLOSED: "Завершено", CANCELLED: "Отменено" },
    problems: { AGE_RESTRICTED: "Товар для взрослых: сотрудник проверит возраст",
      ALCOHOL_HOURS: "Алкоголь сейчас не продаётся", MARKING_BLOCKED: "Честный ЗНАК запретил продажу этого товара",
      MARKING_CHECK_UNAVAILABLE: "Не удалось проверить маркировку: обратитесь к сотруднику",
      ALREADY_SOLD: "Этот экземпляр уже продан", UNKNOWN_ITEM: "Товар не найден в каталоге",
      QTY_LIMIT: "Превышено количество", PAYMENT_DECLINED: "Оплата отклонена" },
    staff: "Сотрудник", sign_in: "Войти", badge: "Войти по бейджу", badge_wait: "Приложите бейдж к любому считывателю",
    approve: "Одобрить", void: "Удалить", lookup: "Проверить код", lanes: "Кассы", readers: "Считыватели",
  },
  en: {
    title: "Self-checkout", lang: "Русский", empty: "Put your items in the box or tap them on the pad",
    item: "Item", price: "Price", discount: "Discount", total: "Total", identify: "Loyalty card",
    phone: "Phone or card number", points: "Use points", checkout: "Go to payment",
    card: "Pay by card", sbp: "Pay by SBP", cancel: "Cancel", receipt: "Receipt", thanks: "Thank you!",
    scan_qr: "Scan the QR code in your banking app", paying: "Paying…", declined: "Payment declined",
    paused: "This till cannot take items right now: a staff member is on the way",
    paused_staff: "Lane takes no items", quarantined: "Basket set aside (its journal does not replay)",
    staff_needed: "Staff needed", verified: "verified", blocked: "blocked", unavailable: "not checked",
    checking: "checking", states: { EMPTY: "Waiting", OPEN: "Open", SCANNING: "Scanning",
      NEEDS_ASSISTANCE: "Needs assistance", CHECKOUT: "Checking", READY_TO_PAY: "Ready to pay",
      PAYMENT_PENDING: "Paying", PAID: "Paid", CLOSED: "Done", CANCELLED: "Cancelled" },
    problems: { AGE_RESTRICTED: "Age-restricted item: a staff member will check your age",
      ALCOHOL_HOURS: "Alcohol cannot be sold at this hour", MARKING_BLOCKED: "Chestny ZNAK does not allow this item to be sold",
      MARKING_CHECK_UNAVAILABLE: "The mark could not be checked: please ask a staff member",
      ALREADY_SOLD: "This item was already sold", UNKNOWN_ITEM: "This item is not in the catalogue",
      QTY_LIMIT: "Too many of this item", PAYMENT_DECLINED: "Payment declined" },
    staff: "Staff", sign_in: "Sign in", badge: "Sign in with badge", badge_wait: "Tap your badge on any reader",
    approve: "Approve", void: "Remove", lookup: "Check a code", lanes: "Lanes", readers: "Readers",
  },
};
export function lang() { return localStorage.getItem("lang") || (navigator.language.startsWith("ru") ? "ru" : "en"); }
export function toggle() { localStorage.setItem("lang", lang() === "ru" ? "en" : "ru"); location.reload(); }
export function rub(kop) { return (kop / 100).toFixed(2) + (lang() === "ru" ? " ₽" : " RUB"); }
export function esc(s) { return String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }

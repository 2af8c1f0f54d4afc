// Every string the page shows, in Russian and English. API text (titles, labels,
// comments) is never looked up here: status labels already come in the client's language.

export const LANGS = ["ru", "en"];

const STRINGS = {
  ru: {
    pageTitle: "Ваши заявки — Herald",
    skip: "К содержимому",
    loading: "Загрузка…",
    langGroup: "Язык",
    langName: { ru: "Русский", en: "English" },
    greeting: (name) => (name ? `Здравствуйте, ${name}!` : "Здравствуйте!"),
    intro: "Здесь видно, на каком этапе ваши заявки. Страница обновляется сама, как только что-то меняется.",
    yourRequests: "Ваши заявки",
    noRequests: "По этой ссылке пока нет заявок.",
    connection: {
      connecting: "Подключение…",
      live: "На связи: изменения появятся сразу",
      reconnecting: "Связь прервалась — переподключаемся…",
      stopped: "Обновления остановлены",
    },
    status: "Статус",
    updated: "Обновлено",
    next: "Что дальше",
    nextDone: "Ничего: заявка закрыта",
    nextUnknown: "Сообщим, как только будет ясно",
    contact: "Кому задать вопрос",
    contactNone: "Ответственный ещё не назначен — ответьте на наше сообщение, и мы поможем.",
    history: "История",
    event: {
      CREATED: (to) => to || "Заявка создана",
      FEEDBACK_LEFT: () => "Получен ваш отзыв",
      ASSIGNED: (_, entry) => (entry?.request?.assignee ? `Ваш контакт: ${entry.request.assignee.name}`
        : "Назначен ответственный"),
      UNASSIGNED: () => "Ответственный сменится — мы сообщим, кто",
      COMMENT_ADDED: (_, entry) => (entry?.actor?.role === "client" ? "Ваш комментарий" : "Комментарий"),
      update: () => "Новости по заявке",
      other: (to) => to || "Изменение",
    },
    messages: "Сообщения о заявке",
    messagesNone: "Пока мы ничего не отправляли по этой заявке.",
    channel: { EMAIL: "Эл. почта", SMS: "SMS", WEBHOOK: "Уведомление" },
    delivery: {
      PENDING: "в очереди",
      SENDING: "отправляется",
      SENT: "отправлено",
      FAILED: "не удалось доставить",
    },
    attempts: (n) => `попыток: ${n}`,
    liveUnavailable: "Живые обновления этой заявки недоступны — обновите страницу позже.",
    announce: {
      status: (number, label) => `Заявка ${number}: новый статус — ${label}`,
      other: (number) => `Заявка ${number} обновлена`,
    },
    feedback: {
      title: "Как мы справились?",
      rating: "Ваша оценка",
      stars: ["1 звезда: очень плохо", "2 звезды: плохо", "3 звезды: нормально", "4 звезды: хорошо",
        "5 звёзд: отлично"],
      comment: "Комментарий (необязательно)",
      send: "Отправить отзыв",
      sending: "Отправляем…",
      ratingMissing: "Выберите оценку от 1 до 5 звёзд.",
      ratingInvalid: "Оценка должна быть от 1 до 5 звёзд.",
      commentInvalid: (detail) => `Комментарий не принят: ${detail}`,
      thanks: "Спасибо за отзыв!",
      yourRating: (n) => `Ваша оценка: ${n} из 5`,
      failed: "Не удалось отправить отзыв. Проверьте связь и попробуйте ещё раз.",
      notAllowed: "Отзыв по этой заявке сейчас оставить нельзя: возможно, он уже получен.",
    },
    settings: {
      title: "Уведомления",
      channels: "Как сообщать об изменениях",
      channelsHint: "Снимите все отметки, чтобы не получать сообщений: эта страница всё равно покажет каждое изменение.",
      channelsNone: "У нас нет ваших контактов для сообщений.",
      locale: "Язык сообщений и этой страницы",
      save: "Сохранить",
      saving: "Сохраняем…",
      saved: "Сохранено.",
      failed: "Не удалось сохранить. Попробуйте ещё раз.",
      channelsInvalid: "Для этого способа у нас нет ваших контактов.",
      localeInvalid: "Выберите русский или английский.",
    },
    errors: {
      noTokenTitle: "Откройте ссылку из сообщения",
      noToken: "Эта страница показывает ваши заявки по личной ссылке. Откройте ссылку из письма или SMS, которое мы вам отправили.",
      authTitle: "Ссылка больше не действует",
      auth: "Возможно, ссылка устарела или была скопирована не полностью. Откройте ссылку из последнего сообщения от нас — или свяжитесь с нами, и мы пришлём новую.",
      loadTitle: "Не удалось загрузить заявки",
      load: "Сервер не ответил. Проверьте подключение к интернету и попробуйте ещё раз.",
      retry: "Попробовать снова",
    },
    footer: "Ссылка личная: не пересылайте её другим.",
  },
  en: {
    pageTitle: "Your requests — Herald",
    skip: "Skip to content",
    loading: "Loading…",
    langGroup: "Language",
    langName: { ru: "Русский", en: "English" },
    greeting: (name) => (name ? `Hello, ${name}!` : "Hello!"),
    intro: "This page shows where your requests stand. It updates by itself as soon as anything changes.",
    yourRequests: "Your requests",
    noRequests: "There are no requests behind this link yet.",
    connection: {
      connecting: "Connecting…",
      live: "Live: changes appear right away",
      reconnecting: "Connection lost — reconnecting…",
      stopped: "Updates stopped",
    },
    status: "Status",
    updated: "Updated",
    next: "What happens next",
    nextDone: "Nothing: the request is closed",
    nextUnknown: "We will tell you as soon as we know",
    contact: "Whom to ask",
    contactNone: "No one is assigned yet — reply to our message and we will help.",
    history: "History",
    event: {
      CREATED: (to) => to || "Request created",
      FEEDBACK_LEFT: () => "Your feedback arrived",
      ASSIGNED: (_, entry) => (entry?.request?.assignee ? `Your contact: ${entry.request.assignee.name}`
        : "A contact person was assigned"),
      UNASSIGNED: () => "Your contact person will change — we will tell you who",
      COMMENT_ADDED: (_, entry) => (entry?.actor?.role === "client" ? "Your comment" : "Comment"),
      update: () => "News about your request",
      other: (to) => to || "Changed",
    },
    messages: "Messages about this request",
    messagesNone: "We have not sent any messages about this request yet.",
    channel: { EMAIL: "Email", SMS: "SMS", WEBHOOK: "Notification" },
    delivery: {
      PENDING: "queued",
      SENDING: "sending",
      SENT: "sent",
      FAILED: "could not be delivered",
    },
    attempts: (n) => `${n} attempts`,
    liveUnavailable: "Live updates for this request are unavailable — reload the page later.",
    announce: {
      status: (number, label) => `Request ${number}: new status — ${label}`,
      other: (number) => `Request ${number} was updated`,
    },
    feedback: {
      title: "How did we do?",
      rating: "Your rating",
      stars: ["1 star: very bad", "2 stars: bad", "3 stars: okay", "4 stars: good", "5 stars: excellent"],
      comment: "Comment (optional)",
      send: "Send feedback",
      sending: "Sending…",
      ratingMissing: "Choose a rating from 1 to 5 stars.",
      ratingInvalid: "The rating must be from 1 to 5 stars.",
      commentInvalid: (detail) => `The comment was not accepted: ${detail}`,
      thanks: "Thank you for your feedback!",
      yourRating: (n) => `Your rating: ${n} of 5`,
      failed: "Your feedback could not be sent. Check your connection and try again.",
      notAllowed: "Feedback cannot be left for this request now: perhaps it has already been received.",
    },
    settings: {
      title: "Notifications",
      channels: "How to tell you about changes",
      channelsHint: "Clear every box to get no messages: this page still shows every change.",
      channelsNone: "We have no contact details to send you messages.",
      locale: "Language of messages and this page",
      save: "Save",
      saving: "Saving…",
      saved: "Saved.",
      failed: "Could not save. Please try again.",
      channelsInvalid: "We have no contact details for this way of telling you.",
      localeInvalid: "Choose Russian or English.",
    },
    errors: {
      noTokenTitle: "Open the link from your message",
      noToken: "This page shows your requests through a personal link. Open the link in the email or SMS we sent you.",
      authTitle: "This link no longer works",
      auth: "The link may have expired or been copied incompletely. Open the link in our latest message — or contact us and we will send a new one.",
      loadTitle: "Your requests could not be loaded",
      load: "The server did not answer. Check your internet connection and try again.",
      retry: "Try again",
    },
    footer: "This link is personal: please do not forward it.",
  },
};

export function pickLang(value) {
  const tag = String(value || "").slice(0, 2).toLowerCase();
  return LANGS.includes(tag) ? tag : null;
}

export function strings(lang) {
  return STRINGS[lang] || STRINGS.ru;
}

export function formatTime(lang, iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? "");
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "ru-RU", { dateStyle: "medium", timeStyle: "short" })
    .format(date);
}

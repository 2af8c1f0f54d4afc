// The client's cabinet: reads the token from the link, shows the client's requests and
// keeps them live over one WebSocket.

import { AuthError, graphql, LEAVE_FEEDBACK, loadRequests, NOTIFICATIONS_OF, RENEW_TOKEN, UPDATE_PREFERENCES,
  WATCH } from "./api.js";
import { applyEvent, applyFullRequest, newModel, RequestCard } from "./cards.js";
import { fill, h } from "./dom.js";
import { LANGS, pickLang, strings } from "./i18n.js";
import { LiveConnection } from "./live.js";
import { availableChannels, settingsSection } from "./settings.js";

const TOKEN_KEY = "herald.portal.token";
const LANG_KEY = "herald.portal.lang";
const NOTIFICATION_RECHECKS_MS = [2_000, 10_000, 30_000];
const RESUBSCRIBE_MS = [1_000, 3_000, 10_000, 30_000];

const app = {
  token: null,
  lang: pickLang(sessionStorage.getItem(LANG_KEY)) || pickLang(navigator.language) || "ru",
  cards: new Map(), // request id -> RequestCard
  client: null,
  settings: { errors: {}, status: "", draft: null },
  savesStarted: 0, // only the answer to the latest preferences save is shown
  live: null,
  connection: null,
  view: "loading",
};
const t = () => strings(app.lang);
const $ = (selector) => document.querySelector(selector);

/**
 * The token of the link (#token=…) moves to sessionStorage and leaves the address bar.
 * `&feedback=1` (the link of the closing message) asks to go straight to the feedback form.
 */
function takeLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromLink = params.get("token");
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return { token: sessionStorage.getItem(TOKEN_KEY), toFeedback: params.get("feedback") === "1" };
}

// -- the frame around the content -------------------------------------------------------------

function renderChrome() {
  const s = t();
  document.documentElement.lang = app.lang;
  document.title = s.pageTitle;
  $(".skip-link").textContent = s.skip;
  $("#lang-switch").setAttribute("aria-label", s.langGroup);
  for (const button of document.querySelectorAll("#lang-switch button")) {
    const code = button.dataset.lang;
    button.setAttribute("aria-pressed", String(code === app.lang));
    button.setAttribute("aria-label", `${code.toUpperCase()} — ${s.langName[code]}`);
  }
  $("#footer-note").textContent = app.view === "requests" ? s.footer : "";
  renderConnection();
}

function renderConnection() {
  const node = $("#connection");
  const state = app.connection;
  node.hidden = !state;
  node.dataset.state = state || "";
  if (state) fill(node, h("span", { class: "dot", "aria-hidden": "true" }), t().connection[state]);
}

function announce(text) {
  const region = $("#announcer");
  // A fresh node per message, so the same words said twice are still announced.
  region.replaceChildren(h("p", {}, text));
}

/** A whole-page message in place of the requests: no token, a refused token, a failed load. */
function showMessage(kind, title, text, action) {
  app.view = kind;
  const main = $("#main");
  fill(main, h("section", { class: "card message", "data-view": kind, "aria-labelledby": "message-title" },
    h("h1", { id: "message-title", tabindex: "-1" }, title),
    h("p", {}, text),
    action || null));
  renderChrome();
  main.querySelector("h1").focus();
}

function showNoToken() {
  const s = t().errors;
  showMessage("no-token", s.noTokenTitle, s.noToken);
}

function showAuthError() {
  sessionStorage.removeItem(TOKEN_KEY); // a newer link works at once; this one never will again
  app.live?.stop();
  app.live = null;
  app.connection = null;
  const s = t().errors;
  showMessage("auth-error", s.authTitle, s.auth);
}

function showLoadError() {
  const s = t().errors;
  showMessage("load-error", s.loadTitle, s.load,
    h("button", { type: "button", class: "button primary", on: { click: () => start() } }, s.retry));
}

// -- the requests ---------------------------------------------------------------------------

const cardContext = {
  t,
  lang: () => app.lang,
  sendFeedback,
};

function renderRequests({ keepFocus = null } = {}) {
  app.view = "requests";
  const s = t();
  const cards = [...app.cards.values()];
  const main = $("#main");
  const name = app.client?.name;
  const list = h("div", { class: "cards" });
  for (const card of cards) list.append(card.el);
  const settings = app.client ? settingsSection({
    t: s, lang: app.lang,
    state: { client: app.client, channels: availableChannels(cards.map((c) => c.model.request)), ...app.settings },
    onSave: savePreferences,
    onRenew: renewLink,
  }) : null;
  fill(main,
    h("div", { class: "intro" }, h("h1", { tabindex: "-1" }, s.greeting(name)), h("p", {}, s.intro)),
    h("h2", { class: "visually-hidden" }, s.yourRequests),
    cards.length ? list : h("p", { class: "card muted" }, s.noRequests),
    settings);
  renderChrome();
  if (keepFocus) main.querySelector(keepFocus)?.focus();
}

async function start() {
  const link = takeLink();
  app.token = link.token;
  renderChrome();
  if (!app.token) {
    showNoToken();
    return;
  }
  let requests;
  try {
    requests = await loadRequests(app.token);
  } catch (error) {
    if (error instanceof AuthError) showAuthError();
    else showLoadError();
    return;
  }
  app.client = requests[0]?.client || null;
  app.lang = pickLang(app.client?.locale) || app.lang;
  app.cards = new Map(requests.map((r) => [r.id, new RequestCard(newModel(r), cardContext)]));
  renderRequests();
  if (link.toFeedback) {
    const title = $(".feedback-form .feedback-title");
    if (title) {
      title.scrollIntoView({ block: "center" });
      title.focus({ preventScroll: true });
    }
  }
  startLive();
  for (const card of app.cards.values()) if (unsettled(card.model.notifications)) recheckNotifications(card);
}

function unsettled(notifications) {
  return notifications.some((n) => n.state === "PENDING" || n.state === "SENDING");
}

// -- live -----------------------------------------------------------------------------------

function startLive() {
  app.live?.stop();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  app.live = new LiveConnection({
    url: `${scheme}//${location.host}/graphql`,
    connectionParams: () => ({ Authorization: `Bearer ${app.token}` }),
    onState: (state) => {
      app.connection = state === "stopped" ? null : state;
      renderConnection();
    },
    onForbidden: showAuthError,
  });
  for (const card of app.cards.values()) watch(card);
  app.live.start();
}

function watch(card) {
  let failures = 0;
  const handle = app.live.subscribe(WATCH, () => ({ id: card.model.request.id, since: card.model.version }), {
    next: (payload) => {
      if (payload.errors?.length && !payload.data) {
        retry(payload.errors);
        return;
      }
      failures = 0;
      onEvent(card, payload.data.requestUpdated);
    },
    error: (errors) => retry(errors),
    complete: () => stopWatching(card),
  });

  function retry(errors) {
    const code = errors?.[0]?.extensions?.code;
    if (code === "NOT_FOUND" || code === "FORBIDDEN" || failures >= RESUBSCRIBE_MS.length) {
      stopWatching(card);
      return;
    }
    setTimeout(() => handle.restart(), RESUBSCRIBE_MS[failures]);
    failures += 1;
  }
}

function stopWatching(card) {
  card.model.liveUnavailable = true;
  card.refresh();
}

function onEvent(card, event) {
  const before = card.model.request.status.label;
  if (!applyEvent(card.model, event)) return;
  card.model.liveUnavailable = false;
  card.refresh();
  const s = t();
  const { number, status } = card.model.request;
  if (status.label !== before) {
    announce(s.announce.status(number, status.label));
    const badge = card.el.querySelector(".badge");
    badge.classList.add("changed");
    badge.addEventListener("animationend", () => badge.classList.remove("changed"), { once: true });
  } else if (event.type === "STATUS_CHANGED" ? event.comment : event.type !== "FEEDBACK_LEFT") {
    // A move between statuses that look alike is no news; feedback is the client's own doing.
    announce(s.announce.other(number));
  }
  recheckNotifications(card);
}

/** Messages are queued with the event and sent a moment later: look again a few times. */
function recheckNotifications(card) {
  clearTimeout(card.recheckTimer);
  const step = (index) => {
    card.recheckTimer = setTimeout(async () => {
      let data;
      try {
        data = await graphql(app.token, NOTIFICATIONS_OF, { id: card.model.request.id });
      } catch (error) {
        if (error instanceof AuthError) showAuthError();
        return;
      }
      if (!data.request) return;
      card.model.notifications = data.request.notifications;
      card.renderMessages();
      if (unsettled(data.request.notifications) && index + 1 < NOTIFICATION_RECHECKS_MS.length) step(index + 1);
    }, NOTIFICATION_RECHECKS_MS[index]);
  };
  step(0);
}

// -- mutations ------------------------------------------------------------------------------

async function sendFeedback(card, rating, comment) {
  const model = card.model;
  const s = t().feedback;
  let result;
  try {
    const data = await graphql(app.token, LEAVE_FEEDBACK,
      { input: { id: model.request.id, rating, comment: comment.trim() ? comment : null } });
    result = data.leaveFeedback;
  } catch (error) {
    if (error instanceof AuthError) {
      showAuthError();
      return;
    }
    model.errors = { form: s.failed };
    return;
  }
  if (result.__typename === "LeaveFeedbackSuccess") {
    // Not the version: the FEEDBACK_LEFT event still has to arrive and join the history.
    model.request = { ...model.request, feedback: result.request.feedback, status: result.request.status };
    model.errors = {};
    model.justThanked = true;
    card.refresh();
    announce(t().feedback.thanks);
  } else if (result.__typename === "ValidationError") {
    model.errors = {};
    for (const { field, message } of result.fields) {
      if (field === "rating") model.errors.rating = s.ratingInvalid;
      else if (field === "comment") model.errors.comment = s.commentInvalid(message);
      else model.errors.form = result.message;
    }
  } else if (result.__typename === "FeedbackNotAllowed") {
    model.errors = { form: s.notAllowed };
  } else {
    model.errors = { form: s.failed };
  }
}

/** A new token for this page; the link it was opened with (and any copy of it) stops working. */
async function renewLink(status) {
  const s = t().settings;
  try {
    const data = await graphql(app.token, RENEW_TOKEN);
    app.token = data.renewAccessToken.clientAccessToken;
  } catch (error) {
    if (error instanceof AuthError) showAuthError();
    else status.textContent = s.failed;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, app.token);
  startLive(); // the old token's socket is about to be closed by the server
  status.textContent = s.renewed;
}

async function savePreferences(input, form = null) {
  if (!app.client) return;
  const s = t().settings;
  const button = form?.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.textContent = s.saving;
  }
  const done = (settings) => {
    app.settings = settings;
    renderRequests({ keepFocus: form ? ".settings-form [aria-invalid=true], .settings-form button[type=submit]"
      : null });
  };
  const save = ++app.savesStarted;
  let result;
  try {
    result = (await graphql(app.token, UPDATE_PREFERENCES, { input })).updateNotificationPreferences;
  } catch (error) {
    if (error instanceof AuthError) showAuthError();
    else if (save === app.savesStarted) done({ errors: {}, status: form ? s.failed : "", draft: form ? input : null });
    return;
  }
  if (save !== app.savesStarted) return;
  if (result.__typename === "ValidationError") {
    const errors = {};
    for (const { field, message } of result.fields) errors[field] = s[`${field}Invalid`] || message;
    done({ errors, status: "", draft: input });
    return;
  }
  app.client = result.client;
  app.lang = pickLang(result.client.locale) || app.lang;
  sessionStorage.setItem(LANG_KEY, app.lang);
  for (const request of result.requests) {
    const card = app.cards.get(request.id);
    if (card) applyFullRequest(card.model, request);
  }
  for (const card of app.cards.values()) card.refresh({ relabel: true });
  done({ errors: {}, status: form ? t().settings.saved : "", draft: null });
}

function switchLanguage(lang) {
  if (!LANGS.includes(lang) || lang === app.lang) return;
  app.lang = lang;
  sessionStorage.setItem(LANG_KEY, lang);
  if (app.view === "requests") {
    for (const card of app.cards.values()) card.refresh({ relabel: true });
    renderRequests();
    // The client's language is one setting: labels and messages follow the page.
    savePreferences({ locale: lang });
  } else if (app.view === "no-token") showNoToken();
  else if (app.view === "auth-error") showAuthError();
  else if (app.view === "load-error") showLoadError();
  else renderChrome();
}

for (const button of document.querySelectorAll("#lang-switch button")) {
  button.addEventListener("click", () => switchLanguage(button.dataset.lang));
}
start();

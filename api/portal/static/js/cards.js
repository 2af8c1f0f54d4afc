// One card per request: what it is, where it stands, its history, the messages sent about
// it, and (once closed) the feedback form. Every API string goes in as text.

import { fill, h, uid } from "./dom.js";
import { formatTime } from "./i18n.js";

/** The page's state of one request. history holds versions up to `version`, oldest first. */
export function newModel(request) {
  const { history = [], notifications = [], workflow, ...card } = request;
  return {
    request: card,
    workflow: workflowOf(workflow),
    version: card.version,
    // A transition may land between reading the request and its history: the subscription
    // (from `version`) brings it, so it is left out here rather than shown twice.
    history: history.filter((e) => e.version <= card.version).sort((a, b) => a.version - b.version),
    notifications,
    draft: { rating: null, comment: "" },
    errors: {},
    sending: false,
    justThanked: false,
    liveUnavailable: false,
  };
}

/** Takes a request read after the model's: fresh labels, and history when it is complete. */
export function applyFullRequest(model, request) {
  const { history, notifications, workflow, ...card } = request;
  if (workflow) model.workflow = workflowOf(workflow);
  if (card.version < model.version) return;
  model.request = card;
  model.version = card.version;
  if (history) model.history = [...history].sort((a, b) => a.version - b.version);
  if (notifications) model.notifications = notifications;
}

/** Labels by status key (in the page's language) and the first move the workflow lists from each. */
function workflowOf(workflow) {
  const firstMove = new Map();
  for (const { from, to } of workflow?.transitions || []) if (!firstMove.has(from.key)) firstMove.set(from.key, to.key);
  return { labels: new Map((workflow?.statuses || []).map((s) => [s.key, s.label])), firstMove };
}

function labelOf(model, status) {
  return status ? model.workflow.labels.get(status.key) || status.label : null;
}

/** What a history entry says happened, in the page's language. */
export function describeEvent(model, t, entry) {
  const to = labelOf(model, entry.to);
  if (entry.type === "STATUS_CHANGED") return to || entry.type;
  return (t.event[entry.type] || t.event.other)(to, entry);
}

/**
 * The history as the client sees it. Several internal statuses can share one client label:
 * a move between them is no news, so it shows only when it carries a comment.
 */
export function visibleHistory(model, t) {
  const shown = [];
  let current = null;
  for (const entry of model.history) {
    const label = labelOf(model, entry.to);
    if (entry.type === "STATUS_CHANGED" && label === current) {
      if (entry.comment) shown.push({ entry, what: t.event.update() });
    } else {
      shown.push({ entry, what: describeEvent(model, t, entry) });
    }
    if (label) current = label;
  }
  return shown;
}

/** The next status that looks different to the client: nextStatus, or further along its first moves. */
export function nextLabel(model) {
  const { status, nextStatus } = model.request;
  if (status.terminal || !nextStatus) return null;
  const current = labelOf(model, status);
  const seen = new Set([status.key]);
  let key = nextStatus.key;
  while (key && !seen.has(key)) {
    const label = model.workflow.labels.get(key) || (key === nextStatus.key ? nextStatus.label : null);
    if (label && label !== current) return label;
    seen.add(key);
    key = model.workflow.firstMove.get(key);
  }
  return null;
}

/** Adds one live event; false when it was already shown. */
export function applyEvent(model, event) {
  if (event.version <= model.version) return false;
  const { request, ...entry } = event;
  model.history.push({ ...entry, request: { assignee: request.assignee } });
  model.request = request;
  model.version = event.version;
  return true;
}

/** Feedback is taken once each time a request is closed: open when none was left since. */
export function feedbackOpen(model) {
  const { status, feedback } = model.request;
  if (!status.terminal) return false;
  if (!feedback) return true;
  const closings = model.history.filter((e) => e.type === "STATUS_CHANGED" && e.to?.terminal);
  const lastClosing = closings[closings.length - 1];
  return Boolean(lastClosing) && new Date(feedback.at) < new Date(lastClosing.at);
}

export class RequestCard {
  /** ctx: { t: () => strings, lang: () => "ru"|"en", sendFeedback(card, rating, comment) } */
  constructor(model, ctx) {
    this.model = model;
    this.ctx = ctx;
    const id = model.request.id;
    this.titleId = `request-${id}-title`;
    this.el = h("article", { class: "card", id: `request-${id}`, "aria-labelledby": this.titleId,
      "data-request": model.request.number });
    this.head = h("header", { class: "card-head" });
    this.facts = h("dl", { class: "facts" });
    this.liveNote = h("p", { class: "note", hidden: true });
    this.historyList = h("ol", { class: "timeline" });
    this.historyHeading = h("h3", { class: "section-title" });
    this.messagesSummary = h("summary");
    this.messagesBody = h("div", { class: "messages-body" });
    this.messages = h("details", { class: "messages" }, this.messagesSummary, this.messagesBody);
    this.feedback = h("section", { class: "feedback", hidden: true });
    this.feedbackMode = null;
    this.el.append(this.head, this.facts, this.liveNote,
      h("section", { class: "history" }, this.historyHeading, this.historyList), this.messages, this.feedback);
    this.refresh();
  }

  get t() {
    return this.ctx.t();
  }

  /** Re-renders everything but an open feedback form (typing in it must survive events). */
  refresh({ relabel = false } = {}) {
    const { t } = this;
    const lang = this.ctx.lang();
    const r = this.model.request;
    const badgeKind = r.status.terminal ? "done" : "active";
    fill(this.head,
      h("p", { class: "number" }, r.number),
      h("h2", { class: "title", id: this.titleId }, r.title),
      h("p", { class: `badge badge-${badgeKind}`, "data-status": r.status.key },
        h("span", { class: "visually-hidden" }, `${t.status}: `), r.status.label),
      r.status.description ? h("p", { class: "status-description" }, r.status.description) : null);

    const next = r.status.terminal ? t.nextDone : nextLabel(this.model) || t.nextUnknown;
    fill(this.facts,
      fact(t.updated, h("time", { datetime: r.updatedAt, class: "updated" }, formatTime(lang, r.updatedAt))),
      fact(t.next, h("span", { class: "next" }, next)),
      fact(t.contact, this.contact()));

    this.liveNote.hidden = !this.model.liveUnavailable;
    this.liveNote.textContent = t.liveUnavailable;

    this.historyHeading.textContent = t.history;
    const shown = visibleHistory(this.model, t);
    fill(this.historyList, ...shown.map(({ entry, what }, index) =>
      this.historyItem(entry, what, index === shown.length - 1)));

    this.renderMessages();
    this.renderFeedback(relabel);
  }

  contact() {
    const { t } = this;
    const a = this.model.request.assignee;
    if (!a) return h("span", { class: "muted contact-none" }, t.contactNone);
    return h("span", { class: "contact" },
      h("span", { class: "contact-name" }, a.name),
      a.email ? h("a", { href: `mailto:${a.email}` }, a.email) : null,
      a.phone ? h("a", { href: `tel:${a.phone.replace(/[^\d+]/g, "")}` }, a.phone) : null);
  }

  historyItem(entry, what, latest) {
    // Who wrote a comment matters; for status changes the status says enough.
    const author = entry.type === "COMMENT_ADDED" && entry.actor?.role !== "client" ? entry.actor?.name : null;
    return h("li", { class: latest ? "event latest" : "event", "data-version": entry.version },
      h("p", { class: "event-what" }, what),
      h("p", { class: "event-at" },
        h("time", { datetime: entry.at }, formatTime(this.ctx.lang(), entry.at)),
        author ? h("span", { class: "event-author" }, ` · ${author}`) : null),
      entry.comment ? h("p", { class: "event-comment" }, entry.comment) : null);
  }

  renderMessages() {
    const { t } = this;
    const items = this.model.notifications;
    fill(this.messagesSummary, t.messages, h("span", { class: "count" }, ` (${items.length})`));
    if (!items.length) {
      fill(this.messagesBody, h("p", { class: "muted" }, t.messagesNone));
      return;
    }
    // One line per event, in history order, with the state of each channel's message.
    const byVersion = new Map(this.model.history.map((e) => [e.version, e]));
    const groups = new Map();
    for (const n of items) {
      if (!groups.has(n.eventVersion)) groups.set(n.eventVersion, []);
      groups.get(n.eventVersion).push(n);
    }
    fill(this.messagesBody, h("ul", { class: "deliveries" }, ...[...groups].map(([version, messages]) => {
      const event = byVersion.get(version);
      return h("li", { class: "delivery-group", "data-version": version },
        h("p", { class: "delivery-about" }, event ? describeEvent(this.model, t, event) : `#${version}`),
        h("ul", { class: "delivery-list" }, ...messages.map((n) => h("li",
          { class: `delivery delivery-${n.state.toLowerCase()}` },
          h("span", { class: "delivery-channel" }, t.channel[n.channel] || n.channel), ": ",
          h("span", { class: "delivery-state" }, t.delivery[n.state] || n.state.toLowerCase()),
          n.attempts > 1 || n.state === "FAILED" ? h("span", { class: "muted" }, ` (${t.attempts(n.attempts)})`)
            : null))));
    })));
  }

  // -- feedback ----------------------------------------------------------------------------

  renderFeedback(relabel) {
    const model = this.model;
    const mode = feedbackOpen(model) ? "form" : model.request.feedback && model.request.status.terminal
      ? "thanks" : "none";
    if (mode === this.feedbackMode && !relabel) {
      if (mode === "form") this.showErrors();
      return;
    }
    const focusThanks = this.feedbackMode === "form" && mode === "thanks" && model.justThanked;
    this.feedbackMode = mode;
    this.feedback.hidden = mode === "none";
    if (mode === "form") fill(this.feedback, this.feedbackForm());
    else if (mode === "thanks") fill(this.feedback, this.thanks());
    else this.feedback.replaceChildren();
    if (focusThanks) this.feedback.querySelector(".thanks-title")?.focus();
  }

  thanks() {
    const { t } = this;
    const { rating, comment } = this.model.request.feedback;
    return h("div", { class: "thanks" },
      h("h3", { class: "thanks-title", tabindex: "-1" }, t.feedback.thanks),
      h("p", { class: "stars-shown", "aria-label": t.feedback.yourRating(rating) },
        h("span", { "aria-hidden": "true", class: "star-glyphs" }, "★".repeat(rating) + "☆".repeat(5 - rating)),
        h("span", { "aria-hidden": "true", class: "muted" }, ` ${rating}/5`)),
      comment ? h("blockquote", { class: "feedback-comment" }, comment) : null);
  }

  feedbackForm() {
    const { t } = this;
    const model = this.model;
    const ids = { title: uid("fb-title"), rating: uid("fb-rating-error"), comment: uid("fb-comment"),
      commentError: uid("fb-comment-error"), caption: uid("fb-caption") };
    this.ids = ids;
    const name = uid("rating");
    const caption = h("span", { class: "stars-caption muted", id: ids.caption, "aria-hidden": "true" });
    const showCaption = () => {
      caption.textContent = model.draft.rating ? t.feedback.stars[model.draft.rating - 1].split(": ")[1] : "";
    };
    const stars = [1, 2, 3, 4, 5].map((value) => {
      const id = uid("star");
      return [
        h("input", { type: "radio", id, name, value, class: "star-input", checked: model.draft.rating === value,
          "aria-describedby": ids.rating,
          on: { change: () => {
            model.draft.rating = value;
            showCaption();
            if (model.errors.rating) {
              delete model.errors.rating;
              this.showErrors();
            }
          } } }),
        h("label", { for: id, class: "star" },
          h("span", { "aria-hidden": "true" }, "★"),
          h("span", { class: "visually-hidden" }, t.feedback.stars[value - 1])),
      ];
    });
    showCaption();
    const comment = h("textarea", { id: ids.comment, name: "comment", rows: "3", maxlength: "5000",
      "aria-describedby": ids.commentError, value: model.draft.comment,
      on: { input: (e) => { model.draft.comment = e.target.value; } } });
    const submit = h("button", { type: "submit", class: "button primary", disabled: model.sending },
      model.sending ? t.feedback.sending : t.feedback.send);
    const form = h("form", { class: "feedback-form", novalidate: true, "aria-labelledby": ids.title,
      on: { submit: (e) => { e.preventDefault(); this.submitFeedback(form); } } },
      h("h3", { id: ids.title, class: "section-title feedback-title", tabindex: "-1" }, t.feedback.title),
      h("fieldset", { class: "rating" },
        h("legend", {}, t.feedback.rating),
        h("div", { class: "stars" }, ...stars.flat(), caption)),
      h("p", { class: "field-error", id: ids.rating, hidden: true, "data-field": "rating" }),
      h("div", { class: "field" },
        h("label", { for: ids.comment }, t.feedback.comment),
        comment,
        h("p", { class: "field-error", id: ids.commentError, hidden: true, "data-field": "comment" })),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("div", { class: "actions" }, submit));
    this.form = form;
    this.showErrors(form);
    return form;
  }

  async submitFeedback(form) {
    const model = this.model;
    if (model.sending) return;
    const checked = form.querySelector(".star-input:checked");
    // The value is read from the control itself, so what is sent is what the page shows.
    const rating = checked ? Number(checked.value) : null;
    model.draft.comment = form.elements.comment.value;
    if (rating === null) {
      model.errors = { rating: this.t.feedback.ratingMissing };
      this.showErrors(form, true);
      return;
    }
    model.errors = {};
    model.sending = true;
    // The thank-you takes the focus, whether the answer or the live event shows it first.
    model.justThanked = true;
    this.setSending(form, true);
    try {
      await this.ctx.sendFeedback(this, rating, model.draft.comment);
    } finally {
      model.sending = false;
      if (this.feedbackMode === "form" && this.form === form) {
        this.setSending(form, false);
        this.showErrors(form, true);
      }
    }
  }

  setSending(form, sending) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = sending;
    button.textContent = sending ? this.t.feedback.sending : this.t.feedback.send;
  }

  /** Puts model.errors beside their fields; focus moves to the first bad field when asked. */
  showErrors(form = this.form, focus = false) {
    if (!form) return;
    const errors = this.model.errors;
    const fields = {
      rating: [...form.querySelectorAll(".star-input")],
      comment: [form.elements.comment],
    };
    let first = null;
    for (const [field, controls] of Object.entries(fields)) {
      const slot = form.querySelector(`.field-error[data-field="${field}"]`);
      const message = errors[field];
      slot.hidden = !message;
      slot.textContent = message || "";
      for (const control of controls) {
        if (message) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
      if (message && !first) first = field === "rating" ? (form.querySelector(".star-input:checked")
        || controls[0]) : controls[0];
    }
    const general = form.querySelector(".form-error");
    general.hidden = !errors.form;
    general.textContent = errors.form || "";
    if (focus && first) first.focus();
  }
}

function fact(term, value) {
  return h("div", { class: "fact" }, h("dt", {}, term), h("dd", {}, value));
}

// The client's notification settings: channels they have contact details for, and language.

import { h, uid } from "./dom.js";
import { LANGS } from "./i18n.js";

const CONTACT_OF = { EMAIL: "email", SMS: "phone" };

/** Channels every shown request has contact details for (the server checks the same). */
export function availableChannels(requests) {
  return Object.entries(CONTACT_OF)
    .filter(([, contact]) => requests.length && requests.every((r) => r.client[contact]))
    .map(([channel]) => channel);
}

/**
 * The settings form. state: { client, channels (available), errors, status, draft };
 * draft: what the client chose but was not saved (kept across a failed save).
 * onSave({ channels, locale }, form).
 */
export function settingsSection({ t, lang, state, onSave, onRenew }) {
  const s = t.settings;
  const errors = state.errors || {};
  const ids = { title: uid("settings-title"), channelsError: uid("channels-error"), locale: uid("locale"),
    localeError: uid("locale-error") };
  const draft = state.draft || {};
  const chosen = new Set(draft.channels || state.client.channels);
  const boxes = state.channels.map((channel) => {
    const id = uid("channel");
    const contact = state.client[CONTACT_OF[channel]];
    return h("div", { class: "check" },
      h("input", { type: "checkbox", id, name: "channels", value: channel, checked: chosen.has(channel),
        "aria-describedby": ids.channelsError, "aria-invalid": errors.channels ? "true" : null }),
      h("label", { for: id }, t.channel[channel], " ", h("span", { class: "muted" }, contact)));
  });
  const localeSelect = h("select", { id: ids.locale, name: "locale", "aria-describedby": ids.localeError,
    "aria-invalid": errors.locale ? "true" : null },
    ...LANGS.map((code) => h("option", { value: code, lang: code }, t.langName[code])));
  localeSelect.value = draft.locale || state.client.locale || lang;
  const save = h("button", { type: "submit", class: "button primary" }, s.save);
  const status = h("p", { class: "form-status", role: "status" }, state.status || "");
  const form = h("form", { class: "settings-form", novalidate: true, "aria-labelledby": ids.title,
    on: { submit: (event) => {
      event.preventDefault();
      const channels = [...form.querySelectorAll("input[name=channels]:checked")].map((box) => box.value);
      onSave({ channels: state.channels.length ? channels : undefined, locale: localeSelect.value }, form);
    } } },
    h("fieldset", { class: "channels" },
      h("legend", {}, s.channels),
      boxes.length ? boxes : h("p", { class: "muted" }, s.channelsNone),
      boxes.length ? h("p", { class: "hint muted" }, s.channelsHint) : null,
      h("p", { class: "field-error", id: ids.channelsError, hidden: !errors.channels, "data-field": "channels" },
        errors.channels || "")),
    h("div", { class: "field" },
      h("label", { for: ids.locale }, s.locale),
      localeSelect,
      h("p", { class: "field-error", id: ids.localeError, hidden: !errors.locale, "data-field": "locale" },
        errors.locale || "")),
    h("div", { class: "actions" }, save, status));
  const renew = h("button", { type: "button", class: "button", on: { click: () => onRenew(renewStatus) } },
    s.renew);
  const renewStatus = h("p", { class: "renew-status", role: "status" }, "");
  return h("section", { class: "card settings", "aria-labelledby": ids.title },
    h("h2", { id: ids.title, class: "settings-title" }, s.title), form,
    h("div", { class: "renew" }, h("h3", {}, s.linkTitle), h("p", { class: "hint muted" }, s.renewHint),
      h("div", { class: "actions" }, renew, renewStatus)));
}

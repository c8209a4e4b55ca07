// The portal's own script. It is a static file because the Content-Security-Policy runs no
// inline script, no event-handler attribute and no htmx hx-on.

// A form marked data-swap-errors shows the server's 400 answer (the form with its field
// errors) in place, as htmx otherwise ignores error responses. The event fires on the
// swap's target; the form that asked is the request's element.
document.addEventListener("htmx:beforeSwap", (event) => {
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (event.detail.xhr.status === 400 && source && source.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// --- Confirm what destroys (data-confirm) -------------------------------------------------
// A form with data-confirm="question" (or whose submit button has it) asks first, in a modal
// <dialog>: focus starts on the safe choice, Escape or that button closes it and nothing is
// sent; the other button sends the form as it was. A link with data-confirm and
// data-confirm-name asks to type that name too, then POSTs `confirm=<name>` to the link's
// address (the page it opens without JS asks for the name the same way).
// Optional: data-confirm-detail (a sentence under the question), data-confirm-button (the
// go-ahead's label; else the control's text) and data-confirm-keep (the safe one's; "Keep").
// Without JS the forms post and the link opens its page: the server checks either way.
(() => {
  let dialog = null;
  let parts = null;
  let settle = null; // resolves the open question: the typed name / true, or null

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    dialog = element("dialog", {
      class: "confirm-dialog",
      id: "confirm-dialog",
      "aria-labelledby": "confirm-dialog-question",
      "aria-describedby": "confirm-dialog-detail",
    });
    parts = {
      question: element("h2", { class: "h5 mb-2", id: "confirm-dialog-question" }),
      detail: element("p", { class: "mb-3", id: "confirm-dialog-detail" }),
      nameRow: element("div", { class: "mb-3" }),
      nameLabel: element("label", { class: "form-label", for: "confirm-dialog-name" }),
      name: element("input", {
        class: "form-control",
        id: "confirm-dialog-name",
        type: "text",
        autocomplete: "off",
        spellcheck: "false",
      }),
      keep: element("button", { class: "btn btn-outline-secondary", type: "button", value: "keep" }),
      go: element("button", { class: "btn btn-danger", type: "button", value: "confirm" }),
    };
    parts.nameRow.append(parts.nameLabel, parts.name);
    const buttons = element("div", { class: "d-flex flex-wrap justify-content-end gap-2" });
    buttons.append(parts.keep, parts.go);
    dialog.append(parts.question, parts.detail, parts.nameRow, buttons);
    document.body.append(dialog);

    parts.keep.addEventListener("click", () => dialog.close());
    parts.go.addEventListener("click", () => finish());
    parts.name.addEventListener("input", () => {
      parts.go.disabled = parts.name.value !== dialog.dataset.name;
    });
    parts.name.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        if (!parts.go.disabled) finish();
      }
    });
    // Escape (the dialog's cancel), Keep, or finish(): whatever closes it answers.
    dialog.addEventListener("close", () => {
      const answer = dialog.returnValue === "confirm" ? confirmed() : null;
      const resolve = settle;
      settle = null;
      if (resolve) resolve(answer);
    });
  }

  function confirmed() {
    return dialog.dataset.name === undefined ? true : parts.name.value;
  }

  function finish() {
    dialog.close("confirm");
  }

  // The question `source` asks; resolves with true (or the typed name), or null.
  function ask(source, fallbackLabel) {
    if (!dialog) build();
    if (dialog.open) return Promise.resolve(null);
    const data = source.dataset;
    dialog.returnValue = "";
    parts.question.textContent = data.confirm;
    parts.detail.textContent = data.confirmDetail || "";
    parts.detail.hidden = !data.confirmDetail;
    parts.keep.textContent = data.confirmKeep || "Keep";
    parts.go.textContent = data.confirmButton || fallbackLabel || "Confirm";
    const name = data.confirmName;
    parts.nameRow.hidden = name === undefined;
    parts.name.value = "";
    if (name === undefined) {
      delete dialog.dataset.name;
      parts.go.disabled = false;
    } else {
      dialog.dataset.name = name;
      parts.nameLabel.replaceChildren("Type ", element("code", {}, name), " to confirm.");
      parts.go.disabled = true;
    }
    return new Promise((resolve) => {
      settle = resolve;
      dialog.showModal();
      (name === undefined ? parts.keep : parts.name).focus();
    });
  }

  function csrfToken() {
    try {
      const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (error) {
      // no hx-headers: fall back to a form's token
    }
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function post(action, fields) {
    const form = element("form", { method: "post", action: action, hidden: "" });
    for (const [name, value] of Object.entries(fields)) {
      form.append(element("input", { type: "hidden", name: name, value: value }));
    }
    document.body.append(form);
    form.submit();
  }

  // Capturing, so that the question comes before any other handler of the form (htmx's).
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const submitter = event.submitter;
      const source =
        submitter && submitter.dataset.confirm ? submitter : form.dataset.confirm ? form : null;
      if (!source) return;
      if (form.dataset.confirmed === "yes") {
        delete form.dataset.confirmed;
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      const label = submitter ? submitter.textContent.trim() : "";
      ask(source, label).then((answer) => {
        if (answer === null) return;
        form.dataset.confirmed = "yes";
        form.requestSubmit(submitter && form.contains(submitter) ? submitter : undefined);
      });
    },
    true,
  );

  document.addEventListener(
    "click",
    (event) => {
      const link = event.target.closest && event.target.closest("a[data-confirm]");
      const plain = event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey;
      if (!link || !plain) return;
      event.preventDefault();
      ask(link, link.textContent.trim()).then((answer) => {
        if (answer === null) return;
        const fields = { csrfmiddlewaretoken: csrfToken() };
        if (typeof answer === "string") fields.confirm = answer;
        post(link.dataset.confirmAction || link.href, fields);
      });
    },
    true,
  );
})();

// --- Run logs: follow the newest line ----------------------------------------------------
// A run's log box (.run-log) follows new lines while the reader is at its bottom. Scrolling
// up stops that and shows its "Jump to latest" button ([data-log-jump]), which scrolls back
// down and follows again; so does scrolling back to the bottom. The state lives on the box
// (data-follow, set by the page while the run goes on), so it survives htmx's swaps of the
// lines inside it.
(() => {
  const NEAR = 24; // pixels from the bottom that still count as "at the bottom"

  const atBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight <= NEAR;
  const following = (box) => box.dataset.follow === "true";

  function show(box) {
    const jump = box.parentElement && box.parentElement.querySelector("[data-log-jump]");
    if (jump) {
      jump.hidden = following(box) || atBottom(box);
    }
  }

  function settle(box) {
    // Moved up by a scroll whose event has not come yet: the reader's, it wins.
    if (box.scrollTop < Number(box.dataset.lastTop || 0) - 1) {
      box.dataset.follow = "false";
    }
    if (following(box)) {
      box.scrollTop = box.scrollHeight;
    }
    box.dataset.lastTop = String(box.scrollTop);
    show(box);
  }

  const settleAll = () => document.querySelectorAll(".run-log").forEach(settle);

  // Scroll events do not bubble: listen in the capture phase.
  document.addEventListener(
    "scroll",
    (event) => {
      const box = event.target;
      if (!(box instanceof Element) || !box.matches(".run-log")) {
        return;
      }
      // Only the reader moves the box up (new lines only make it taller).
      if (box.scrollTop < Number(box.dataset.lastTop || 0) - 1) {
        box.dataset.follow = "false";
      }
      if (atBottom(box)) {
        box.dataset.follow = "true";
      }
      box.dataset.lastTop = String(box.scrollTop);
      show(box);
    },
    true,
  );

  // The wheel turned up over a box stops it at once, before the scroll it makes.
  document.addEventListener(
    "wheel",
    (event) => {
      const box = event.target instanceof Element && event.target.closest(".run-log");
      if (box && event.deltaY < 0) {
        box.dataset.follow = "false";
      }
    },
    { passive: true },
  );

  document.addEventListener("click", (event) => {
    const jump = event.target instanceof Element && event.target.closest("[data-log-jump]");
    const box = jump && jump.parentElement.querySelector(".run-log");
    if (box) {
      box.dataset.follow = "true";
      settle(box);
      box.focus({ preventScroll: true });
    }
  });

  document.addEventListener("htmx:afterSettle", settleAll);
  settleAll(); // this script is deferred: the page's log boxes are there
})();

// --- Copy buttons (outputs, a new API token) ------------------------------------------------
// A .copy-button copies the text of the [data-copy-source] in its [data-copy-scope], with the
// Clipboard API where the page may use it, else by selecting the text and execCommand. It
// then reads "Copied" for a moment, and a polite live region says so to screen readers.
(() => {
  const announce = (text) => {
    let region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("div");
      region.id = "copy-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.append(region);
    }
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  };

  const fallbackCopy = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "position-fixed top-0 start-0 opacity-0";
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  };

  const copy = (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(() => fallbackCopy(text));
    }
    return fallbackCopy(text);
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".copy-button");
    if (!button) return;
    const scope = button.closest("[data-copy-scope]");
    const source = scope && scope.querySelector("[data-copy-source]");
    if (!source) return;
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copy(source.textContent.trim()).then(
      () => {
        button.textContent = "Copied";
        announce("Copied");
      },
      () => {
        button.textContent = "Press Ctrl+C";
        announce("Could not copy: select the text and press Ctrl+C");
      },
    ).finally(() => {
      window.clearTimeout(Number(button.dataset.timer || 0));
      button.dataset.timer = String(window.setTimeout(() => { button.textContent = label; }, 2000));
    });
  });
})();

// --- Inputs that follow others (catalog.forms.refreshes) ------------------------------------
// Changing an input others depend on re-renders the form's inputs (#inputs-fields) from the
// server. What was typed into text fields meanwhile, and into password fields (never sent
// back by the server), is carried over to the new fields of the same id; htmx itself puts the
// focus back on the field of the same id.
(() => {
  const TYPED = "input:not([type=checkbox]):not([type=radio]):not([type=hidden]), textarea";
  let typed = null;
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "inputs-fields" || !event.detail.shouldSwap) return;
    typed = new Map();
    for (const field of target.querySelectorAll(TYPED)) {
      if (field.id) typed.set(field.id, { type: field.type, value: field.value });
    }
  });
  document.addEventListener("htmx:afterSwap", () => {
    if (!typed) return;
    for (const [id, old] of typed) {
      const field = document.getElementById(id);
      // Only where it differs: setting a value moves the caret htmx has just put back.
      if (field && field.type === old.type && field.value !== old.value) field.value = old.value;
    }
    typed = null;
  });
})();

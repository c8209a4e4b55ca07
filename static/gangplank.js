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

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

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

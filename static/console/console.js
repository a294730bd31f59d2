// The operator's console: Enter opens the first check to do, and the list's refresh
// every few seconds never takes the keyboard focus away from the operator.
(function () {
  "use strict";
  const rows = document.getElementById("check-rows");
  if (!rows) return;
  let focusedCheck = null;

  function firstOpenButton() {
    return rows.querySelector("button[data-testid=open-check]");
  }

  rows.addEventListener("htmx:beforeSwap", () => {
    const active = document.activeElement;
    focusedCheck = active && rows.contains(active) ? active.dataset.checkId || null : null;
  });
  rows.addEventListener("htmx:afterSwap", () => {
    if (focusedCheck === null) return;
    const again = rows.querySelector('button[data-check-id="' + focusedCheck + '"]') || firstOpenButton();
    if (again) again.focus();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.ctrlKey || event.metaKey || event.altKey) return;
    const active = document.activeElement;
    if (active && active !== document.body) return; // a focused control keeps its own Enter
    const button = firstOpenButton();
    if (!button) return;
    event.preventDefault();
    button.form.requestSubmit(button);
  });

  const first = firstOpenButton();
  if (first) first.focus();
})();

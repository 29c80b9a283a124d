// The review queue from the keyboard: a approve, r reject (then 1-6 picks the reason, Enter saves),
// n next episode. Keys typed into the note or instruction fields are left alone.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  const reason = document.getElementById("reason");
  let rejecting = false;
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "textarea" || (tag === "input" && e.target.type !== "range")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (rejecting && /^[1-6]$/.test(e.key)) {
      e.preventDefault();
      reason.selectedIndex = Number(e.key);
      reason.dispatchEvent(new Event("change"));
    } else if (rejecting && e.key === "Enter") {
      e.preventDefault();
      form.requestSubmit(document.getElementById("reject"));
    } else if (rejecting && e.key === "Escape") {
      rejecting = false;
      form.classList.remove("rejecting");
    } else if (e.key === "a" && tag !== "select") {
      e.preventDefault();
      form.requestSubmit(document.getElementById("approve"));
    } else if (e.key === "r" && tag !== "select") {
      e.preventDefault();
      rejecting = true;
      form.classList.add("rejecting");
      reason.focus();
    } else if (e.key === "n" && tag !== "select") {
      e.preventDefault();
      window.location.href = document.getElementById("queue-next").href;
    }
  });
})();

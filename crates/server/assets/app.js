// NeuraCRM web UI: the little the server cannot do. Every page works without
// it; with it, the menu folds on phones and deals move by drag and drop.
// No inline script anywhere (the Content-Security-Policy forbids it).
"use strict";

(function () {
  // The navigation behind a button below 768 px.
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-menu-button]");
    if (!button) return;
    var nav = document.getElementById("nav");
    var open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Kanban: dragging a card onto a column submits the card's own stage form
  // (the same form a keyboard or a browser without script uses).
  var dragged = null;
  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".deal-card");
    if (!card) return;
    dragged = card;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.deal || "");
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".column.drop").forEach(function (c) { c.classList.remove("drop"); });
  });
  document.addEventListener("dragover", function (e) {
    var column = e.target.closest && e.target.closest(".column[data-stage]");
    if (!column || !dragged) return;
    e.preventDefault();
    column.classList.add("drop");
  });
  document.addEventListener("dragleave", function (e) {
    var column = e.target.closest && e.target.closest(".column[data-stage]");
    if (column && !column.contains(e.relatedTarget)) column.classList.remove("drop");
  });
  document.addEventListener("drop", function (e) {
    var column = e.target.closest && e.target.closest(".column[data-stage]");
    if (!column || !dragged) return;
    e.preventDefault();
    column.classList.remove("drop");
    var form = dragged.querySelector("form.stage");
    if (!form || column.dataset.stage === dragged.dataset.stage) return;
    form.querySelector("select[name=stage]").value = column.dataset.stage;
    column.querySelector(".cards").prepend(dragged);
    form.requestSubmit();
  });

  // Live parts refetch themselves on the events that concern them
  // (hx-trigger="sse:deal_updated, ..., sse:refresh"). After a gap the server
  // sends `refresh` (the stream fell behind, or the browser reconnected on
  // its own); when htmx had to open a new stream, the page does the same.
  var opened = false;
  document.addEventListener("htmx:sseOpen", function () {
    if (opened && window.htmx) {
      document.querySelectorAll('[hx-trigger*="sse:refresh"]').forEach(function (el) {
        window.htmx.trigger(el, "sse:refresh");
      });
    }
    opened = true;
  });
  // The session ended (signed out elsewhere, revoked, expired): the stream
  // closes and the page goes to the sign-in form.
  document.addEventListener("htmx:sseClose", function (e) {
    if (e.detail && e.detail.type === "message") {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    }
  });
})();

// Layout for every page, narrow or wide, without a framework:
// - on a narrow screen the site menu folds behind a disclosure button (aria-expanded), usable by keyboard;
// - a <details data-wide-open> (the search page's "More filters") opens on a wide screen, where it fits.
// Without this script the navigation shows in full: the "js" class is what lets the CSS fold it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const wide = window.matchMedia("(min-width: 721px)");

  function setUpMenu() {
    const button = document.querySelector(".menu-toggle");
    if (!button) {
      return;
    }
    const setOpen = function (open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    };
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
  }

  function openWhereItFits() {
    if (wide.matches) {
      document.querySelectorAll("details[data-wide-open]").forEach(function (details) {
        details.open = true;
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    openWhereItFits();
  });
})();

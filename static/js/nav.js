// The menu button of narrow screens. Loaded in <head> (not deferred) so that the class "js"
// is on <html> before the first paint: only then does site.css fold the menu away on a phone.
// Without JavaScript the menu stays open under the header, so it is never out of reach.
(function () {
  document.documentElement.classList.add("js");

  function setOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu) menu.classList.toggle("open", open);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-nav-toggle]");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      setOpen(button, button.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes the open menu and gives the focus back to its button.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(button, false);
        button.focus();
      }
    });
  });
})();

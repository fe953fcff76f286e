// Confirmation in a <dialog> for forms (or submit buttons) marked data-confirm. The server owns the text: the
// form is posted once without confirm=1 (the server does nothing and answers with its
// confirmation page), the page's confirmation is shown in a dialog, and only "confirm" posts
// the form again with confirm=1. Cancel, Escape or a click outside close it: nothing changes.
// Without JavaScript the same confirmation page comes as a second page.
(function () {
  if (typeof HTMLDialogElement === "undefined" || !window.fetch || !window.DOMParser) return;

  function show(form, submitter, confirmation) {
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    var title = confirmation.querySelector("h1");
    var heading = document.createElement("h2");
    heading.id = "confirm-dialog-title";
    heading.textContent = title ? title.textContent : "";
    dialog.appendChild(heading);
    var body = confirmation.querySelector(".confirm-body");
    if (body) dialog.appendChild(document.importNode(body, true));
    var source = confirmation.querySelector("[data-role=confirm]");
    var back = confirmation.querySelector("[data-role=dismiss]");
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = source ? source.className : "button";
    yes.setAttribute("data-role", "confirm");
    yes.textContent = source ? source.textContent : "OK";
    var no = document.createElement("button");
    no.type = "button";
    no.className = "button secondary";
    no.setAttribute("data-role", "dismiss");
    no.textContent = back ? back.textContent : "Cancel";
    actions.appendChild(yes);
    actions.appendChild(no);
    dialog.appendChild(actions);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      dialog.remove();
      // Back where the keyboard was: the button that asked.
      if (!form.dataset.confirmed && submitter) submitter.focus();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();  // a tap on the backdrop
    });
    no.addEventListener("click", function () { dialog.close(); });
    yes.addEventListener("click", function () {
      yes.disabled = true;
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirm";
      flag.value = "1";
      form.appendChild(flag);
      form.dataset.confirmed = "1";
      if (submitter && form.requestSubmit) form.requestSubmit(submitter); else form.submit();
    });
    dialog.showModal();
    no.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    // A form whose every submit asks first, or one button of a form with several.
    var asks = form.matches && (form.matches("form[data-confirm]") ||
      (submitter && submitter.hasAttribute("data-confirm")));
    if (!asks || form.dataset.confirmed) return;
    if (!form.checkValidity()) return;
    event.preventDefault();
    var data = submitter ? new FormData(form, submitter) : new FormData(form);
    data.delete("confirm");
    // Not form.action: a field named "action" shadows it.
    var url = form.getAttribute("action") || window.location.href;
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var confirmation = page.querySelector("[data-role=confirmation]");
        if (confirmation) {
          show(form, submitter, confirmation);
        } else {
          // Not a confirmation (e.g. a missing reason): post as without JavaScript.
          form.dataset.confirmed = "1";
          if (submitter && form.requestSubmit) form.requestSubmit(submitter); else form.submit();
        }
      })
      .catch(function () { form.dataset.confirmed = "1"; form.submit(); });
  });
})();

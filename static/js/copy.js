// Copy buttons: data-copy="text" copies that text; data-copy-from="#id" copies the text of
// that element; with data-copy-html, its HTML as rich text too (for the official account's
// editor, which keeps what it is pasted with its inline styles); data-copy-fallback="#id" is
// what is shown of it, selected and copied where the clipboard API cannot write HTML.
document.querySelectorAll("[data-copy], [data-copy-from]").forEach(function (button) {
  button.addEventListener("click", function () {
    var source = button.hasAttribute("data-copy-from")
      ? document.querySelector(button.getAttribute("data-copy-from")) : null;
    var shown = button.hasAttribute("data-copy-fallback")
      ? document.querySelector(button.getAttribute("data-copy-fallback")) : source;
    // A (hidden) textarea holds HTML as text: its inline styles are never applied here.
    var html = source && button.hasAttribute("data-copy-html")
      ? (source.value !== undefined ? source.value : source.innerHTML) : null;
    var text = source ? (shown !== source ? shown.innerText : source.innerText)
      : button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "✓";
      button.setAttribute("data-copied-state", "1");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    var fallback = function () {
      if (shown && html) {  // select what is shown: the copy keeps its structure
        var range = document.createRange(); range.selectNodeContents(shown);
        var selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
        try { document.execCommand("copy"); done(); } finally { selection.removeAllRanges(); }
        return;
      }
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      if (html && window.ClipboardItem) {
        navigator.clipboard.write([new ClipboardItem({
          "text/html": new Blob([html], {type: "text/html"}),
          "text/plain": new Blob([text], {type: "text/plain"})
        })]).then(done, fallback);
      } else {
        navigator.clipboard.writeText(text).then(done, fallback);
      }
    } else {
      fallback();
    }
  });
});

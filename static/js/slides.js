// The embedded PDF viewer only where the browser has one: phones, WeChat's browser and
// browsers without a PDF viewer get the open/download links alone (site.css hides the
// viewer on narrow screens even without this script).
(function () {
  "use strict";
  var noViewer = navigator.pdfViewerEnabled === false || /MicroMessenger/i.test(navigator.userAgent);
  if (!noViewer) return;
  document.querySelectorAll("[data-role=slides-viewer]").forEach(function (section) {
    section.classList.add("no-pdf-viewer");
  });
})();

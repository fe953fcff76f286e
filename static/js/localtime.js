// Adds the viewer's own time next to times shown in the forum's time zone, when they differ.
(function () {
  var forumZone = document.documentElement.getAttribute("data-forum-tz") || "Asia/Shanghai";
  var viewerZone;
  try { viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!viewerZone) return;
  var lang = document.documentElement.lang || "zh-hans";
  var format = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    weekday: "short", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    timeZone: viewerZone, timeZoneName: "short"
  });
  var forumOffset = new Intl.DateTimeFormat("en-US", { timeZone: forumZone, timeZoneName: "shortOffset" });
  var viewerOffset = new Intl.DateTimeFormat("en-US", { timeZone: viewerZone, timeZoneName: "shortOffset" });
  function offset(fmt, date) {
    var part = fmt.formatToParts(date).filter(function (p) { return p.type === "timeZoneName"; })[0];
    return part ? part.value : "";
  }
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date) || offset(forumOffset, date) === offset(viewerOffset, date)) return;
    var note = document.createElement("span");
    note.className = "local-time muted small";
    note.textContent = " (" + (el.getAttribute("data-local-label") || "") + format.format(date) + ")";
    el.after(note);
  });
})();

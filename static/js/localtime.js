// Adds the viewer's own time next to times shown in the forum's time zone, when they differ.
// Progressive: the server's text stays; this only appends " (your time: …)".
// <time datetime="start" data-end="end" data-local> reads as "start–end" in the viewer's zone.
(function () {
  var forumZone = document.documentElement.getAttribute("data-forum-tz") || "Asia/Shanghai";
  var viewerZone;
  try { viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!viewerZone) return;
  var locale = document.documentElement.lang === "en" ? "en-GB" : "zh-CN";
  function formatter(options) {
    options.timeZone = viewerZone;
    return new Intl.DateTimeFormat(locale, options);
  }
  var full = formatter({ weekday: "short", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  var startOnly = formatter({ weekday: "short", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  var endSameDay = formatter({ hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  var endOtherDay = formatter({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  var viewerDay = formatter({ year: "numeric", month: "2-digit", day: "2-digit" });
  var forumOffset = new Intl.DateTimeFormat("en-US", { timeZone: forumZone, timeZoneName: "shortOffset" });
  var viewerOffset = new Intl.DateTimeFormat("en-US", { timeZone: viewerZone, timeZoneName: "shortOffset" });
  function offset(fmt, date) {
    var part = fmt.formatToParts(date).filter(function (p) { return p.type === "timeZoneName"; })[0];
    return part ? part.value : "";
  }
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var start = new Date(el.getAttribute("datetime"));
    if (isNaN(start) || offset(forumOffset, start) === offset(viewerOffset, start)) return;
    var text = full.format(start);
    var end = el.hasAttribute("data-end") ? new Date(el.getAttribute("data-end")) : null;
    if (end && !isNaN(end)) {
      var sameDay = viewerDay.format(start) === viewerDay.format(end);
      text = startOnly.format(start) + "–" + (sameDay ? endSameDay : endOtherDay).format(end);
    }
    var note = document.createElement("span");
    note.className = "local-time muted small";
    note.setAttribute("data-role", "local-time");
    note.textContent = " (" + (el.getAttribute("data-local-label") || "") + text + ")";
    el.after(note);
  });
})();

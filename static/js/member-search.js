// Search members while typing a co-presenter (the form works without this: one name or
// e-mail address per line). A picked suggestion is added to the list as "name (#id)".
(function () {
  var box = document.querySelector("[data-member-search]");
  var list = document.querySelector("textarea[data-co-presenters]");
  var options = document.getElementById("member-suggestions");
  if (!box || !list || !options || !window.fetch) return;
  box.hidden = false;
  var labels = [];
  var timer = null;
  function show(results) {
    options.replaceChildren();
    labels = results.map(function (person) { return person.label; });
    results.forEach(function (person) {
      var option = document.createElement("option");
      option.value = person.label;
      options.appendChild(option);
    });
  }
  box.addEventListener("input", function () {
    var query = box.value.trim();
    if (labels.indexOf(box.value) !== -1) {
      var lines = list.value.split("\n").filter(function (line) { return line.trim(); });
      if (lines.indexOf(box.value) === -1) lines.push(box.value);
      list.value = lines.join("\n");
      box.value = "";
      show([]);
      return;
    }
    clearTimeout(timer);
    if (!query) { show([]); return; }
    timer = setTimeout(function () {
      fetch(box.getAttribute("data-url") + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { show(data.results || []); })
        .catch(function () { show([]); });
    }, 200);
  });
})();

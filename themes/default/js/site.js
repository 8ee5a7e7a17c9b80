/* The web edition's search (search.html): every article whose words begin with each word asked for, titles
   first. The index is search-index.js, a global (fetch() of a JSON file is refused from file://). */
(function () {
  "use strict";
  var data = window.PUBLISHER_SEARCH;
  var input = document.getElementById("search-input");
  if (!data || !input) return;
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");

  function words(text) {
    return text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || [];
  }

  function search(query) {
    var asked = words(query);
    var hits = [];
    list.textContent = "";
    if (!asked.length) {
      status.textContent = "";
      return;
    }
    data.forEach(function (entry, order) {
      var have = " " + entry.words, title = entry.title.toLowerCase(), score = 0;
      for (var i = 0; i < asked.length; i++) {
        if (have.indexOf(" " + asked[i]) < 0) return;
        score += (title.indexOf(asked[i]) >= 0 ? 10 : 1) + ((have + " ").indexOf(" " + asked[i] + " ") >= 0 ? 1 : 0);
      }
      hits.push({ score: score, order: order, entry: entry });
    });
    hits.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
    status.textContent = hits.length + (hits.length === 1 ? " article" : " articles") + " for \u201c" + query.trim() + "\u201d";
    hits.slice(0, 50).forEach(function (hit) {
      var item = document.createElement("li"), link = document.createElement("a"), summary = document.createElement("p");
      link.href = hit.entry.href;
      link.textContent = hit.entry.title;
      summary.textContent = hit.entry.summary;
      item.appendChild(link);
      item.appendChild(summary);
      list.appendChild(item);
    });
  }

  var query = new URLSearchParams(window.location.search).get("q") || "";
  input.value = query;
  search(query);
  input.addEventListener("input", function () {
    search(input.value);
    try {
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
    } catch (e) { /* some browsers refuse it from file:// */ }
  });
})();

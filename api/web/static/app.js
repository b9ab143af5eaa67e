// Stabilog pages: the grade preview and similar past incidents while filing, the copy button
// and the follow-up clocks.
// Plain script, no build step; every server value is written with textContent, never as HTML.
"use strict";

(function () {
  function gradePreview(form) {
    var output = document.getElementById("grade-preview");
    var fields = form.dataset.gradeFields.split(" "); // the fields a grade depends on
    var timer = null;
    var asked = 0;

    function show(result) {
      var badge = output.querySelector("[data-role=grade]");
      var reasons = output.querySelector("[data-role=reasons]");
      output.querySelector(".preview-head").textContent =
        result.grade ? output.dataset.labelGraded : output.dataset.labelNone;
      badge.textContent = result.grade || "—";
      badge.className = "grade grade-" + (result.grade || "none");
      reasons.replaceChildren.apply(reasons, result.reasons.map(function (reason) {
        var item = document.createElement("li");
        item.textContent = reason;
        return item;
      }));
      output.dataset.grade = result.grade || "";
    }

    function ask() {
      var params = new URLSearchParams();
      fields.forEach(function (name) {
        // Several checkboxes may share a name (the regulatory triggers): each checked one counts.
        form.querySelectorAll('[name="' + name + '"]').forEach(function (field) {
          if (field.type === "checkbox") {
            if (field.checked) params.append(name, field.value);
          } else if (field.value) {
            params.append(name, field.value);
          }
        });
      });
      var mine = ++asked;
      fetch(form.dataset.gradePreview + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result && mine === asked) show(result); // an older answer must not win
      }).catch(function () { /* offline for a moment: the grade is computed again on filing */ });
    }

    function soon(delay) {
      clearTimeout(timer);
      timer = setTimeout(ask, delay);
    }
    form.addEventListener("input", function () { soon(120); });
    form.addEventListener("change", function () { soon(0); });
  }

  // 类似的历史事件: the title, system and root cause as typed ask for earlier incidents like
  // them once the typing pauses; the answer replaces the list, an empty one hides the panel.
  function similarIncidents(form, panel) {
    var list = panel.querySelector("[data-role=list]");
    var limits = { title: 200, system: 100, root_cause: 2000 }; // what the endpoint accepts
    var timer = null;
    var asked = 0;
    var last = null;

    function element(tag, text, className) {
      var made = document.createElement(tag);
      made.textContent = text;
      if (className) made.className = className;
      return made;
    }

    function item(found) {
      var badge = element("span", found.grade || "—", "grade grade-" + (found.grade || "none"));
      if (!found.grade) badge.title = panel.dataset.labelUngraded;
      var link = element("a", found.title);
      link.href = found.url;
      var meta = [found.date];
      if (found.system) meta.push(found.system);
      if (found.same_system) meta.push(panel.dataset.labelSameSystem);
      var facts = element("dl", "", "facts");
      facts.append(
        element("dt", panel.dataset.labelRootCause), element("dd", found.root_cause || "—"),
        element("dt", panel.dataset.labelRemediation), element("dd", found.remediation || "—")
      );
      var entry = document.createElement("li");
      entry.append(badge, " ", link, " ", element("small", meta.join(" · "), "meta"), facts);
      return entry;
    }

    function show(found) {
      list.replaceChildren.apply(list, found.map(item));
      panel.hidden = found.length === 0;
    }

    function ask() {
      var params = new URLSearchParams();
      Object.keys(limits).forEach(function (name) {
        var field = form.elements.namedItem(name);
        var value = field ? field.value.trim().slice(0, limits[name]) : "";
        if (value) params.append(name, value);
      });
      var query = params.toString();
      if (query === last) return;
      last = query;
      var mine = ++asked;
      if (!query) { show([]); return; }
      fetch(panel.dataset.similar + "?" + query, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (found) {
        if (found && mine === asked) show(found); // an older answer must not win
      }).catch(function () { /* offline for a moment: the next keystroke asks again */ });
    }

    form.addEventListener("input", function (event) {
      if (!(event.target.name in limits)) return;
      clearTimeout(timer);
      timer = setTimeout(ask, 300);
    });
    ask(); // a form shown again after a refusal already holds a title
  }

  function copyButton(button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copyTarget).textContent;
      var label = button.textContent;
      function done() {
        button.textContent = button.dataset.labelCopied;
        setTimeout(function () { button.textContent = label; }, 2000);
      }
      function fallback() {
        // Pages served over plain http on an intranet have no navigator.clipboard.
        var area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
        done();
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  }

  function clocks(elements) {
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function tick() {
      var now = Date.now();
      elements.forEach(function (clock) {
        var left = Math.round((Date.parse(clock.dataset.deadline) - now) / 1000);
        var seconds = Math.abs(left);
        var figure = document.createElement("b");
        figure.textContent = Math.floor(seconds / 60) + ":" + pad(seconds % 60);
        clock.replaceChildren(
          document.createTextNode((left >= 0 ? clock.dataset.labelLeft : clock.dataset.labelOver) + " "),
          figure
        );
        clock.className = left >= 0 ? "due" : "bad";
        var card = clock.closest(".alert");
        if (card) card.classList.toggle("late", left < 0);
      });
    }
    tick();
    setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-grade-preview]");
    if (form) gradePreview(form);
    var similar = document.querySelector("[data-similar]");
    if (similar) similarIncidents(similar.closest("form"), similar);
    document.querySelectorAll("[data-copy-target]").forEach(copyButton);
    var running = document.querySelectorAll("[data-deadline]");
    if (running.length) clocks(running);
  });
})();

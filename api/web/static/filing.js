// The times of the filing form: a "现在" button beside each, and under each the absolute time the
// server reads from what is typed ("→ 2026-09-07 周一 14:42 (第37周)"), asked of /time/parse so
// the page and filing agree on one parser. A time read as in the future shows the
// "file it anyway" tick. Plain script, no build step; server text is written with textContent.
"use strict";

(function () {
  function typedTimes(form) {
    var endpoint = form.dataset.timeParse;
    var confirm = document.getElementById("confirm-future");
    var future = {}; // field name -> whether its time reads as in the future

    function ask(text) {
      return fetch(endpoint + "?" + new URLSearchParams({ text: text }).toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        // 422 answers {"error": …}; a sign-in redirect or an outage answers no JSON at all.
        return response.json().catch(function () { return null; });
      });
    }

    function showFuture() {
      var any = Object.keys(future).some(function (name) { return future[name]; });
      if (confirm && any) confirm.hidden = false;
    }

    function watch(input) {
      // The field and its button on one row. Styles set through the DOM, which the pages' CSP
      // (style-src 'self') allows, unlike a style attribute written in the HTML.
      var row = document.createElement("span");
      row.className = "time-row";
      row.style.display = "flex";
      row.style.gap = "0.4rem";
      input.insertAdjacentElement("beforebegin", row);
      row.appendChild(input);
      input.style.flex = "1";
      input.style.minWidth = "0";
      var now = document.createElement("button");
      now.type = "button";
      now.className = "now small";
      now.textContent = form.dataset.labelNow;
      row.appendChild(now);
      var line = document.createElement("small");
      line.className = "parsed";
      line.setAttribute("role", "status");
      line.dataset.field = input.name;
      row.insertAdjacentElement("afterend", line);
      var timer = null;
      var asked = 0;

      function show(result) {
        var refused = !result || Boolean(result.error);
        var ahead = Boolean(result && result.in_future);
        line.classList.toggle("error", refused);
        line.classList.toggle("future", ahead);
        line.style.color = refused || ahead ? "#b3261e" : "";
        line.textContent = !result ? "" : result.error ? result.error : "→ " + result.shown;
        future[input.name] = Boolean(result && result.in_future);
        showFuture();
      }

      function read() {
        var text = input.value.trim();
        var mine = ++asked;
        if (!text) {
          line.textContent = "";
          future[input.name] = false;
          return;
        }
        ask(text).then(function (result) {
          if (mine === asked) show(result); // an older answer must not win
        }).catch(function () { /* offline for a moment: filing reads the time anyway */ });
      }

      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(read, 250);
      });
      now.addEventListener("click", function () {
        // The server's clock, not this device's: what is filed is what is shown.
        ask("现在").then(function (result) {
          input.value = result && result.local ? result.local : "现在";
        }, function () {
          input.value = "现在"; // read when filed
        }).then(function () {
          input.dispatchEvent(new Event("input", { bubbles: true }));
          input.dispatchEvent(new Event("change", { bubbles: true }));
          input.focus();
        });
      });
      if (input.value.trim()) read(); // a form shown again, or filled from one sentence
    }

    form.dataset.timeFields.split(" ").forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input && input.tagName === "INPUT") watch(input);
    });
  }

  document.querySelectorAll("form[data-time-fields]").forEach(typedTimes);
})();

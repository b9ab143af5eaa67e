// Stabilog pages: the grade preview and similar past incidents while filing, the copy button,
// the follow-up clocks; and around every form: its idempotency key, a draft of what was typed
// kept in this browser until the server confirms the post, a counter on long text and the body
// limit checked before sending; tables read as stacked rows on a phone.
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

    // Filed within the hour on the same system with a like title: most likely the same event,
    // filed by a colleague a moment ago (the server decides; see possible_duplicate).
    var duplicate = element("p", "", "error duplicate");
    duplicate.setAttribute("role", "alert");
    list.insertAdjacentElement("beforebegin", duplicate);

    function show(found) {
      list.replaceChildren.apply(list, found.map(item));
      var twin = found.filter(function (one) { return one.possible_duplicate; })[0];
      duplicate.replaceChildren();
      duplicate.hidden = !twin;
      if (twin) {
        var link = element("a", say("possible_duplicate", {
          id: twin.id, title: twin.title, minutes: twin.filed_minutes_ago,
        }));
        link.href = twin.url;
        duplicate.append(link);
      }
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


  var body = document.body;
  var words = JSON.parse(body.dataset.words || "{}");
  var maxBody = Number(body.dataset.maxBody || 0);
  var DRAFT_PREFIX = "stabilog:draft:";
  var DRAFT_MAX_AGE = 14 * 24 * 3600 * 1000; // a forgotten draft does not come back forever
  var DONE_COOKIE = "stabilog_done"; // set by the server on a post that succeeded: its form_key
  // Not what a person typed: the page's own fields, and the alert rows ticked for a bulk action
  // (a draft must never tick other alerts than the ones shown when it was made).
  var NOT_TYPED = { csrf: true, form_key: true, next: true, back: true, show: true, alert_id: true };
  var TYPED = /^(text|search|number|date|datetime-local|time|email|url|tel|textarea|select-one|select-multiple|checkbox|radio)$/;

  function say(key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(values[name]);
    });
    return text;
  }

  function mebibytes(bytes) {
    var value = bytes / 1048576;
    return (value >= 10 ? Math.round(value) : Math.round(value * 10) / 10) + " MiB";
  }

  function notice(before, text, className) {
    var shown = document.createElement("p");
    shown.className = "notice " + (className || "");
    shown.setAttribute("role", "status");
    shown.textContent = text;
    before.parentNode.insertBefore(shown, before);
    return shown;
  }

  function posted(form) {
    return (form.getAttribute("method") || "").toLowerCase() === "post";
  }

  function actionPath(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).pathname;
  }

  // The idempotency key: made once when the form is shown, so a double click or a retry of the
  // same post is recognised by the server and leads to the first result.
  function formKey(form) {
    var field = form.querySelector("input[name=form_key]");
    if (!field) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes); // available over plain http too, unlike randomUUID
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "form_key";
      field.value = Array.prototype.map.call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      }).join("");
      form.appendChild(field);
    }
    return field.value;
  }

  function typedFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && !NOT_TYPED[field.name] && TYPED.test(field.type);
    });
  }

  // Each field by its name and its place among fields of that name (the five whys share one).
  function fieldIds(fields) {
    var seen = {};
    return fields.map(function (field) {
      seen[field.name] = (seen[field.name] || 0) + 1;
      return field.name + "#" + seen[field.name];
    });
  }

  function readDraft(key) {
    try {
      var draft = JSON.parse(localStorage.getItem(key) || "null");
      if (draft && Date.now() - draft.saved < DRAFT_MAX_AGE) return draft;
      localStorage.removeItem(key);
    } catch (e) { /* storage off or a damaged entry: no draft */ }
    return null;
  }

  function allDrafts() {
    var found = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && key.indexOf(DRAFT_PREFIX) === 0) found.push(key);
      }
    } catch (e) { /* storage off */ }
    return found;
  }

  function clock(saved) {
    var at = new Date(saved);
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    return at.getFullYear() + "-" + pad(at.getMonth() + 1) + "-" + pad(at.getDate()) + " " +
      pad(at.getHours()) + ":" + pad(at.getMinutes());
  }

  // A post the server confirmed (its redirect set the cookie to the post's key): the draft that
  // was sent with that key is done with.
  function forgetSentDrafts() {
    var match = document.cookie.match(new RegExp("(?:^|; )" + DONE_COOKIE + "=([0-9a-f]+)"));
    if (!match) return;
    allDrafts().forEach(function (key) {
      var draft = readDraft(key);
      if (draft && draft.sent === match[1]) localStorage.removeItem(key);
    });
    document.cookie = DONE_COOKIE + "=; Max-Age=0; Path=/; SameSite=Strict";
  }

  // What is typed into a form is kept in this browser (it survives a reload, a closed tab, an
  // expired sign-in) and put back when the form is shown again, with a notice and a way to drop it.
  function drafts(form) {
    var key = DRAFT_PREFIX + actionPath(form);
    var timer = null;
    var sent = null;
    var warned = false;
    var fields = typedFields(form);
    var ids = fieldIds(fields);

    function values() {
      var kept = {};
      fields.forEach(function (field, i) {
        kept[ids[i]] = field.type === "checkbox" || field.type === "radio" ? field.checked : field.value;
      });
      return kept;
    }

    function put(kept) {
      fields.forEach(function (field, i) {
        if (!(ids[i] in kept)) return;
        var checkable = field.type === "checkbox" || field.type === "radio";
        if ((checkable ? field.checked : field.value) === kept[ids[i]]) return;
        if (checkable) field.checked = kept[ids[i]];
        else field.value = kept[ids[i]];
        var folded = field.closest("details");
        if (folded) folded.open = true; // what comes back is seen
      });
    }

    function save() {
      clearTimeout(timer);
      var draft = { saved: Date.now(), page: location.pathname + location.search, sent: sent, values: values() };
      try {
        localStorage.setItem(key, JSON.stringify(draft));
      } catch (e) {
        if (!warned) notice(form, say("draft_not_saved"), "warn draft-warning");
        warned = true;
      }
    }

    var draft = readDraft(key);
    if (draft) {
      var shown = values();
      var differs = Object.keys(draft.values).some(function (id) {
        return id in shown && shown[id] !== draft.values[id];
      });
      if (differs) {
        put(draft.values);
        var told = notice(form, say("draft_restored", { when: clock(draft.saved) }), "draft-notice");
        var discard = document.createElement("button");
        discard.type = "button";
        discard.className = "link";
        discard.textContent = say("draft_discard");
        discard.addEventListener("click", function () {
          put(shown);
          form.dispatchEvent(new Event("change", { bubbles: true })); // saves: removed next
          localStorage.removeItem(key);
          told.remove();
        });
        told.append(" ", discard);
        // The grade preview and the counters follow the restored values.
        form.dispatchEvent(new Event("change", { bubbles: true }));
      } else if (draft.sent) {
        save(); // the form is shown again: its post did not go through, it waits no sign-in
      }
    }
    form.addEventListener("input", function () {
      sent = null;
      clearTimeout(timer);
      timer = setTimeout(save, 400);
    });
    form.addEventListener("change", function () { sent = null; save(); });
    return {
      beforeSend: function () { sent = formKey(form); save(); },
    };
  }

  // The body limit, before sending: an oversized form stays on the page with everything typed.
  function sizeCheck(form, kept) {
    var told = null;
    form.addEventListener("submit", function (event) {
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      var size = 0; // as sent: urlencoded text (one byte a character), a file's own bytes
      data.forEach(function (value, name) {
        size += encodeURIComponent(name).length + 2 +
          (typeof value === "string" ? encodeURIComponent(value).length : value.size);
      });
      if (told) told.remove();
      told = null;
      if (maxBody && size > maxBody) {
        event.preventDefault();
        told = notice(form, say("form_too_large", { size: mebibytes(size), limit: mebibytes(maxBody) }), "error too-large");
        told.setAttribute("role", "alert");
        told.scrollIntoView({ block: "center" });
        return;
      }
      if (kept) kept.beforeSend();
    });
  }

  // A counter under each long text: what is typed so far, and the limit it counts against.
  function counter(area) {
    var shown = document.createElement("small");
    shown.className = "counter";
    area.insertAdjacentElement("afterend", shown);
    var limit = Number(area.getAttribute("maxlength") || 0);
    function update() {
      var count = area.value.length;
      shown.textContent = (limit
        ? say("field_count_limit", { count: count, limit: limit })
        : say("field_count", { count: count })) +
        (maxBody ? " · " + say("body_limit_hint", { limit: mebibytes(maxBody) }) : "");
    }
    area.addEventListener("input", update);
    area.form.addEventListener("change", update);
    update();
  }

  // A table reads as stacked rows on a phone: each cell is labelled with its column's heading.
  function labelCells(table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    if (!heads.length) return;
    table.classList.add("stacks");
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        if (!cell.hasAttribute("data-label") && heads[column]) cell.setAttribute("data-label", heads[column]);
        column += cell.colSpan || 1;
      });
    });
  }

  // The filing form at 3 a.m., on a phone: what on-call knows at once first (title, 发现时间,
  // system, counts, 处置), the rest folded beneath, open as soon as it holds anything.
  var ESSENTIAL = ["title", "system", "detected_at", "confirm_future", "failed_orders",
    "failed_transactions", "affected_users", "impact_minutes", "remediation"];

  function foldFilingForm(form) {
    function names(child) {
      var named = child.matches("[name]") ? [child] : [];
      return named.concat(Array.prototype.slice.call(child.querySelectorAll("[name]")))
        .map(function (field) { return field.name; });
    }
    var more = document.createElement("details");
    more.className = "more-fields";
    var summary = document.createElement("summary");
    summary.textContent = say("more_fields");
    var folded = document.createElement("div");
    folded.className = "grid";
    more.append(summary, folded);
    var lastCount = null;
    var remediation = null;
    Array.prototype.slice.call(form.children).forEach(function (child) {
      var held = names(child);
      if (!held.length || child.type === "hidden") return;
      if (held.indexOf("remediation") >= 0) remediation = child;
      if (held.some(function (name) { return /^(failed_orders|failed_transactions|affected_users|impact_minutes)$/.test(name); })) lastCount = child;
      if (held.some(function (name) { return ESSENTIAL.indexOf(name) >= 0; })) return;
      folded.appendChild(child);
    });
    if (!folded.children.length) return;
    if (remediation && lastCount) lastCount.insertAdjacentElement("afterend", remediation);
    (remediation || lastCount || form.lastElementChild).insertAdjacentElement("afterend", more);
    var filled = Array.prototype.some.call(folded.querySelectorAll("input, textarea"), function (field) {
      return field.type === "checkbox" ? field.checked : field.type !== "hidden" && field.value.trim() !== "";
    });
    more.open = filled || Boolean(folded.querySelector(".invalid, [aria-invalid=true]")) ||
      window.matchMedia("(min-width: 48rem)").matches; // a desk has room for all of it
  }

  // The incident's edit form: typing when it was mitigated or restored moves a 处理中 status to
  // 已缓解 on the form, said beside it, so the saved status follows the facts (or is set back).
  function statusFollowsTimes(form) {
    var status = form.elements.namedItem("status");
    if (!status || status.value !== "open") return;
    var note = document.createElement("small");
    note.className = "status-follows";
    note.hidden = true;
    note.textContent = say("status_follows");
    status.insertAdjacentElement("afterend", note);
    ["mitigated_at", "recovered_at"].forEach(function (name) {
      var time = form.elements.namedItem(name);
      if (!time) return;
      time.addEventListener("input", function () {
        if (time.value.trim() && status.value === "open" && note.hidden) {
          status.value = "mitigated";
          note.hidden = false;
        }
      });
    });
    status.addEventListener("change", function () { note.hidden = true; });
  }

  // 全选本页: ticks or clears every row's box of the bulk form it names.
  function selectAll(box) {
    var boxes = document.querySelectorAll('input[type=checkbox][form="' + box.dataset.selectAll + '"]');
    box.addEventListener("change", function () {
      boxes.forEach(function (one) { one.checked = box.checked; });
    });
  }

  // On the sign-in form: a post refused for want of a sign-in left its draft here, unsent.
  function draftsAwaitingSignIn(form) {
    var waiting = allDrafts().some(function (key) {
      var draft = readDraft(key);
      return draft && draft.sent;
    });
    if (waiting) notice(form, say("draft_kept_for_sign_in"), "draft-notice");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-grade-preview]");
    if (form) gradePreview(form);
    var filing = document.getElementById("filing");
    if (filing) foldFilingForm(filing);
    var similar = document.querySelector("[data-similar]");
    if (similar) similarIncidents(similar.closest("form"), similar);
    document.querySelectorAll("[data-copy-target]").forEach(copyButton);
    var running = document.querySelectorAll("[data-deadline]");
    if (running.length) clocks(running);
    forgetSentDrafts();
    document.querySelectorAll("form").forEach(function (one) {
      if (!posted(one)) return;
      var path = actionPath(one);
      if (path === "/login") { draftsAwaitingSignIn(one); return; }
      if (path === "/logout") return;
      formKey(one);
      var typed = typedFields(one).some(function (field) {
        return field.type !== "checkbox" && field.type !== "radio" && field.type.indexOf("select") !== 0;
      });
      sizeCheck(one, typed ? drafts(one) : null);
      one.querySelectorAll("textarea").forEach(counter);
    });
    document.querySelectorAll("table").forEach(labelCells);
    document.querySelectorAll("[data-select-all]").forEach(selectAll);
    document.querySelectorAll('form[action$="/edit"]').forEach(statusFollowsTimes);
  });
})();

/* The outbox on every page (issue 11): the unsent count in the header, sending (at start, on
   `online`, when the page is shown again, every 30 s, "send now"), the unsent page with its
   export, the sign-out warning, and fresh device uuids for forms a phone may reuse offline.
   The service worker captures and sends (templates/pwa/sw.js); a page only asks and shows. */
(function () {
  "use strict";
  var me = document.currentScript;
  var box = window.GuardpostOutbox;
  var body = document.body;

  function uuid() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : "";
  }
  // A form kept for offline use is filled in more than once: each filling is a new object.
  document.querySelectorAll("input[data-new-uuid]").forEach(function (input) {
    var fresh = uuid();
    if (fresh) input.value = fresh;
  });

  // …and its prefilled time ("now" when the form was kept) is moved to now, unless changed.
  var taipeiNow = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16);
  document.querySelectorAll("input[data-now-taipei]").forEach(function (input) {
    var given = Date.parse(input.value + ":00Z");
    var stale = given && Date.parse(taipeiNow + ":00Z") - given > 10 * 60 * 1000;
    if (stale && input.value === input.defaultValue) input.value = taipeiNow;
  });

  if (!box || !window.indexedDB) return;
  var worker = "serviceWorker" in navigator ? navigator.serviceWorker : null;

  function tell(message) {
    if (!worker) return false;
    if (worker.controller) { worker.controller.postMessage(message); return true; }
    worker.getRegistration().then(function (registration) {
      var active = registration && registration.active;
      if (active) active.postMessage(message);
    });
    return true;
  }

  function sendNow(force) {
    if (!navigator.onLine) return;
    if (!tell({ type: "send", force: !!force })) box.send(force).catch(function () {});
  }

  // ------------------------------------------------------------ the header count
  var badge = document.querySelector("[data-outbox-count]");
  var persisted = false;
  function showCount() {
    return box.count().then(function (n) {
      if (badge) {
        badge.hidden = n === 0;
        badge.querySelector("[data-outbox-number]").textContent = n ? String(n) : "";
        badge.setAttribute("aria-label", badge.dataset.aria.replace("{n}", n));
        badge.title = badge.dataset.label.replace("{n}", n);
      }
      body.dataset.unsent = String(n);
      if (n && !persisted && navigator.storage && navigator.storage.persist) {
        persisted = true;  // ask once a page: keep the outbox when the phone runs short of space
        navigator.storage.persist().catch(function () {});
      }
      return n;
    }).catch(function () { return 0; });
  }

  var listeners = [];
  function changed(message) {
    showCount();
    listeners.forEach(function (listen) { listen(message || {}); });
  }
  if (typeof BroadcastChannel === "function") {
    new BroadcastChannel(box.CHANNEL).onmessage = function (event) { changed(event.data); };
  }
  window.addEventListener("outbox:change", function (event) { changed(event.detail); });

  // ------------------------------------------------------------ who, what to keep, when to send
  if (body.dataset.user) tell({ type: "user", user: body.dataset.user });
  var keep = [me.dataset.outboxPage];
  document.querySelectorAll("[data-offline-page]").forEach(function (link) { keep.push(link.href); });
  if (body.dataset.user && navigator.onLine) tell({ type: "keep", urls: keep });

  showCount();
  sendNow();
  window.addEventListener("online", function () { sendNow(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") sendNow();
  });
  setInterval(function () { if (document.visibilityState === "visible") sendNow(); }, 30000);

  // ------------------------------------------------------------ signing out keeps the outbox
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-signout]")) return;
    var warning = form.querySelector("[data-signout-warning]");
    var waiting = Number(body.dataset.unsent || "0");
    if (waiting && warning && warning.hidden) {
      event.preventDefault();
      warning.hidden = false;
      warning.querySelector("[data-signout-count]").textContent = String(waiting);
      warning.focus();
      return;
    }
    tell({ type: "forget-pages" });  // pages kept for offline use are this user's own
    tell({ type: "forget-push" });  // his pushes no longer come to this phone
  });

  // ------------------------------------------------------------ the unsent page
  var list = document.querySelector("[data-outbox-list]");
  var textsNode = document.getElementById("outbox-texts");
  if (list && textsNode) {
    var texts = JSON.parse(textsNode.textContent);
    var summary = document.querySelector("[data-outbox-summary]");
    var empty = document.querySelector("[data-outbox-empty]");
    var queued = new URLSearchParams(location.search).get("queued");
    var urls = [];

    var when = function (iso) {
      try {
        return new Date(iso).toLocaleString(document.documentElement.lang || undefined, {
          month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
        });
      } catch (error) { return iso; }
    };
    var describe = function (item) {
      var shown = [];
      item.fields.forEach(function (pair) {
        var name = pair[0];
        var value = pair[1];
        if (typeof value !== "string" || !value) return;
        if (/^(csrf_token|uuid|photo_uuid|device_time|signature|contact_signature|latitude|longitude|accuracy|scanned_at|site_id|equipment_id)$/.test(name)) return;
        if (name === "value" && texts.values[value]) value = texts.values[value];
        shown.push(value.length > 60 ? value.slice(0, 60) + "…" : value);
      });
      return shown.slice(0, 3).join(" · ");
    };

    var draw = function () {
      box.all().then(function (items) {
        urls.forEach(function (u) { URL.revokeObjectURL(u); });
        urls = [];
        list.textContent = "";
        items.forEach(function (item) {
          var li = document.createElement("li");
          li.className = "outbox-item";
          li.id = "outbox-" + item.uuid;
          li.dataset.state = item.state;
          var head = document.createElement("p");
          var strong = document.createElement("strong");
          strong.textContent = texts.kinds[item.kind] || item.kind;
          head.appendChild(strong);
          head.appendChild(document.createTextNode(" · " + texts.made.replace("{at}", when(item.made))));
          li.appendChild(head);
          if (item.label) {
            var label = document.createElement("p");
            label.textContent = item.label;
            li.appendChild(label);
          }
          var detail = describe(item);
          if (detail) {
            var what = document.createElement("p");
            what.className = "muted";
            what.textContent = detail;
            li.appendChild(what);
          }
          item.fields.forEach(function (pair) {
            if (pair[1] && typeof pair[1] === "object" && pair[1].blob) {
              var img = document.createElement("img");
              img.className = "thumb";
              img.alt = texts.photo;
              img.width = 64;
              img.height = 64;
              var url = URL.createObjectURL(pair[1].blob);
              urls.push(url);
              img.src = url;
              li.appendChild(img);
            }
          });
          var state = document.createElement("p");
          state.className = "outbox-state outbox-state-" + item.state;
          state.setAttribute("data-outbox-state", item.state);
          var said = texts.states[item.state] || item.state;
          var why = item.message || texts.reasons[item.reason] || "";
          if (item.reason && !item.message && !texts.reasons[item.reason]) why = item.reason;
          if (item.status && item.state === "refused") why += " (" + item.status + ")";
          if (item.attempts > 1) why += " · " + texts.attempts.replace("{n}", item.attempts);
          state.textContent = why ? texts.state_reason.replace("{state}", said).replace("{reason}", why) : said;
          li.appendChild(state);
          if (item.state === "refused") {  // a waiting item goes by itself ("send now" above)
            var retry = document.createElement("button");
            retry.type = "button";
            retry.className = "button button-secondary";
            retry.textContent = texts.retry;
            retry.addEventListener("click", function () {
              box.get(item.uuid).then(function (current) {
                if (!current) return null;
                current.state = "waiting";
                current.next_try = 0;
                return box.add(current);
              }).then(function () { sendNow(true); });
            });
            li.appendChild(retry);
          }
          list.appendChild(li);
        });
        var n = items.length;
        summary.textContent = n === 0 ? texts.summary_none
          : n === 1 ? texts.summary_one : texts.summary_many.replace("{n}", n);
        empty.hidden = n !== 0;
        var notice = document.querySelector("[data-outbox-queued]");
        notice.hidden = !(queued && items.some(function (i) { return i.uuid === queued; }));
      });
    };
    listeners.push(draw);
    draw();

    document.querySelector("[data-outbox-send]").addEventListener("click", function () {
      sendNow(true);
    });

    // The escape hatch: everything unsent, photos included (as data: URLs), in one JSON file.
    var asDataUrl = function (blob) {
      return new Promise(function (resolve) {
        var reader = new FileReader();
        reader.onload = function () { resolve(reader.result); };
        reader.onerror = function () { resolve(null); };
        reader.readAsDataURL(blob);
      });
    };
    document.querySelector("[data-outbox-export]").addEventListener("click", function () {
      box.all().then(function (items) {
        return Promise.all(items.map(function (item) {
          return Promise.all(item.fields.map(function (pair) {
            var value = pair[1];
            if (value && typeof value === "object" && value.blob) {
              return asDataUrl(value.blob).then(function (data) {
                return { name: pair[0], file: value.name, type: value.type || value.blob.type, data: data };
              });
            }
            return { name: pair[0], value: pair[0] === "csrf_token" ? "" : value };
          })).then(function (fields) {
            return {
              uuid: item.uuid, kind: item.kind, url: item.url, made: item.made,
              state: item.state, reason: item.reason || null, fields: fields,
            };
          });
        }));
      }).then(function (items) {
        var data = JSON.stringify({ exported_at: new Date().toISOString(), items: items }, null, 2);
        var link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([data], { type: "application/json" }));
        link.download = "guardpost-unsent-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-") + ".json";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      });
    });
  }

  window.Guardpost = window.Guardpost || {};
  window.Guardpost.outbox = {
    items: function () { return box.all(); },
    count: showCount,
    send: sendNow,
    onChange: function (listen) { listeners.push(listen); },
    keep: function (urls) { if (navigator.onLine) tell({ type: "keep", urls: urls }); },
  };
})();

/* The outbox (issue 11): what a phone made that the server has not yet acknowledged.
   Shared by the pages and the service worker (importScripts): IndexedDB through `idb`, no DOM.

   An item is one POST: its address, its form fields (text, or a photo's Blob), the device uuid
   it goes under (header X-Object-UUID) and the device time it was made. It leaves the outbox
   only when the server answers 2xx echoing that uuid; every other answer keeps it, with the
   reason, to be sent again (app/device_requests.py holds the server's side of the contract). */
(function (scope) {
  "use strict";
  var DB_NAME = "guardpost-outbox";
  var STORE = "items";
  var META = "meta";
  var CHANNEL = "guardpost-outbox";
  var TOKEN_URL = "/outbox/token";
  //: A refused item is tried again after 15 s, 30 s, 1 min… at most every 15 minutes
  //: (sooner by "send now", "retry", or signing in).
  var BACKOFF_MS = 15000;
  var BACKOFF_MAX_MS = 15 * 60 * 1000;

  var opened = null;
  function db() {
    if (!opened) {
      opened = scope.idb.openDB(DB_NAME, 1, {
        upgrade: function (base) {
          var items = base.createObjectStore(STORE, { keyPath: "uuid" });
          items.createIndex("made", "made_ms");
          base.createObjectStore(META);
        },
        blocking: function () { if (opened) opened.then(function (d) { d.close(); }); opened = null; },
      });
    }
    return opened;
  }

  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
  function announce(message) {
    if (channel) channel.postMessage(message);
    if (scope.dispatchEvent && typeof CustomEvent === "function") {
      scope.dispatchEvent(new CustomEvent("outbox:change", { detail: message }));
    }
  }

  function all() {
    return db().then(function (d) { return d.getAllFromIndex(STORE, "made"); });
  }
  function count() {
    return db().then(function (d) { return d.count(STORE); });
  }
  function get(uuid) {
    return db().then(function (d) { return d.get(STORE, uuid); });
  }
  function put(item) {
    return db().then(function (d) { return d.put(STORE, item); });
  }
  function add(item) {
    return put(item).then(function () { announce({ type: "added", uuid: item.uuid }); });
  }
  function remove(uuid) {
    return db().then(function (d) { return d.delete(STORE, uuid); });
  }
  function meta(key, value) {
    return db().then(function (d) {
      return value === undefined ? d.get(META, key) : d.put(META, value, key);
    });
  }

  function update(item, changes) {
    Object.keys(changes).forEach(function (k) { item[k] = changes[k]; });
    return put(item).then(function () { announce({ type: "state", uuid: item.uuid, state: item.state }); });
  }

  function field(item, name) {
    for (var i = 0; i < item.fields.length; i++) {
      if (item.fields[i][0] === name) return item.fields[i][1];
    }
    return undefined;
  }

  /* The body sent: the item's fields with a fresh CSRF token (the body's hash ignores it). */
  function body(item, token) {
    var form = new FormData();
    item.fields.forEach(function (pair) {
      var name = pair[0];
      var value = pair[1];
      if (name === "csrf_token" && token) value = token;
      if (value && typeof value === "object" && value.blob) form.append(name, value.blob, value.name || "photo.jpg");
      else form.append(name, value == null ? "" : String(value));
    });
    return form;
  }

  function request(item, options) {
    options = options || {};
    var headers = new Headers(item.headers || {});
    headers.set("X-Object-UUID", item.uuid);
    if (options.json) {
      headers.set("Accept", "application/json");
      headers.delete("HX-Request");
    }
    if (options.token) headers.set("X-CSRFToken", options.token);
    return new Request(item.url, {
      method: item.method || "POST",
      body: body(item, options.token),
      headers: headers,
      credentials: "same-origin",
      redirect: options.redirect || "follow",
    });
  }

  function freshToken() {
    return fetch(TOKEN_URL, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) return { signedOut: true };
      if (!response.ok) return { error: response.status };
      return response.json();
    });
  }

  function reasonOf(response) {
    var type = response.headers.get("Content-Type") || "";
    var read = type.indexOf("json") >= 0 ? response.json() : Promise.resolve({});
    return read.catch(function () { return {}; }).then(function (answer) {
      return {
        status: response.status,
        reason: answer.reason || answer.error || (response.status >= 500 ? "server" : "refused"),
        message: answer.message || "",
        missing: answer.missing || null,
      };
    });
  }

  function backoff(attempts) {
    return Math.min(BACKOFF_MS * Math.pow(2, Math.max(attempts - 1, 0)), BACKOFF_MAX_MS);
  }

  /* One item, once: "sent", "offline" (no network: stop this pass), "csrf" or a state kept. */
  function sendOne(item, token) {
    return update(item, { state: "sending" }).then(function () {
      return fetch(request(item, { json: true, token: token }));
    }).then(function (response) {
      var echoed = response.headers.get("X-Object-UUID") === item.uuid;
      if (response.ok && echoed) {
        return remove(item.uuid).then(function () {
          announce({ type: "sent", uuid: item.uuid, url: item.url, replay: response.headers.get("X-Replay") === "1" });
          return "sent";
        });
      }
      if (response.status === 400 && response.headers.get("X-Refusal") === "csrf") return "csrf";
      return reasonOf(response).then(function (why) {
        var attempts = (item.attempts || 0) + 1;
        if (response.status === 401) why.reason = "signed_out";
        else if (response.ok) why.reason = "unexpected";
        var waiting = why.reason === "answers_missing" || why.reason === "signed_out";
        return update(item, {
          state: waiting ? "waiting" : "refused",
          reason: why.reason,
          status: why.status,
          message: why.message,
          attempts: attempts,
          next_try: Date.now() + (why.reason === "signed_out" ? 0 : backoff(attempts)),
        }).then(function () { return why.reason === "signed_out" ? "signed_out" : "kept"; });
      });
    }, function () {
      return update(item, { state: "waiting", reason: "offline" }).then(function () { return "offline"; });
    });
  }

  function markAll(items, changes) {
    return items.reduce(function (chain, item) {
      return chain.then(function () { return update(item, Object.assign({}, changes)); });
    }, Promise.resolve());
  }

  /* One pass over the outbox, oldest first. `force`: refused items too, whatever their wait. */
  function pass(force) {
    return all().then(function (items) {
      if (!items.length) return null;
      return freshToken().then(function (session) {
        if (session.signedOut) return markAll(items, { state: "waiting", reason: "signed_out" });
        if (session.error) return markAll(items, { state: "waiting", reason: "server", status: session.error });
        var token = session.csrf_token;
        var now = Date.now();
        var chain = Promise.resolve("go");
        items.forEach(function (item) {
          chain = chain.then(function (go) {
            if (go !== "go") return go;
            if (item.user && session.user && String(item.user) !== String(session.user)) {
              return update(item, { state: "waiting", reason: "other_user" }).then(function () { return "go"; });
            }
            if (!force && item.state === "refused" && item.next_try && item.next_try > now) return "go";
            return get(item.uuid).then(function (current) {
              if (!current) return "go";  // removed meanwhile (sent by another pass)
              return sendOne(current, token).then(function (result) {
                if (result !== "csrf") return result;
                return freshToken().then(function (again) {
                  token = again.csrf_token;
                  return sendOne(current, token);
                });
              });
            }).then(function (result) {
              return result === "offline" || result === "signed_out" ? result : "go";
            });
          });
        });
        return chain;
      }, function () {
        return markAll(items.filter(function (i) { return i.state === "sending"; }), { state: "waiting", reason: "offline" });
      });
    });
  }

  var running = null;
  var again = false;
  var forceNext = false;
  /* Send what waits; a call while a pass runs asks for one more pass after it. */
  function send(force) {
    if (force) forceNext = true;
    if (running) { again = true; return running; }
    running = (function loop() {
      again = false;
      var forced = forceNext;
      forceNext = false;
      return pass(forced).then(function () { return again ? loop() : null; });
    })().then(function (v) { running = null; announce({ type: "idle" }); return v; },
               function (e) { running = null; announce({ type: "idle" }); throw e; });
    return running;
  }

  scope.GuardpostOutbox = {
    CHANNEL: CHANNEL,
    all: all,
    count: count,
    get: get,
    add: add,
    remove: function (uuid) { return remove(uuid).then(function () { announce({ type: "removed", uuid: uuid }); }); },
    meta: meta,
    field: field,
    request: request,
    send: send,
    announce: announce,
  };
})(typeof self !== "undefined" ? self : window);

/* Guardpost service worker.

   The shell: versioned static files and the offline page, cached for everyone; they hold no
   user data.

   The outbox (issue 11): a POST of field work (an answer, a photo, a submit, a check-in, an
   incident, an alarm step, a repair ticket, a briefing acknowledgement) that cannot reach the
   server, or that would overtake items still waiting, is kept in the outbox (IndexedDB, see
   outbox-core.js) instead of failing: a page gets 202 {"queued": true} (header X-Outbox:
   queued), a form's navigation goes to the unsent page. The outbox is sent here, on a message
   from a page ("send"), on Background Sync, and after each new item.

   Pages kept for offline use: only a page the server marks `X-Offline: keep` (an inspection
   being run, the new-incident form, the unsent page), the signed-in user's own, deleted on
   sign-out. Nothing confidential is ever marked.

   Push (app/notifications/push.py): a push carries {title, body, url, tag, lang}, already in
   the user's language and never a confidential value; it is shown as a notification, and a
   tap focuses a window of the app on its link (or opens one). */
importScripts({{ idb_url | tojson }}, {{ core_url | tojson }});

const CACHE = "guardpost-shell-{{ version }}";
const PAGES = "guardpost-pages";
const SHELL = {{ urls | tojson }};
const OFFLINE_URL = {{ offline_url | tojson }};
const OUTBOX_URL = {{ outbox_url | tojson }};
const SAVED_URL = {{ saved_url | tojson }};
const ROUTES = {{ routes | tojson }}.map((route) => ({ kind: route.kind, pattern: new RegExp(route.pattern) }));
const SYNC_TAG = "guardpost-outbox";
/* The confidential vault (issue 12): its pages, reveals and logs are never kept, queued or
   answered from a cache; the worker leaves them to the network alone. */
const NEVER_KEPT = /\/vault(\/|-|$)/;
const outbox = self.GuardpostOutbox;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("guardpost-shell-") && name !== CACHE)
             .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
      .then(() => outbox.send())
      .catch(() => {})
  );
});

function kindOf(url) {
  const route = ROUTES.find((r) => r.pattern.test(url.pathname));
  return route ? route.kind : null;
}

async function fieldsOf(request) {
  const type = request.headers.get("Content-Type") || "";
  if (!type.includes("form")) return [];
  const form = await request.formData();
  const fields = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") fields.push([name, value]);
    else fields.push([name, { blob: value, name: value.name || "photo.jpg", type: value.type }]);
  }
  return fields;
}

/* Headers a resend keeps (the page's own, not the browser's). */
const KEPT_HEADERS = ["HX-Request", "HX-Target", "HX-Trigger", "HX-Current-URL", "X-Requested-With"];

function labelOf(request) {
  try {
    return decodeURIComponent(request.headers.get("X-Outbox-Label") || "").slice(0, 80);
  } catch (error) {
    return "";
  }
}

async function capture(event, kind) {
  const request = event.request;
  const navigate = request.mode === "navigate";
  const fields = await fieldsOf(request.clone());
  const given = fields.find(([name]) => name === "uuid");
  const uuid = request.headers.get("X-Object-UUID") || (given && given[1]) || crypto.randomUUID();
  if (given && !given[1]) given[1] = uuid;
  if (!fields.some(([name]) => name === "device_time")) {
    fields.push(["device_time", new Date().toISOString()]);
  }
  const headers = {};
  for (const name of KEPT_HEADERS) {
    if (request.headers.has(name)) headers[name] = request.headers.get(name);
  }
  const now = new Date();
  const item = {
    uuid, kind, url: request.url, method: "POST", fields, headers,
    made: now.toISOString(), made_ms: now.getTime(),
    user: await outbox.meta("user"),
    label: labelOf(request),
    page: request.referrer || "",
    state: "waiting", reason: null, attempts: 0,
  };
  if (kind === "answer" && (await sameAsLast(item))) return queuedAnswer(item, navigate);
  // Behind items still on their way it waits its turn (an answer before its submit); an item
  // the server refused, or another user's, does not hold everything after it back.
  const ahead = (await outbox.all()).some(
    (other) => other.state !== "refused" && other.reason !== "other_user");
  if (!ahead) {
    try {
      const response = await fetch(outbox.request(item, {
        redirect: navigate ? "manual" : "follow",
        token: request.headers.get("X-CSRFToken") || undefined,
      }));
      if (response.status < 500) return response;  // the server answered: the page shows it
      item.reason = "server";
      item.status = response.status;
    } catch (error) {
      item.reason = "offline";
    }
  } else {
    item.reason = "behind";
  }
  await outbox.add(item);
  if (self.registration.sync) self.registration.sync.register(SYNC_TAG).catch(() => {});
  event.waitUntil(outbox.send().catch(() => {}));
  return queuedAnswer(item, navigate);
}

function queuedAnswer(item, navigate) {
  if (navigate) {
    return Response.redirect(`${OUTBOX_URL}?queued=${encodeURIComponent(item.uuid)}`, 303);
  }
  return new Response(JSON.stringify({ ok: true, queued: true, uuid: item.uuid }), {
    status: 202,
    headers: { "Content-Type": "application/json", "X-Outbox": "queued", "X-Object-UUID": item.uuid },
  });
}

/* An answer already waiting with the same values (a field's "change" and its button's
   "submit" both send it) is kept once. */
const NOT_COMPARED = new Set(["csrf_token", "device_time"]);
async function sameAsLast(item) {
  const earlier = (await outbox.all()).filter((other) => other.url === item.url);
  const last = earlier[earlier.length - 1];
  if (!last || last.state === "sending") return false;
  const values = (fields) => JSON.stringify(
    fields.filter(([name, value]) => !NOT_COMPARED.has(name) && typeof value === "string"));
  return values(last.fields) === values(item.fields);
}

/* Keeps a copy of `response` if the server marked it; call before the page reads it. */
function keepPage(request, response) {
  if (NEVER_KEPT.test(new URL(request.url).pathname)) return Promise.resolve();
  if (!response.ok || response.headers.get("X-Offline") !== "keep") return Promise.resolve();
  const copy = response.clone();
  return caches.open(PAGES).then((cache) => cache.put(request.url, copy));
}

async function keptPage(request) {
  const cache = await caches.open(PAGES);
  return (await cache.match(request.url)) || (await cache.match(request.url, { ignoreSearch: true }));
}

async function page(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    event.waitUntil(keepPage(request, response).catch(() => {}));
    return response;
  } catch (error) {
    const kept = await keptPage(request);
    if (kept) return kept;
    // The unsent page before it was ever kept: "saved on this phone", not "you are offline".
    const fallback = new URL(request.url).pathname === OUTBOX_URL ? SAVED_URL : OFFLINE_URL;
    return caches.match(fallback);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER_KEPT.test(url.pathname)) return;
  if (request.method === "POST") {
    const kind = kindOf(url);
    if (kind) event.respondWith(capture(event, kind));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    // Pages come from the network; a kept page or the offline page stands in when there is none.
    event.respondWith(page(event));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request))
    );
  }
});

async function keep(urls) {
  for (const address of urls) {
    try {
      const request = new Request(address, { credentials: "same-origin" });
      await keepPage(request, await fetch(request));  // eslint-disable-line no-await-in-loop
    } catch (error) {
      return;  // offline: what is kept stays
    }
  }
}

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "send") event.waitUntil(outbox.send(!!message.force).catch(() => {}));
  else if (message.type === "user") event.waitUntil(outbox.meta("user", message.user || null));
  else if (message.type === "keep") event.waitUntil(keep(message.urls || []));
  else if (message.type === "forget-pages") event.waitUntil(caches.delete(PAGES));
  /* Signing out: this phone stops receiving the user's pushes (the push service then answers
     410 and the server forgets the device). Turning push on again subscribes anew. */
  else if (message.type === "forget-push" && self.registration.pushManager) {
    event.waitUntil(self.registration.pushManager.getSubscription()
      .then((subscription) => subscription && subscription.unsubscribe()).catch(() => {}));
  }
});

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(outbox.send());
});

const ICON_URL = {{ icon_url | tojson }};

/* Only a link into this app: a push never sends the phone elsewhere. */
function appLink(url) {
  try {
    const target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (error) {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(self.registration.showNotification(message.title || "Guardpost", {
    body: message.body || "",
    tag: message.tag || undefined,
    lang: message.lang || undefined,
    icon: ICON_URL,
    badge: ICON_URL,
    data: { url: appLink(message.url) },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = appLink(event.notification.data && event.notification.data.url);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const same = windows.find((client) => client.url === url);
    if (same) return same.focus();
    const any = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (any && "navigate" in any) {
      const client = await any.focus();
      return client.navigate(url);
    }
    return self.clients.openWindow(url);
  })());
});

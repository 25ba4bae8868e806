/* Running an inspection: photos downscaled on the phone (≤ 1600 px JPEG) before upload,
   finger signatures on a canvas (signature_pad), and each item saying whether its answer is
   saving, saved or not saved. Answers themselves are saved by htmx, one POST per item. */
(function () {
  "use strict";
  var MAX_SIDE = 1600;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function uuid() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : "";
  }

  // A photo on the phone, shown as a thumbnail before the server has it.
  function thumb(blob, className) {
    var img = document.createElement("img");
    img.className = className;
    img.alt = "";
    img.width = 96;
    img.height = 96;
    img.src = URL.createObjectURL(blob);
    return img;
  }

  function downscale(file) {
    return new Promise(function (resolve) {
      var img = new Image();
      var url = URL.createObjectURL(file);
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };  // let the server say why
      img.src = url;
    });
  }

  function replace(selector, html) {
    var old = document.querySelector(selector);
    if (!old) return;
    var holder = document.createElement("div");
    holder.innerHTML = html;  // our own server's fragment, rendered with autoescaping
    var fresh = holder.querySelector(selector);
    var progress = holder.querySelector("#progress");
    if (fresh) {
      old.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
    }
    var bar = document.getElementById("progress");
    if (progress && bar) bar.replaceWith(progress);
  }

  document.addEventListener("change", function (event) {
    var input = event.target.closest("[data-photo-input]");
    if (!input || !input.files || !input.files[0]) return;
    var form = input.closest("[data-photo-form]");
    var status = form.querySelector("[data-photo-status]");
    status.textContent = form.dataset.busy;
    downscale(input.files[0]).then(function (blob) {
      var body = new FormData();
      var key = uuid();
      body.append("csrf_token", csrf());
      body.append("photo_uuid", key);
      body.append("photo", blob, "photo.jpg");
      var note = form.closest("article") && form.closest("article").querySelector("textarea[name=note]");
      if (note) body.append("note", note.value);
      form._blob = blob;
      var headers = { "HX-Request": "true", "X-CSRFToken": csrf() };
      if (key) headers["X-Object-UUID"] = key;  // a resend from the outbox is the same photo
      headers["X-Outbox-Label"] = labelOf(form.closest("article"));
      return fetch(form.action, {
        method: "POST",
        body: body,
        headers: headers,
        credentials: "same-origin",
      });
    }).then(function (response) {
      if (response.headers.get("X-Outbox") === "queued") {  // kept on the phone (issue 11)
        queuedPhoto(form, form._blob);
        status.textContent = messages ? messages.dataset.queued : "";
        input.value = "";
        return null;
      }
      if (form.hasAttribute("data-reload")) { window.location.reload(); return null; }
      return response.text().then(function (html) {
        if (response.status === 200 || response.status === 422) replace(form.dataset.target, html);
        else if (response.status === 413) status.textContent = form.dataset.tooLarge || "413";
        else status.textContent = String(response.status);
      });
    }).catch(function () {
      status.textContent = document.body.dataset.msgOffline || "";
    });
  });

  // The new-incident form sends its photos with the report: each chosen photo is downscaled
  // here and put back into the input (DataTransfer), so the form posts small JPEGs.
  document.addEventListener("change", function (event) {
    var input = event.target.closest("[data-photo-attach]");
    if (!input || !input.files || !input.files.length) return;
    var box = input.closest("[data-photo-attach-box]");
    var count = box.querySelector("[data-photo-count]");
    var previews = box.querySelector("[data-photo-previews]");
    var submit = input.form && input.form.querySelector("[data-photo-submit]");
    var chosen = Array.prototype.slice.call(input.files);
    count.textContent = box.dataset.busy;
    if (submit) submit.disabled = true;
    Promise.all(chosen.map(downscale)).then(function (blobs) {
      if (window.DataTransfer) {
        var transfer = new DataTransfer();
        blobs.forEach(function (blob, n) {
          transfer.items.add(new File([blob], "photo-" + (n + 1) + ".jpg", { type: blob.type || "image/jpeg" }));
        });
        input.files = transfer.files;  // no change event: programmatic
      }
      previews.textContent = "";
      blobs.forEach(function (blob) { previews.appendChild(thumb(blob, "thumb")); });
      count.textContent = blobs.length === 1 ? box.dataset.one : box.dataset.many.replace("{n}", blobs.length);
    }).finally(function () {
      if (submit) submit.disabled = false;
    });
  });

  // Finger signatures with signature_pad (smooth, pressure-like strokes). The canvas bitmap is
  // its box in CSS pixels × devicePixelRatio, so a stroke is neither blurred nor stretched;
  // when the box changes size the strokes are kept, scaled evenly to the new box.
  function pad(canvas) {
    var signature = new window.SignaturePad(canvas, {
      minWidth: 1,
      maxWidth: 3.2,
      penColor: "#14202b",
    });
    var drawnIn = null;  // the CSS size the strokes were drawn in

    function size() {
      var width = canvas.clientWidth;
      var height = canvas.clientHeight;
      if (!width || !height) return;  // hidden (a closed <details>): sized when shown
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var pixelsWide = Math.round(width * ratio);
      var pixelsHigh = Math.round(height * ratio);
      if (canvas.width === pixelsWide && canvas.height === pixelsHigh) return;
      var strokes = signature.toData();
      canvas.width = pixelsWide;
      canvas.height = pixelsHigh;
      canvas.getContext("2d").scale(ratio, ratio);
      if (strokes.length && drawnIn) {
        var k = Math.min(width / drawnIn.width, height / drawnIn.height);
        strokes.forEach(function (group) {
          group.points.forEach(function (p) { p.x *= k; p.y *= k; });
        });
        signature.fromData(strokes);
      } else {
        signature.clear();
      }
      drawnIn = { width: width, height: height };
    }

    size();
    if (window.ResizeObserver) new ResizeObserver(size).observe(canvas);
    else window.addEventListener("resize", size);
    var details = canvas.closest("details");
    if (details) details.addEventListener("toggle", size);
    return {
      clear: function () { signature.clear(); },
      value: function () { return signature.isEmpty() ? "" : signature.toDataURL("image/png"); },
    };
  }

  document.querySelectorAll("[data-signature-form]").forEach(function (form) {
    if (!window.SignaturePad) return;
    var pads = [];
    form.querySelectorAll("[data-signature-pad]").forEach(function (canvas) {
      var p = pad(canvas);
      var holder = canvas.parentElement;
      pads.push({ pad: p, input: holder.querySelector("[data-signature-value]") });
      var clear = holder.querySelector("[data-signature-clear]");
      if (clear) clear.addEventListener("click", function () { p.clear(); });
    });
    form.addEventListener("submit", function () {
      pads.forEach(function (entry) { entry.input.value = entry.pad.value(); });
    });
  });

  // Saving is visible on the item itself (issue 10, 13): "saving" the moment an answer is
  // sent, then "saved"; a refused value shows the server's reason; a save that failed (no
  // network, a server error) says so with a button that sends the same answer again.
  var messages = document.querySelector("[data-save-messages]");

  // What the unsent page calls a kept answer or photo: its item (URI-encoded: a header).
  function labelOf(article) {
    var text = article && article.querySelector(".item-text");
    var words = text ? text.textContent.replace(/\s+/g, " ").trim() : "";
    return encodeURIComponent(words.length > 60 ? words.slice(0, 60) + "…" : words);
  }

  function itemOf(elt) {
    return elt && elt.closest ? elt.closest("article.item[data-saves]") : null;
  }

  function show(article, state, text, retry) {
    if (!article) return;
    article.classList.remove("item-saving", "item-saved", "item-unsaved");
    if (state) article.classList.add("item-" + state);
    article.setAttribute("aria-busy", state === "saving" ? "true" : "false");
    var box = article.querySelector("[data-save-status]");
    if (!box) return;
    box.textContent = text;
    if (retry) {
      var again = document.createElement("button");
      again.type = "button";
      again.className = "button button-secondary save-retry";
      again.textContent = messages.dataset.retry;
      again.addEventListener("click", retry);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(again);
    }
  }

  // Each answer goes under its own device uuid with the time it was given (issue 11): a
  // resend from the outbox is recognised, and an older answer never overwrites a newer one.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!itemOf(event.detail.elt) || event.detail.verb !== "post") return;
    var key = uuid();
    if (key) event.detail.headers["X-Object-UUID"] = key;
    event.detail.headers["X-Outbox-Label"] = labelOf(itemOf(event.detail.elt));
    event.detail.parameters.set("device_time", new Date().toISOString());
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var article = itemOf(form);
    if (!article || !messages) return;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    form._saving = { item: article.id, submitter: trigger && trigger.submitter };
    article.querySelectorAll(".choice-pending").forEach(function (b) { b.classList.remove("choice-pending"); });
    if (form._saving.submitter) form._saving.submitter.classList.add("choice-pending");
    show(article, "saving", messages.dataset.saving);
  });

  // A refused value (422) comes back as the item with its reason: show it, not a toast.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.getResponseHeader("X-Outbox") === "queued") {
      event.detail.shouldSwap = false;  // the service worker kept it: the page shows it itself
      return;
    }
    if (event.detail.xhr.status === 422 && itemOf(event.detail.elt)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function retryOf(form, submitter) {
    return function () {
      if (submitter && submitter.isConnected) submitter.click();
      else if (form.isConnected) form.requestSubmit();
    };
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    // (Once the item is swapped, htmx tells its still-attached ancestor: the form that sent
    // the answer is in the request's config.)
    var config = event.detail.requestConfig;
    var form = config ? config.elt : event.detail.elt;
    var saving = form && form._saving;
    if (!saving || !messages) return;
    var article = document.getElementById(saving.item);
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (event.detail.xhr && event.detail.xhr.getResponseHeader("X-Outbox") === "queued") {
      form._saving = null;
      applyAnswer(article, fieldsOf(form, saving.submitter));
      queued(article);
      return;
    }
    if (status >= 200 && status < 300) {
      keepFresh();
      form._saving = null;
      show(article, "saved", messages.dataset.saved);
    } else if (status === 422) {
      form._saving = null;
      show(article, "unsaved", messages.dataset.refused);
    } else {
      var text = status === 0 ? messages.dataset.offline : messages.dataset.failed.replace("{status}", status);
      show(article, "unsaved", text, retryOf(form, saving.submitter));
    }
  });

  // ---------------------------------------------------------------- offline (issue 11)
  // An answer, note or photo the service worker kept shows at once as given, marked
  // "saved on this phone"; a page reloaded offline (kept by the service worker as it was
  // last loaded) is filled from the outbox the same way.
  function fieldsOf(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    var fields = [];
    data.forEach(function (value, name) { fields.push([name, value]); });
    return fields;
  }

  function valueIn(fields, name) {
    for (var i = 0; i < fields.length; i++) if (fields[i][0] === name) return fields[i][1];
    return undefined;
  }

  function setState(article, state) {
    ["todo", "pass", "fail", "done"].forEach(function (s) { article.classList.remove("item-" + s); });
    article.classList.add("item-" + state);
    var details = article.querySelector(".fail-details");
    if (details) details.hidden = state !== "fail";
    var code = article.querySelector(".item-code");
    var label = code && code.querySelector(".item-state");
    if (label) label.remove();
    if (code && messages && (state === "pass" || state === "fail")) {
      label = document.createElement("span");
      label.className = "item-state" + (state === "fail" ? " item-state-fail" : "");
      label.textContent = (state === "pass" ? "✓ " + messages.dataset.pass : "✗ " + messages.dataset.fail);
      code.appendChild(label);
    }
  }

  function applyAnswer(article, fields) {
    if (!article) return;
    var value = valueIn(fields, "value");
    if (typeof value === "string" && value !== "") {
      var state = "done";
      article.querySelectorAll(".answer-form button[name=value]").forEach(function (button) {
        button.setAttribute("aria-pressed", button.value === value ? "true" : "false");
        button.classList.remove("choice-pending");
      });
      if (value === "pass") state = "pass";
      else if (value === "fail") state = "fail";
      var number = article.querySelector(".answer-form input[type=number]");
      if (number) {
        number.value = value;
        var n = Number(value);
        var low = number.dataset.min === undefined ? -Infinity : Number(number.dataset.min);
        var high = number.dataset.max === undefined ? Infinity : Number(number.dataset.max);
        state = n >= low && n <= high ? "pass" : "fail";
      }
      var text = article.querySelector(".answer-form textarea[name=value]");
      if (text) text.value = value;
      setState(article, state);
    }
    var note = valueIn(fields, "note");
    var noteBox = article.querySelector("textarea[name=note]");
    if (typeof note === "string" && noteBox) noteBox.value = note;
    var unit = valueIn(fields, "equipment_id");
    var unitBox = article.querySelector("select[name=equipment_id]");
    if (typeof unit === "string" && unitBox) unitBox.value = unit;
    progress();
  }

  function queued(article) {
    if (!article || !messages) return;
    show(article, "queued", messages.dataset.queued);
    article.classList.add("item-queued");
  }

  function queuedPhoto(form, blob) {
    if (!blob) return;
    form.parentNode.insertBefore(thumb(blob, "thumb thumb-queued"), form);
    queued(itemOf(form));
  }

  function progress() {
    if (!messages || !messages.dataset.progress) return;
    var all = document.querySelectorAll("article.item[data-saves]");
    var done = document.querySelectorAll("article.item[data-saves]:not(.item-todo)").length;
    var text = document.querySelector("#progress .progress-text");
    var bar = document.querySelector("#progress progress");
    if (text) text.textContent = messages.dataset.progress.replace("{done}", done).replace("{total}", all.length);
    if (bar) { bar.value = done; bar.max = all.length || 1; }
  }

  // The page the service worker keeps for offline use is refreshed after answers saved online.
  var freshTimer = null;
  function keepFresh() {
    var outbox = window.Guardpost && window.Guardpost.outbox;
    if (!outbox) return;
    clearTimeout(freshTimer);
    freshTimer = setTimeout(function () { outbox.keep([location.href]); }, 1500);
  }

  var inspectionKey = messages && messages.dataset.inspection;
  function fillFromOutbox() {
    var outbox = window.Guardpost && window.Guardpost.outbox;
    if (!outbox || !inspectionKey) return;
    var prefix = "/inspections/" + inspectionKey + "/";
    outbox.items().then(function (items) {
      items.forEach(function (item) {
        var path = new URL(item.url).pathname;
        if (path.indexOf(prefix) !== 0) return;
        var rest = path.slice(prefix.length).split("/");  // items/<id>[/photos] or submit
        if (rest[0] === "submit") {
          var note = document.querySelector("[data-submit-queued]");
          if (note) note.hidden = false;
          var sign = document.querySelector("[data-signature-form]");
          if (sign) sign.hidden = true;
          return;
        }
        var article = document.getElementById("item-" + rest[1]);
        if (!article || article.dataset.filled === item.uuid) return;
        if (rest[2] === "photos") {
          var photo = item.fields.filter(function (pair) { return pair[1] && pair[1].blob; })[0];
          var form = article.querySelector("[data-photo-form]");
          if (photo && form && !document.getElementById("queued-" + item.uuid)) {
            queuedPhoto(form, photo[1].blob);
            form.previousSibling.id = "queued-" + item.uuid;
          }
        } else {
          applyAnswer(article, item.fields);
          queued(article);
        }
      });
    });
  }
  fillFromOutbox();

  // What the outbox sends is saved: the item says so; a sent submit shows the report.
  var box = window.Guardpost && window.Guardpost.outbox;
  if (box && inspectionKey) {
    box.onChange(function (message) {
      if (message.type !== "sent" || !message.url) return;
      var path = new URL(message.url).pathname;
      var prefix = "/inspections/" + inspectionKey + "/";
      if (path.indexOf(prefix) !== 0) return;
      var rest = path.slice(prefix.length).split("/");
      if (rest[0] === "submit") { window.location.reload(); return; }
      var article = document.getElementById("item-" + rest[1]);
      if (!article) return;
      article.classList.remove("item-queued");
      show(article, "saved", messages.dataset.saved);
    });
  }
})();

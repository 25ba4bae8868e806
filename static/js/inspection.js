/* Running an inspection: photos downscaled on the phone (≤ 1600 px JPEG) before upload, and
   finger signatures on a canvas. Answers themselves are saved by htmx, one POST per item. */
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
      body.append("csrf_token", csrf());
      body.append("photo_uuid", uuid());
      body.append("photo", blob, "photo.jpg");
      var note = form.closest("article") && form.closest("article").querySelector("textarea[name=note]");
      if (note) body.append("note", note.value);
      return fetch(form.action, {
        method: "POST",
        body: body,
        headers: { "HX-Request": "true", "X-CSRFToken": csrf() },
        credentials: "same-origin",
      });
    }).then(function (response) {
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
      blobs.forEach(function (blob) {
        var img = document.createElement("img");
        img.className = "thumb";
        img.alt = "";
        img.width = 96;
        img.height = 96;
        img.src = URL.createObjectURL(blob);
        previews.appendChild(img);
      });
      count.textContent = blobs.length === 1 ? box.dataset.one : box.dataset.many.replace("{n}", blobs.length);
    }).finally(function () {
      if (submit) submit.disabled = false;
    });
  });

  function pad(canvas) {
    var context = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    context.lineWidth = 4;
    context.lineCap = "round";
    context.strokeStyle = "#14202b";
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * canvas.width / box.width,
        y: (event.clientY - box.top) * canvas.height / box.height,
      };
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      context.beginPath();
      context.moveTo(p.x, p.y);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      context.lineTo(p.x, p.y);
      context.stroke();
      drawn = true;
      event.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    return {
      clear: function () { context.clearRect(0, 0, canvas.width, canvas.height); drawn = false; },
      value: function () { return drawn ? canvas.toDataURL("image/png") : ""; },
    };
  }

  document.querySelectorAll("[data-signature-form]").forEach(function (form) {
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

  document.querySelectorAll("[data-new-uuid]").forEach(function (input) {
    var fresh = uuid();
    if (fresh) input.value = fresh;
  });
})();

// Sends the chat forms with fetch and appends the answers; without JavaScript the forms post and reload.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var end = document.getElementById("end");
  var quick = document.getElementById("quick");
  var send = document.getElementById("send");
  var box = send.querySelector("textarea");
  var go = send.querySelector(".go");
  var busy = false;

  function scroll() { end.scrollIntoView({ block: "end" }); }

  function bubble(side, text) {
    var row = document.createElement("div");
    row.className = "row " + side;
    var b = document.createElement("div");
    b.className = "bubble";
    b.textContent = text;
    row.appendChild(b);
    log.insertBefore(row, end);
    scroll();
  }

  function setQuick(items) {
    quick.textContent = "";
    items.forEach(function (q) {
      var btn = document.createElement("button");
      btn.type = "submit";
      btn.name = "choice";
      btn.value = q.value;
      btn.textContent = q.label;
      quick.appendChild(btn);
    });
  }

  function post(body, shown) {
    if (busy) return;
    busy = true;
    go.disabled = true;
    bubble("me", shown);
    setQuick([]);
    fetch("/chat/api", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(function (data) {
      var last = [];
      (data.replies || []).forEach(function (r) {
        bubble("bot", r.text);
        if (r.quick_replies && r.quick_replies.length) last = r.quick_replies;
      });
      setQuick(last);
      scroll();
    }).catch(function () {
      bubble("bot", "通信できませんでした。もう一度送ってください。");
    }).then(function () { busy = false; go.disabled = false; box.focus(); });
  }

  quick.addEventListener("click", function (e) {
    var btn = e.target.closest("button");
    if (!btn) return;
    e.preventDefault();
    post({ choice: btn.value }, btn.textContent);
  });
  send.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    post({ text: text }, text);
  });
  box.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send.requestSubmit();
    }
  });
  scroll();
})();

// Live events: the browser's own EventSource on /api/live with the page's filters. Newest first, at most
// data-max-rows rows kept; Pause holds new events (counted on screen) and Resume shows them; screen readers
// hear one polite summary every few seconds, never each row.
(function () {
  "use strict";
  const list = document.getElementById("live-events");
  if (!list) return;
  const maxRows = Number(list.dataset.maxRows);
  const state = document.getElementById("live-state");
  const pauseButton = document.getElementById("live-pause");
  const heldNote = document.getElementById("live-held");
  const announcer = document.getElementById("live-announce");
  const empty = document.getElementById("live-empty");
  // The same few telling fields as a search result's line (analytics/views.py _summary).
  const SUMMARY = ["log_type", "amount", "currency", "user_id", "ip", "geo", "http_status", "message", "url", "request"];
  const ANNOUNCE_MS = 5000;
  const RETRY_MS = 10000;

  let paused = false;
  let incoming = [];
  let held = [];
  let heldCount = 0;
  let unannounced = 0;
  let flushQueued = false;
  let lastId = "";

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function summary(source) {
    const shown = [];
    for (const key of SUMMARY) {
      let value = source[key];
      if (key === "geo" && value && typeof value === "object") {
        value = [value.city_name, value.country_iso_code].filter(Boolean).join(", ");
      }
      if (value === undefined || value === null || value === "" || typeof value === "object") continue;
      shown.push([key, String(value).slice(0, 140)]);
    }
    return shown.slice(0, 6);
  }

  function row(event) {
    const item = element("li", "result card");
    const top = element("div", "top");
    const link = element("a");
    // The event page's address as the server writes it ("file_id:line", the colon kept).
    link.href = "/search/events/" + encodeURIComponent(event.id).replace(/%3A/g, ":") + "/";
    const time = element("time", "", event.source["@timestamp"]);
    time.dateTime = event.source["@timestamp"];
    link.appendChild(time);
    top.append(link, element("span", "muted mono", event.index));
    const facts = element("dl", "inline-facts");
    for (const [name, value] of summary(event.source)) {
      const pair = element("div");
      pair.append(element("dt", "", name), element("dd", "", value));
      facts.appendChild(pair);
    }
    item.append(top, facts);
    return item;
  }

  // `events` arrive oldest first: the newest ends on top.
  function show(events) {
    const fragment = document.createDocumentFragment();
    for (const event of events.slice(-maxRows).reverse()) fragment.appendChild(row(event));
    list.prepend(fragment);
    while (list.children.length > maxRows) list.lastElementChild.remove();
    empty.hidden = list.children.length > 0;
  }

  function plural(count, word) {
    return count.toLocaleString() + " " + word + (count === 1 ? "" : "s");
  }

  function showHeld() {
    heldNote.hidden = !paused;
    heldNote.textContent = "Paused: " + plural(heldCount, "new event") + " waiting. Resume to show them.";
  }

  // Events come in bursts (a bulk request at a time): rows are added once per burst, not once per event.
  function flush() {
    flushQueued = false;
    const batch = incoming;
    incoming = [];
    if (paused) {
      held = held.concat(batch).slice(-maxRows);
      heldCount += batch.length;
      showHeld();
      return;
    }
    show(batch);
    unannounced += batch.length;
  }

  function receive(message) {
    lastId = message.lastEventId;
    incoming.push(JSON.parse(message.data));
    if (!flushQueued) {
      flushQueued = true;
      setTimeout(flush, 100);
    }
  }

  pauseButton.addEventListener("click", function () {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      showHeld();
      return;
    }
    heldNote.hidden = true;
    if (heldCount) {
      show(held);
      announcer.textContent = "Showing " + plural(heldCount, "event") + " that arrived while paused.";
    }
    held = [];
    heldCount = 0;
  });

  setInterval(function () {
    if (!unannounced) return;
    announcer.textContent = plural(unannounced, "new event") + ".";
    unannounced = 0;
  }, ANNOUNCE_MS);

  function connect() {
    // After a refusal (503: the server has all its live views open) EventSource gives up: start again from
    // the last event shown, so nothing is missed.
    const url = list.dataset.streamUrl + (lastId ? "&cursor=" + encodeURIComponent(lastId) : "");
    const source = new EventSource(url);
    source.addEventListener("open", function () {
      state.textContent = "Live: new events appear below as they are indexed.";
    });
    source.addEventListener("message", receive);
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        state.textContent = "The live view is unavailable right now; trying again in 10 seconds.";
        setTimeout(connect, RETRY_MS);
      } else {
        state.textContent = "Reconnecting…";
      }
    });
  }

  connect();
})();

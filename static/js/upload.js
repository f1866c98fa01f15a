// Upload page: chosen or dropped files wait in a queue and travel two at a time, each in its own XHR (real byte
// progress); then its job is followed through the job API until it finishes. A file takes the log type chosen
// when it is sent, so a change applies to the files still waiting. A file uploaded before is not stored again
// until the user says so. Refused files show the server's own sentence.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const logType = document.getElementById("log-type");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const heading = document.getElementById("uploads-heading");
  const template = document.getElementById("upload-item");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  // Status words and which statuses are final come from the server (ingestion's JobStatus).
  const STATUSES = JSON.parse(document.getElementById("job-statuses").textContent);
  const FINISHED = STATUSES.finished;
  const LABELS = STATUSES.labels;
  // Files sent at once; the others wait (and take the log type chosen by the time their turn comes).
  const PARALLEL = 2;
  const waiting = [];
  let sending = 0;

  function formatSize(bytes) {
    if (bytes < 1024) return bytes.toLocaleString() + (bytes === 1 ? " byte" : " bytes");
    const kilobytes = bytes / 1024;
    if (kilobytes < 1024) return kilobytes.toLocaleString(undefined, { maximumFractionDigits: 1 }) + " KB";
    return (kilobytes / 1024).toLocaleString(undefined, { maximumFractionDigits: 1 }) + " MB";
  }

  function chosenLogType() {
    const label = logType.value ? logType.options[logType.selectedIndex].text : "detected from the fields";
    return { value: logType.value, label: label };
  }

  function showLogType(item, chosen) {
    item.querySelector(".log-type").textContent = "Log type: " + chosen.label;
  }

  function setState(item, text, kind) {
    const state = item.querySelector(".state");
    state.textContent = text;
    if (kind) item.classList.add(kind);
  }

  function link(text, href) {
    const anchor = document.createElement("a");
    anchor.href = href;
    anchor.textContent = text;
    return anchor;
  }

  function addItem(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".name").textContent = file.name;
    item.querySelector(".size").textContent = formatSize(file.size);
    item.querySelector(".upload-bar").setAttribute("aria-label", "Upload of " + file.name);
    item.querySelector(".job-bar").setAttribute("aria-label", "Indexing of " + file.name);
    item.dataset.status = "waiting";
    showLogType(item, chosenLogType());
    heading.hidden = false;
    list.prepend(item);
    return item;
  }

  function jobLine(job) {
    const counts = job.counts;
    let text = (LABELS[job.status] || job.status) + " · " + job.progress + "% · " +
      counts.indexed.toLocaleString() + " of " + counts.total_lines.toLocaleString() + " lines indexed";
    if (counts.dead_lettered) text += " · " + counts.dead_lettered.toLocaleString() + " rejected";
    if (counts.fallback) text += " · " + counts.fallback.toLocaleString() + " set aside";
    if (job.status === "failed" && job.reason) text += " · " + job.reason;
    return text;
  }

  function setBar(bar, percent) {
    bar.value = percent;
    bar.setAttribute("aria-valuenow", String(percent));
  }

  function follow(item, statusUrl, pageUrl) {
    const bar = item.querySelector(".job-bar");
    bar.parentElement.hidden = false;
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((job) => {
        setBar(bar, job.progress);
        const state = item.querySelector(".state");
        state.textContent = jobLine(job) + " · ";
        state.append(link("Open job", pageUrl));
        item.dataset.status = job.status;
        if (FINISHED.includes(job.status)) {
          bar.classList.add(job.status === "failed" ? "failed" : "done");
        } else {
          setTimeout(() => follow(item, statusUrl, pageUrl), 1000);
        }
      })
      .catch(() => setTimeout(() => follow(item, statusUrl, pageUrl), 3000));
  }

  function refusal(xhr, answer) {
    const error = answer.error || "the server answered " + xhr.status;
    // The server names the extension; the page adds what the file can become.
    if (error.startsWith("File extension")) {
      return error + ". Accepted: " + form.dataset.accepted + ". Save a spreadsheet as CSV, or export the logs as NDJSON.";
    }
    return error;
  }

  function accepted(entry, data) {
    const item = entry.item;
    const bar = item.querySelector(".upload-bar");
    setBar(bar, 100);
    bar.classList.add("done");
    item.dataset.jobId = data.job_id;
    item.dataset.uploaded = "true";
    setState(item, "Uploaded · " + data.total_lines.toLocaleString() + " lines · queued");
    follow(item, data.status_url, "/jobs/" + data.job_id + "/");
  }

  // The same file was uploaded before and nothing was stored: the user chooses.
  function askAboutDuplicate(entry, earlier) {
    const item = entry.item;
    item.dataset.status = "duplicate";
    item.querySelector(".upload-bar").classList.add("done");
    const state = item.querySelector(".state");
    state.textContent = "You uploaded this file before: ";
    state.append(link("its job", "/jobs/" + earlier.job_id + "/"),
      ". Index it again? Its events would then be in the index twice.");
    const choices = document.createElement("div");
    choices.className = "actions duplicate-choices";
    const again = document.createElement("button");
    again.type = "button";
    again.className = "button";
    again.textContent = "Index again";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button secondary";
    cancel.textContent = "Cancel";
    choices.append(again, cancel);
    item.append(choices);
    again.addEventListener("click", () => {
      choices.remove();
      item.dataset.status = "waiting";
      setBar(item.querySelector(".upload-bar"), 0);
      item.querySelector(".upload-bar").classList.remove("done");
      setState(item, "Waiting…");
      waiting.unshift({ file: entry.file, item: item, onDuplicate: "index" });
      pump();
    });
    cancel.addEventListener("click", () => {
      choices.remove();
      item.dataset.status = "cancelled";
      state.textContent = "Cancelled: not uploaded again. The earlier upload: ";
      state.append(link("its job", "/jobs/" + earlier.job_id + "/"), ".");
    });
  }

  function send(entry) {
    const item = entry.item;
    const bar = item.querySelector(".upload-bar");
    const chosen = chosenLogType();
    showLogType(item, chosen);
    item.dataset.status = "uploading";
    const body = new FormData();
    body.append("file", entry.file);
    if (chosen.value) body.append("log_type", chosen.value);
    body.append("on_duplicate", entry.onDuplicate);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((100 * event.loaded) / event.total);
      setBar(bar, percent);
      setState(item, "Uploading · " + percent + "% of " + formatSize(entry.file.size));
    });
    xhr.addEventListener("loadend", () => {
      sending -= 1;
      pump();
    });
    xhr.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = {}; }
      if (xhr.status === 201) {
        accepted(entry, answer.data);
      } else if (xhr.status === 200 && answer.data && answer.data.duplicate_of) {
        askAboutDuplicate(entry, answer.data);
      } else {
        bar.classList.add("failed");
        item.dataset.status = "refused";
        setState(item, "Refused: " + refusal(xhr, answer), "refused");
      }
    });
    xhr.addEventListener("error", () => {
      bar.classList.add("failed");
      item.dataset.status = "refused";
      setState(item, "The upload was interrupted (network error). Try again.", "refused");
    });
    sending += 1;
    xhr.send(body);
  }

  function pump() {
    while (sending < PARALLEL && waiting.length) send(waiting.shift());
  }

  function uploadAll(files) {
    Array.from(files).forEach((file) => waiting.push({ file: file, item: addItem(file), onDuplicate: "skip" }));
    pump();
  }

  logType.addEventListener("change", () => {
    const chosen = chosenLogType();
    waiting.forEach((entry) => showLogType(entry.item, chosen));
  });
  input.addEventListener("change", () => {
    uploadAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((name) =>
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    })
  );
  ["dragleave", "drop"].forEach((name) =>
    dropzone.addEventListener(name, () => dropzone.classList.remove("dragging"))
  );
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    uploadAll(event.dataTransfer.files);
  });
})();

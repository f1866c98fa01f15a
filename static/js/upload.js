// Upload page: each chosen or dropped file travels in its own XHR (real byte progress), then its job
// is followed through the job API until it finishes. Refused files show the server's own sentence.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const heading = document.getElementById("uploads-heading");
  const template = document.getElementById("upload-item");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const FINISHED = ["completed", "completed_with_errors", "failed"];
  const LABELS = {
    pending: "Queued",
    processing: "Processing",
    completed: "Completed",
    completed_with_errors: "Completed with rejected rows",
    failed: "Failed",
  };

  function megabytes(bytes) {
    return (bytes / 1048576).toLocaleString(undefined, { maximumFractionDigits: 1 }) + " MB";
  }

  function setState(item, text, kind) {
    const state = item.querySelector(".state");
    state.textContent = text;
    if (kind) item.classList.add(kind);
  }

  function addItem(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".name").textContent = file.name;
    item.querySelector(".size").textContent = megabytes(file.size);
    item.querySelector(".upload-bar").setAttribute("aria-label", "Upload of " + file.name);
    item.querySelector(".job-bar").setAttribute("aria-label", "Indexing of " + file.name);
    heading.hidden = false;
    list.prepend(item);
    return item;
  }

  function jobLine(job) {
    const counts = job.counts;
    let text = (LABELS[job.status] || job.status) + " · " + job.progress + "% · " +
      counts.indexed.toLocaleString() + " of " + counts.total_lines.toLocaleString() + " lines indexed";
    if (counts.dead_lettered) text += " · " + counts.dead_lettered.toLocaleString() + " rejected";
    if (counts.fallback) text += " · " + counts.fallback.toLocaleString() + " in fallback";
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
        const link = document.createElement("a");
        link.href = pageUrl;
        link.textContent = "Open job";
        state.append(link);
        item.dataset.status = job.status;
        if (FINISHED.includes(job.status)) {
          bar.classList.add(job.status === "failed" ? "failed" : "done");
        } else {
          setTimeout(() => follow(item, statusUrl, pageUrl), 1000);
        }
      })
      .catch(() => setTimeout(() => follow(item, statusUrl, pageUrl), 3000));
  }

  function upload(file) {
    const item = addItem(file);
    const bar = item.querySelector(".upload-bar");
    const body = new FormData();
    body.append("file", file);
    const logType = form.elements.log_type.value;
    if (logType) body.append("log_type", logType);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((100 * event.loaded) / event.total);
      setBar(bar, percent);
      setState(item, "Uploading · " + percent + "% of " + megabytes(file.size));
    });
    xhr.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = {}; }
      if (xhr.status === 201) {
        const data = answer.data;
        setBar(bar, 100);
        bar.classList.add("done");
        item.dataset.jobId = data.job_id;
        item.dataset.uploaded = "true";
        setState(item, "Uploaded · " + data.total_lines.toLocaleString() + " lines · queued");
        if (data.duplicate_of) {
          const warning = document.createElement("div");
          warning.className = "warning";
          warning.textContent = "The same file was uploaded before (job " + data.duplicate_of +
            "); its events are now indexed twice.";
          item.append(warning);
        }
        follow(item, data.status_url, "/jobs/" + data.job_id + "/");
      } else {
        bar.classList.add("failed");
        item.dataset.status = "refused";
        setState(item, "Refused: " + (answer.error || "the server answered " + xhr.status), "refused");
      }
    });
    xhr.addEventListener("error", () => {
      bar.classList.add("failed");
      item.dataset.status = "refused";
      setState(item, "The upload was interrupted (network error). Try again.", "refused");
    });
    xhr.send(body);
  }

  function uploadAll(files) {
    Array.from(files).forEach(upload);
  }

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

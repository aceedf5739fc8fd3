// IntrinsiX demo page: the form, the job's live events (Server-Sent Events), the result (maps,
// relit render, 3D preview, files, zip) and the token's job history. Talks only to the demo
// process that served it (web.py); that process is the gRPC client of the IntrinsiX server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SIZE_CHOICES = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048];
  const PROFILE_LABELS = { unreal: "Unreal Engine 5", godot: "Godot 4", gltf: "glTF 2.0", unity: "Unity", raw: "RAW (float EXR)" };
  const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED"]);

  let currentJob = null;   // job id shown in the progress panel
  let currentResult = null;
  let events = null;       // EventSource of currentJob
  const viewer = new window.MaterialViewer($("viewer"), $("viewer-note"));

  function setState(state) { document.body.dataset.state = state; }

  function showMessage(text) {
    $("message").hidden = !text;
    $("message").textContent = text || "";
  }

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch(path, options);
    const payload = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
    return payload;
  }

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // ---- server info and form defaults ------------------------------------------------------------
  async function loadInfo() {
    try {
      const info = await api("/api/info");
      const model = info.model || {};
      $("server-status").textContent =
        `${info.server} · server ${info.version} · ${model.name || "no model"} on ${info.devices.join(", ") || "-"}` +
        ` · ${info.ready ? "ready" : "loading the model"} · ${info.running} running, ${info.queued} queued`;
      $("server-status").classList.toggle("bad", !info.ready);
      const lim = info.limits;
      const size = $("size");
      size.innerHTML = "";
      const choices = SIZE_CHOICES.filter((s) => s >= lim.min_size && s <= lim.max_size && s % lim.size_multiple === 0);
      if (model.default_width && !choices.includes(model.default_width)) choices.push(model.default_width);
      choices.sort((a, b) => a - b).forEach((s) => size.add(new Option(`${s} × ${s}`, String(s))));
      size.value = String(model.default_width || choices[0]);
      $("steps").min = lim.min_steps;
      $("steps").max = lim.max_steps;
      $("steps").placeholder = String(model.default_steps || "");
      $("prompt").maxLength = lim.max_prompt_chars;
      const profile = $("profile");
      profile.innerHTML = "";
      info.profiles.forEach((p) => profile.add(new Option(PROFILE_LABELS[p] || p, p)));
      $("tileable").disabled = model.supports_tiling === false;
      return info;
    } catch (error) {
      $("server-status").textContent = `server unreachable: ${error.message}`;
      $("server-status").classList.add("bad");
      return null;
    }
  }

  // ---- generating ---------------------------------------------------------------------------------
  $("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage("");
    const steps = parseInt($("steps").value || $("steps").placeholder || "0", 10);
    const body = {
      prompt: $("prompt").value,
      seed: $("seed").value === "" ? null : $("seed").value,
      size: $("size").value,
      steps: $("steps").value === "" ? null : $("steps").value,
      profile: $("profile").value,
      tileable: $("tileable").checked,
      // About seven previews per job, whatever the step count.
      preview_every: steps > 0 ? Math.max(1, Math.ceil(steps / 7)) : 1,
    };
    $("generate").disabled = true;
    setProgress(0, "Sending the request…");
    setState("running");
    try {
      const { job_id } = await api("/api/generate", body);
      follow(job_id);
    } catch (error) {
      showMessage(error.message);
      setProgress(0, "The server refused the job.");
      setState("failed");
      $("generate").disabled = false;
    }
  });

  $("cancel").addEventListener("click", async () => {
    if (!currentJob) return;
    $("cancel").disabled = true;
    try {
      await api(`/api/jobs/${currentJob}/cancel`, {});
    } catch (error) {
      showMessage(error.message);
    }
  });

  function setProgress(fraction, text) {
    $("progress-bar").style.width = `${Math.round(fraction * 100)}%`;
    $("progress-text").textContent = text;
  }

  function follow(jobId) {
    if (events) events.close();
    currentJob = jobId;
    $("previews").hidden = true;
    $("cancel").disabled = false;
    $("generate").disabled = true;
    setState("running");
    markHistory();
    events = new EventSource(`/api/jobs/${jobId}/events`);
    const on = (kind, handler) => events.addEventListener(kind, (e) => handler(JSON.parse(e.data)));
    on("accepted", (a) => {
      const queue = a.queue_position ? `, ${a.queue_position} ahead in the queue` : "";
      setProgress(0, `Job ${a.job_id.slice(0, 8)} accepted (seed ${a.seed}${queue}).`);
      if (!a.reattached && $("seed").value === "") $("seed").placeholder = `random (last: ${a.seed})`;
      loadHistory();
    });
    on("progress", (p) => {
      const steps = p.total ? ` ${p.step}/${p.total}` : "";
      const queue = p.stage === "queued" ? ` (${p.queue_position} ahead)` : "";
      setProgress(p.overall, `${Math.round(p.overall * 100)}% · ${p.stage}${steps}${queue}`);
    });
    on("preview", (p) => {
      $("previews").hidden = false;
      for (const [branch, url] of Object.entries(p.images)) {
        const img = $(`preview-${branch}`);
        if (img) { img.src = url; img.title = `step ${p.step} of ${p.total}`; }
      }
    });
    on("file", (f) => {
      setProgress(1, `Receiving ${f.name} (${f.index + 1}/${f.count}, ${formatBytes(f.bytes)})`);
    });
    on("done", (result) => {
      events.close();
      setProgress(1, `Done: ${result.files.length} files, ${formatBytes(result.total_bytes)}.`);
      finishJob();
      showResult(result);
    });
    on("failed", (f) => {
      events.close();
      setProgress(0, `Job ${f.state.toLowerCase()}.`);
      showMessage(`${f.state}: ${f.message}`);
      finishJob();
      setState("failed");
    });
  }

  function finishJob() {
    $("cancel").disabled = true;
    $("generate").disabled = false;
    loadHistory();
  }

  // ---- the result -------------------------------------------------------------------------------
  function showResult(result) {
    currentResult = result;
    $("placeholder").hidden = true;
    $("result").hidden = false;
    $("material-name").textContent = result.material_name;
    $("result-meta").textContent =
      `“${result.prompt}” · seed ${result.seed} · ${result.width}×${result.height}` +
      `${result.tiling ? " · tileable" : ""} · ${PROFILE_LABELS[result.profile] || result.profile}`;

    const maps = $("maps");
    maps.innerHTML = "";
    for (const m of result.maps) {
      const figure = document.createElement("figure");
      figure.dataset.map = m.semantic;
      const img = document.createElement("img");
      img.src = m.url;
      img.alt = m.label;
      const caption = document.createElement("figcaption");
      caption.textContent = m.label;
      // "T_Name_ORM.png, channel G": the file on one line, the channel on the next.
      for (const part of m.source.split(", ")) {
        const line = document.createElement("small");
        line.textContent = part;
        line.title = m.source;
        caption.appendChild(line);
      }
      figure.append(img, caption);
      maps.appendChild(figure);
    }

    const rows = $("files").tBodies[0];
    rows.innerHTML = "";
    for (const f of result.files) {
      const row = rows.insertRow();
      cell(row, f.name);
      cell(row, f.semantic);
      cell(row, f.format);
      cell(row, f.color_space);
      cell(row, f.width ? `${f.width}×${f.height}×${f.channels}` : "");
      cell(row, [f.normal_convention, f.packing].filter(Boolean).join(" · "));
      cell(row, formatBytes(f.bytes), "num");
    }
    $("files-profile").textContent = `${PROFILE_LABELS[result.profile] || result.profile} profile, as an engine receives them`;
    $("download").href = result.zip_url;
    $("download").setAttribute("download", result.zip_name);

    const url = (s) => (result.maps.find((m) => m.semantic === s) || {}).url;
    viewer.setMaterial({ albedo: url("albedo"), roughness: url("roughness"), metallic: url("metallic"),
                         normal: url("normal") }, result.tiling);
    requestRender();
    setState("done");
  }

  // The render is computed on the server for each light position; at most one request is in
  // flight, and the latest slider position is rendered next.
  let renderBusy = false;
  let renderWanted = null;
  function lightValues() { return [Number($("lat").value), Number($("lon").value)]; }

  function requestRender() {
    const [lat, lon] = lightValues();
    $("lat-value").textContent = `${lat}°`;
    $("lon-value").textContent = `${lon}°`;
    viewer.setLight(lat, lon);
    if (!currentResult) return;
    renderWanted = { url: currentResult.render_url, lat, lon };
    if (!renderBusy) renderNext();
  }

  async function renderNext() {
    const wanted = renderWanted;
    renderWanted = null;
    if (!wanted) return;
    renderBusy = true;
    try {
      const response = await fetch(`${wanted.url}?lat=${wanted.lat}&lon=${wanted.lon}`);
      if (!response.ok) throw new Error((await response.json()).error);
      const blob = await response.blob();
      const img = $("render");
      const previous = img.src;
      await new Promise((resolve) => {
        img.onload = resolve;
        img.onerror = resolve;
        img.src = URL.createObjectURL(blob);
      });
      if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
      img.dataset.light = `${wanted.lat},${wanted.lon}`;
    } catch (error) {
      showMessage(`render: ${error.message}`);
    } finally {
      renderBusy = false;
      if (renderWanted) renderNext();
    }
  }

  $("lat").addEventListener("input", requestRender);
  $("lon").addEventListener("input", requestRender);
  $("shape").addEventListener("change", () => viewer.setShape($("shape").value));

  // ---- history ----------------------------------------------------------------------------------
  async function loadHistory() {
    let jobs;
    try {
      jobs = (await api("/api/history")).jobs;
    } catch (error) {
      showMessage(`history: ${error.message}`);
      return;
    }
    const body = $("history").tBodies[0];
    body.innerHTML = "";
    if (!jobs.length) {
      const row = body.insertRow();
      cell(row, "No jobs yet for this token.").colSpan = 2;
    }
    for (const job of jobs) {
      const row = body.insertRow();
      row.dataset.job = job.job_id;
      const state = cell(row, job.state, `state ${job.state}`);
      if (!TERMINAL.has(job.state)) state.textContent += ` ${Math.round(job.progress * 100)}%`;
      const what = cell(row, "");
      const prompt = document.createElement("span");
      prompt.className = "history-prompt";
      prompt.textContent = job.prompt || `(${job.kind})`;
      prompt.title = job.error || job.prompt;
      const when = job.created_at ? new Date(job.created_at).toLocaleTimeString() : "";
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${when} · ${job.profile} · ${job.size}`;
      const seed = document.createElement("span");
      seed.className = "meta history-seed";
      seed.textContent = `seed ${job.seed}`;
      what.append(prompt, meta, seed);
      if (job.kind === "generate" && (job.state === "SUCCEEDED" || !TERMINAL.has(job.state))) {
        row.classList.add("openable");
        row.title = "open this job";
        row.addEventListener("click", () => openJob(job.job_id));
      }
    }
    markHistory();
  }

  function markHistory() {
    for (const row of $("history").tBodies[0].rows) row.classList.toggle("current", row.dataset.job === currentJob);
  }

  async function openJob(jobId) {
    showMessage("");
    setProgress(0, `Opening job ${jobId.slice(0, 8)}…`);
    try {
      await api(`/api/jobs/${jobId}/open`, {});
      follow(jobId);
    } catch (error) {
      showMessage(error.message);
    }
  }

  $("refresh-history").addEventListener("click", () => { loadInfo(); loadHistory(); });

  loadInfo().then(() => loadHistory());
})();

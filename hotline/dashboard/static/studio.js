// The recording studio on /operator/studio: record a slot with the microphone (countdown, level
// meter, listen, re-take) or upload a file. The browser sends a plain WAV; the server converts it
// for the phone line (8 kHz mono, trimmed, one loudness) and answers with the slot's new state.
"use strict";

(function () {
  const studio = document.getElementById("studio");
  if (!studio) {
    return;
  }
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const panel = document.getElementById("recorder");
  const say = document.getElementById("rec-text");
  const slotName = document.getElementById("rec-slot");
  const countdown = document.getElementById("rec-countdown");
  const meter = document.getElementById("rec-level");
  const state = document.getElementById("rec-state");
  const preview = document.getElementById("rec-preview");
  const buttons = {
    start: document.getElementById("rec-start"),
    stop: document.getElementById("rec-stop"),
    retake: document.getElementById("rec-retake"),
    save: document.getElementById("rec-save"),
    cancel: document.getElementById("rec-cancel"),
  };
  let row = null;        // the <tr> of the slot being recorded
  let stream = null;
  let context = null;
  let recorder = null;
  let chunks = [];
  let wav = null;        // the take, as a WAV blob
  let frame = 0;

  function show(which) {
    Object.keys(buttons).forEach(function (name) {
      buttons[name].hidden = which.indexOf(name) < 0;
    });
  }

  function message(target, text, bad) {
    target.textContent = text;
    target.classList.toggle("bad", Boolean(bad));
  }

  function release() {
    cancelAnimationFrame(frame);
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
    }
    stream = null;
    meter.value = 0;
  }

  function open(tr) {
    row = tr;
    say.textContent = tr.dataset.text;
    slotName.textContent = tr.dataset.slot;
    countdown.textContent = "";
    preview.hidden = true;
    preview.removeAttribute("src");
    wav = null;
    message(state, "Press Record, wait for the countdown, then read the text.");
    show(["start", "cancel"]);
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
  }

  function level(analyser, data) {
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (let i = 0; i < data.length; i += 1) {
      sum += data[i] * data[i];
    }
    meter.value = Math.min(1, Math.sqrt(sum / data.length) * 4);
    frame = requestAnimationFrame(function () { level(analyser, data); });
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  async function start() {
    show(["cancel"]);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      message(state, "The browser gave no microphone (" + err.name + "). Allow the microphone for this page, or upload a file.", true);
      show(["start", "cancel"]);
      return;
    }
    context = context || new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    level(analyser, new Float32Array(analyser.fftSize));
    message(state, "Get ready. Watch the level: it should move when you speak.");
    for (let n = Number(studio.dataset.countdown || 3); n > 0; n -= 1) {
      countdown.textContent = String(n);
      await wait(1000);
    }
    countdown.textContent = "●";
    chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", function (e) { chunks.push(e.data); });
    recorder.addEventListener("stop", finish);
    recorder.start();
    message(state, "Recording… read the text, then press Stop.");
    show(["stop"]);
  }

  async function finish() {
    release();
    countdown.textContent = "";
    const taken = new Blob(chunks, { type: recorder.mimeType });
    try {
      const audio = await context.decodeAudioData(await taken.arrayBuffer());
      wav = toWav(audio);
    } catch (err) {
      message(state, "The browser could not read its own recording (" + err.name + "). Try again, or upload a file.", true);
      show(["start", "cancel"]);
      return;
    }
    preview.src = URL.createObjectURL(wav);
    preview.hidden = false;
    message(state, "Listen to it. Save it, or record it again.");
    show(["save", "retake", "cancel"]);
  }

  // 16-bit PCM WAV, one channel (the mean of the recorded ones), at the recording's rate.
  function toWav(audio) {
    const n = audio.length;
    const mono = new Float32Array(n);
    for (let c = 0; c < audio.numberOfChannels; c += 1) {
      const data = audio.getChannelData(c);
      for (let i = 0; i < n; i += 1) {
        mono[i] += data[i] / audio.numberOfChannels;
      }
    }
    const buffer = new ArrayBuffer(44 + n * 2);
    const view = new DataView(buffer);
    const text = function (offset, s) {
      for (let i = 0; i < s.length; i += 1) { view.setUint8(offset + i, s.charCodeAt(i)); }
    };
    text(0, "RIFF"); view.setUint32(4, 36 + n * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, audio.sampleRate, true); view.setUint32(28, audio.sampleRate * 2, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true);
    text(36, "data"); view.setUint32(40, n * 2, true);
    for (let i = 0; i < n; i += 1) {
      const s = Math.max(-1, Math.min(1, mono[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([buffer], { type: "audio/wav" });
  }

  async function send(tr, file, name, out) {
    const form = new FormData();
    form.append("file", file, name);
    form.append("text_sha", tr.dataset.sha);
    message(out, "Saving…");
    let resp;
    try {
      resp = await fetch(tr.dataset.save, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: form,
      });
    } catch (err) {
      message(out, "The server did not answer. Nothing was saved; try again.", true);
      return false;
    }
    if (resp.redirected) {
      window.location.assign(resp.url);
      return false;
    }
    let body = {};
    try {
      body = await resp.json();
    } catch (err) {
      body = { error: "The server answered HTTP " + resp.status + "." };
    }
    if (!resp.ok) {
      message(out, body.error || ("Refused (HTTP " + resp.status + ")."), true);
      return false;
    }
    update(tr, body);
    message(out, body.message || "Saved.");
    return true;
  }

  function update(tr, slot) {
    const badge = tr.querySelector(".audio");
    badge.className = "audio " + slot.status;
    badge.textContent = slot.status;
    const player = tr.querySelector("audio.now");
    if (player && slot.url) {
      player.src = slot.url;
    }
    tr.dataset.status = slot.status;
  }

  buttons.start.addEventListener("click", start);
  buttons.retake.addEventListener("click", function () { open(row); start(); });
  buttons.stop.addEventListener("click", function () {
    if (recorder && recorder.state === "recording") {
      recorder.stop();
    }
  });
  buttons.cancel.addEventListener("click", function () {
    if (recorder && recorder.state === "recording") {
      recorder.removeEventListener("stop", finish);
      recorder.stop();
    }
    release();
    panel.hidden = true;
  });
  buttons.save.addEventListener("click", async function () {
    show([]);
    if (await send(row, wav, row.dataset.slot + ".wav", state)) {
      panel.hidden = true;
      message(row.querySelector(".result"), "Saved: the next call plays this recording.");
    } else {
      show(["save", "retake", "cancel"]);
    }
  });
  studio.querySelectorAll("button.record").forEach(function (b) {
    b.addEventListener("click", function () { open(b.closest("tr")); });
  });
  studio.querySelectorAll("input.upload").forEach(function (input) {
    input.addEventListener("change", async function () {
      const tr = input.closest("tr");
      if (input.files.length) {
        await send(tr, input.files[0], input.files[0].name, tr.querySelector(".result"));
      }
      input.value = "";
    });
  });
}());

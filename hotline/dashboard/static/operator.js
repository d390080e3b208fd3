// The browser phone on /operator/phone. The server answers each step with the voice channel's
// step functions (what the webhooks run) and keeps the call's URLs; this page only sends keys and shows what the caller hears.
"use strict";

(function () {
  const phone = document.getElementById("phone");
  if (!phone) {
    return;
  }
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("status");
  const typed = document.getElementById("typed");
  const transcript = document.getElementById("transcript");
  const buttons = phone.querySelectorAll("button");
  let wanted = 1;      // how many keys the waiting menu collects before it answers
  let buffer = "";
  let queue = [];      // audio elements still to play, in order

  function line(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    transcript.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  let current = null;   // the one audio element allowed to play: a phone says one thing at a time

  function silence() {
    queue = [];
    transcript.querySelectorAll("audio").forEach(function (audio) {
      if (!audio.paused) {
        audio.pause();
      }
    });
    current = null;
  }

  function playNext() {
    const next = queue.shift();
    current = next || null;
    if (next) {
      next.addEventListener("ended", function () {
        if (current === next) {
          playNext();
        }
      }, { once: true });
      next.play().catch(function () {
        if (current === next) {
          playNext();  // autoplay refused or no sound: the text is on screen anyway
        }
      });
    }
  }

  // Playing a prompt by hand (its controls) stops whatever else was playing.
  transcript.addEventListener("play", function (event) {
    if (event.target !== current) {
      const chosen = event.target;
      queue = [];
      transcript.querySelectorAll("audio").forEach(function (audio) {
        if (audio !== chosen && !audio.paused) {
          audio.pause();
        }
      });
      current = chosen;
    }
  }, true);

  function show(turn) {
    if (turn.note) {
      line("note", turn.note);
    }
    if (!turn.said) {
      return;
    }
    silence();
    turn.said.forEach(function (item) {
      const li = line("said", item.text);
      if (item.audio) {
        const audio = document.createElement("audio");
        audio.controls = true;
        audio.preload = "none";
        audio.src = item.audio;
        li.appendChild(audio);
        queue.push(audio);
      }
    });
    wanted = turn.digits || 1;
    if (turn.hung_up) {
      status.textContent = "The hotline hung up.";
    } else if (turn.gather) {
      status.textContent = wanted > 1 ? "Waiting for " + wanted + " keys." : "Waiting for a key.";
    } else {
      status.textContent = "Not waiting for keys.";
    }
    playNext();
  }

  async function step(body) {
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      const resp = await fetch(phone.dataset.step, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      if (resp.redirected) {
        window.location.assign(resp.url);  // the session ended: back to the login page
        return;
      }
      if (resp.status === 400 || resp.status === 403) {
        line("note", "This page is out of date. Reload it.");
        return;
      }
      show(await resp.json());
    } catch (err) {
      line("note", "The server could not be reached.");
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  function press(key) {
    silence();
    buffer += key;
    typed.textContent = buffer;
    if (buffer.length >= wanted) {
      const keys = buffer;
      buffer = "";
      typed.textContent = "";
      line("pressed", "You pressed " + keys);
      step({ do: "press", keys: keys });
    }
  }

  phone.querySelectorAll("button.key").forEach(function (button) {
    button.addEventListener("click", function () { press(button.dataset.key); });
  });
  document.getElementById("silence").addEventListener("click", function () {
    buffer = "";
    typed.textContent = "";
    line("pressed", "(silence)");
    step({ do: "silence" });
  });
  function newCall() {
    silence();
    buffer = "";
    typed.textContent = "";
    transcript.textContent = "";
    status.textContent = "Calling…";
    step({ do: "new" });
  }

  document.getElementById("new-call").addEventListener("click", newCall);
  document.addEventListener("keydown", function (event) {
    if (/^[0-9*#]$/.test(event.key) && !event.repeat && !buttons[0].disabled) {
      press(event.key);
    }
  });
  newCall();
}());

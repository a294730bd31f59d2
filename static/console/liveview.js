// The live view of a check (or a training/installation view) over WHEP, started as
// soon as the page loads: one POST of the SDP offer to the gateway with the grant as
// bearer token. The gateway cuts the stream at the grant's end; the countdown here is
// only for the operator's eyes. The server decides whether "seen" may be recorded (it
// knows from the gateway whether frames reached this browser); the buttons here are
// enabled at the same moment only to spare the operator a refusal.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live) return;
  const video = document.getElementById("live-video");
  const status = document.getElementById("live-status");
  const countdown = document.getElementById("countdown");
  const texts = JSON.parse(document.getElementById("live-texts").textContent);
  // TURN servers with credentials that end with the grant (docs/NETWORKS.md); empty: direct only.
  const iceElement = document.getElementById("live-ice-servers");
  const iceParsed = iceElement ? JSON.parse(iceElement.textContent) : [];
  const iceServers = Array.isArray(iceParsed) ? iceParsed : [];
  const maxView = parseInt(live.dataset.maxView, 10) || 30;
  const minView = parseInt(live.dataset.minView, 10) || 0;
  const outcomes = document.getElementById("outcomes");
  const pictureButtons = outcomes ? outcomes.querySelectorAll("[value=seen_ok], [value=not_visible]") : [];
  let pc = null;
  let sessionUrl = null;
  let timer = null;
  let firstFrameAt = null;
  let qualityTimer = null;
  let relayGathered = false; // a TURN relay candidate was found: the relay server answered
  let watchdog = null;
  let gatewayLost = false; // the gateway serving this view stopped answering (killed, its host down)
  // No network path (ICE not connected) this long after the answer: say so rather than spin
  // (ICE through a relay that does not answer can take longer to fail). With a path but no
  // picture yet (a camera with long keyframe intervals), wait as long as the gateway does.
  const CONNECT_WATCHDOG_MS = 8000;
  const FIRST_FRAME_WATCHDOG_MS = 15000;

  function setStatus(state, message) {
    live.dataset.state = state;
    status.textContent = message;
  }

  // The offer carries the browser's candidates (no trickle). Without ICE servers they are
  // host candidates, found for every interface within a few milliseconds of the first;
  // "complete" comes only later (Chromium: ~130 ms), so waiting for it would delay every
  // picture. With ICE servers (TURN) the first relay candidate is waited for, as the only
  // way through a network that lets no UDP out; an unreachable relay server costs 1 s.
  const HOST_CANDIDATES_SETTLE_MS = 30;

  function waitForIce(peer, hostOnly) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      let settling = null;
      peer.addEventListener("icegatheringstatechange", () => { if (peer.iceGatheringState === "complete") resolve(); });
      peer.addEventListener("icecandidate", (event) => {
        if (!event.candidate || settling !== null) return;
        if (hostOnly || event.candidate.type === "relay") settling = setTimeout(resolve, HOST_CANDIDATES_SETTLE_MS);
      });
      setTimeout(resolve, 1000); // never hang the operator
    });
  }

  // Why a view that never showed a picture failed, in the operator's words.
  function notConnectedText() {
    return iceServers.length > 0 && !relayGathered ? texts.relay_unreachable : texts.connection_lost;
  }

  // The end of a view: tell the gateway first (DELETE), then close our side, so the
  // gateway reports an explicit end and frees the check at once.
  function stop(state, message) {
    if (timer) { clearInterval(timer); timer = null; }
    if (watchdog) { clearTimeout(watchdog); watchdog = null; }
    if (qualityTimer) { clearInterval(qualityTimer); qualityTimer = null; }
    showQuality("main");
    countdown.textContent = "";
    if (sessionUrl) {
      fetch(sessionUrl, { method: "DELETE", keepalive: true, headers: { Authorization: "Bearer " + live.dataset.token } }).catch(() => {});
      sessionUrl = null;
    }
    if (pc) { pc.close(); pc = null; }
    video.srcObject = null;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    offerReopen();
    if (live.dataset.state === "ended" || live.dataset.state === "refused") return;
    setStatus(state || "ended", message || (outcomes ? texts.ended_choose : texts.ended));
  }

  // The check page's "open again" (the same operator may, at once), shown when the view
  // ends. After a lost gateway it names that gateway: the control plane asks it and, if it
  // does not answer, sends the new view to another gateway of the camera's site.
  function offerReopen() {
    const form = document.getElementById("reopen-form");
    if (!form || !outcomes) return;
    const lost = document.getElementById("lost-gateway");
    if (lost && gatewayLost) lost.value = live.dataset.gatewayId || "";
    form.hidden = false;
    form.querySelectorAll("button").forEach((button) => { button.disabled = false; });
  }

  // The gateway is gone (connection refused, or a proxy in front answering 502-504): the
  // picture cannot come back on this connection, so say so at once rather than wait for
  // the browser to give the connection up (ICE consent: 7 s and more).
  function loseGateway() {
    if (gatewayLost) return;
    gatewayLost = true;
    stop("ended", texts.gateway_lost);
    live.dataset.gatewayLostAt = String(Date.now()); // read by benchmarks/failover.py
  }

  function refusalText(code) {
    if (code === 401 || code === 403 || code === 409) return texts.grant_not_valid;
    if (code === 502 || code === 504) return texts.camera_unreachable;
    if (code === 400 || code === 406 || code === 415) return texts.browser_unsupported;
    return texts.gateway_unavailable;
  }

  // Which of the camera's streams the gateway sends (Picture-Quality on the WHEP session):
  // "sub" when the camera's link cannot carry the main one. The operator must know that
  // a coarse picture is the connection, not the room.
  const quality = document.getElementById("live-quality");
  function showQuality(value) {
    if (!quality) return;
    live.dataset.quality = value;
    quality.hidden = value !== "sub";
    quality.textContent = value === "sub" ? texts.low_quality : "";
  }
  // Also how a lost gateway is noticed: within this interval.
  const QUALITY_POLL_MS = 1000;
  function pollQuality() {
    if (!sessionUrl) return;
    const polled = sessionUrl;
    fetch(polled, { method: "GET" })
      .then((response) => {
        if (response.status >= 502 && response.status <= 504) { if (polled === sessionUrl) loseGateway(); return; }
        // Unknown session while this page still shows it: a standby behind the same proxy
        // answered for a gateway that died. A view the gateway ended fails this connection
        // within milliseconds, so only a view still "live" a second later is a lost one.
        if (response.status === 404) { setTimeout(() => { if (polled === sessionUrl && pc) loseGateway(); }, 1000); return; }
        const value = response.headers.get("Picture-Quality");
        if (value && pc) showQuality(value);
      })
      .catch(() => { if (polled === sessionUrl) loseGateway(); });
  }

  function onFirstFrame() {
    if (firstFrameAt !== null || !pc) return;
    firstFrameAt = Date.now();
    if (watchdog) { clearTimeout(watchdog); watchdog = null; }
    live.dataset.firstFrameAt = String(firstFrameAt); // read by benchmarks/operator_flow.py
    setStatus("live", texts.live);
    const endsAt = firstFrameAt + maxView * 1000;
    const tick = () => {
      const now = Date.now();
      const left = Math.max(0, Math.ceil((endsAt - now) / 1000));
      countdown.textContent = left + " s";
      if (now - firstFrameAt >= minView * 1000) pictureButtons.forEach((button) => { button.disabled = false; });
      if (left <= 0) stop();
    };
    tick();
    timer = setInterval(tick, 200);
    pollQuality();
    qualityTimer = setInterval(pollQuality, QUALITY_POLL_MS);
  }

  async function start() {
    live.dataset.startAt = String(Date.now()); // read by benchmarks/operator_flow.py
    setStatus("connecting", texts.connecting);
    pc = new RTCPeerConnection({ iceServers: iceServers });
    window.liveViewPeer = pc; // getStats() for the tests and benchmarks (which candidate pair carries the picture)
    pc.addEventListener("icecandidate", (event) => {
      if (event.candidate && event.candidate.type === "relay") relayGathered = true;
    });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] || new MediaStream([event.track]);
      video.play().catch(() => {}); // muted: autoplay is allowed
    };
    pc.oniceconnectionstatechange = () => {
      // Packets stopped: ask the gateway now whether it is still there.
      if (pc && pc.iceConnectionState === "disconnected") pollQuality();
    };
    pc.onconnectionstatechange = () => {
      if (!pc) return;
      // After the picture was shown, a failed connection is the gateway ending the view
      // (its time is up, or it was revoked): never reconnect, the grant is spent.
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        stop("ended", firstFrameAt === null ? notConnectedText() : null);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    live.dataset.gatherAt = String(Date.now());
    await waitForIce(pc, iceServers.length === 0);
    live.dataset.offerSentAt = String(Date.now()); // read by benchmarks/operator_flow.py
    let response;
    try {
      response = await fetch(live.dataset.gateway + "/whep", {
        method: "POST",
        headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + live.dataset.token },
        body: pc.localDescription.sdp,
      });
    } catch (error) {
      gatewayLost = true; // not even a refusal: the control plane checks it when the operator reopens
      stop("refused", texts.gateway_unavailable);
      return;
    }
    if (response.status !== 201) {
      stop("refused", refusalText(response.status));
      return;
    }
    live.dataset.answerAt = String(Date.now());
    const location = response.headers.get("Location");
    sessionUrl = location ? new URL(location, live.dataset.gateway).href : null;
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    watchdog = setTimeout(() => {
      if (firstFrameAt !== null || !pc) return;
      if (pc.iceConnectionState !== "connected" && pc.iceConnectionState !== "completed") {
        stop("ended", notConnectedText());
        return;
      }
      watchdog = setTimeout(() => {
        if (firstFrameAt === null) stop("ended", texts.connection_lost);
      }, FIRST_FRAME_WATCHDOG_MS - CONNECT_WATCHDOG_MS);
    }, CONNECT_WATCHDOG_MS);
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(onFirstFrame);
    else video.addEventListener("playing", onFirstFrame, { once: true });
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else live.requestFullscreen().catch(() => {});
  }
  const fullscreen = document.getElementById("fullscreen");
  if (fullscreen) fullscreen.addEventListener("click", toggleFullscreen);

  // One key per outcome (shown on each button), so a check is one key after the picture.
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "z") { event.preventDefault(); toggleFullscreen(); return; }
    const button = document.querySelector('button[data-key="' + key + '"]');
    if (!button || button.disabled) return;
    // Enter on another focused button (e.g. "open again") keeps its own meaning.
    if (key === "Enter" && target && target.tagName === "BUTTON" && target !== button) return;
    event.preventDefault();
    button.form.requestSubmit(button);
  });

  if (outcomes) {
    // The outcome leaves the page: the view ends with it (the server revokes the grant too).
    outcomes.addEventListener("submit", () => stop());
  }
  window.addEventListener("pagehide", () => stop());

  // A blurred view (the person's choice): one click with a reason shows the clear
  // picture for the rest of this view. Sent in the background: leaving the page would end the view.
  const clearForm = document.getElementById("clear-picture");
  if (clearForm) {
    clearForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(clearForm);
      if (event.submitter) body.set("reason", event.submitter.value);
      const shown = document.getElementById("clear-picture-shown");
      let answer = null;
      try {
        const response = await fetch(clearForm.action, { method: "POST", body, credentials: "same-origin" });
        answer = await response.json();
      } catch (error) {
        answer = null;
      }
      shown.hidden = false;
      if (answer && answer.clear) {
        clearForm.hidden = true;
        shown.textContent = answer.message;
        shown.dataset.state = "clear";
      } else {
        shown.textContent = (answer && answer.error) || texts.clear_picture_failed;
        shown.dataset.state = "refused";
      }
    });
  }

  if (live.dataset.token) start().catch(() => stop("refused", texts.gateway_unavailable));
})();

// Live view over WHEP: one POST of the SDP offer to the gateway with the grant as
// bearer token. The gateway cuts the stream at the grant's end; the countdown here
// is only for the operator's eyes.
(function () {
  "use strict";
  const live = document.getElementById("live");
  const button = document.getElementById("start-view");
  if (!live || !button) return;
  const video = document.getElementById("live-video");
  const status = document.getElementById("live-status");
  const countdown = document.getElementById("countdown");
  const texts = JSON.parse(document.getElementById("live-texts").textContent);
  const maxView = parseInt(live.dataset.maxView, 10) || 30;
  let pc = null;
  let sessionUrl = null;
  let timer = null;

  function waitForIce(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === "complete") resolve(); };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000); // loopback candidates arrive at once; never hang the operator
    });
  }

  function stop(message) {
    if (timer) clearInterval(timer);
    countdown.textContent = "";
    if (pc) { pc.close(); pc = null; }
    video.srcObject = null;
    if (sessionUrl) {
      fetch(sessionUrl, { method: "DELETE", headers: { Authorization: "Bearer " + live.dataset.token } }).catch(() => {});
      sessionUrl = null;
    }
    status.textContent = message || texts.ended;
    live.dataset.state = "ended";
  }

  function startCountdown() {
    const endsAt = Date.now() + maxView * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
      countdown.textContent = left + " s";
      if (left <= 0) stop();
    };
    tick();
    timer = setInterval(tick, 250);
  }

  async function start() {
    button.disabled = true;
    status.textContent = texts.connecting;
    live.dataset.state = "connecting";
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => { video.srcObject = event.streams[0] || new MediaStream([event.track]); };
    pc.onconnectionstatechange = () => {
      if (pc && (pc.connectionState === "failed" || pc.connectionState === "closed" || pc.connectionState === "disconnected")) stop();
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    const response = await fetch(live.dataset.gateway + "/whep", {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + live.dataset.token },
      body: pc.localDescription.sdp,
    });
    if (response.status !== 201) {
      let reason = response.status;
      try { reason = (await response.json()).error || reason; } catch (e) { /* not JSON */ }
      stop(texts.refused + " " + reason);
      live.dataset.state = "refused";
      return;
    }
    const location = response.headers.get("Location");
    sessionUrl = location ? new URL(location, live.dataset.gateway).href : null;
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    const onFirstFrame = () => {
      live.dataset.state = "live";
      status.textContent = texts.live;
      startCountdown();
    };
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(onFirstFrame);
    else video.addEventListener("playing", onFirstFrame, { once: true });
  }

  button.addEventListener("click", () => { start().catch((error) => stop(texts.refused + " " + error)); });
  window.addEventListener("pagehide", () => stop());
})();

"""JavaScript run inside the page by the end-to-end tests."""

# A WHEP viewer that ignores every countdown: it never closes by itself, so a test
# can prove that the gateway cuts the stream whatever the browser does.
STUBBORN_VIEWER = """
async ([token, gateway]) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
    setTimeout(resolve, 2000);
  });
  const response = await fetch(gateway + "/whep", {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + token },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) return { status: response.status, body: await response.text() };
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  window.__probe = { pc, video, frames: 0, lastFrameAt: 0 };
  const count = () => {
    window.__probe.frames++;
    window.__probe.lastFrameAt = performance.now();
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  return { status: 201, sdp: pc.remoteDescription.sdp };
}
"""

PROBE_FRAMES = "() => window.__probe ? window.__probe.frames : -1"
PROBE_IDLE_MS = "() => window.__probe ? performance.now() - window.__probe.lastFrameAt : -1"

# Two snapshots of the live <video>, half a second apart: mean brightness and how many
# sampled pixels changed. A frozen or black picture would fail the test.
VIDEO_PIXELS = """
async (selector) => {
  const video = document.querySelector(selector);
  const canvas = document.createElement("canvas");
  canvas.width = 160; canvas.height = 90;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const grab = () => { context.drawImage(video, 0, 0, 160, 90); return context.getImageData(0, 0, 160, 90).data; };
  const first = grab();
  await new Promise((resolve) => setTimeout(resolve, 700));
  const second = grab();
  let changed = 0, brightness = 0;
  for (let i = 0; i < first.length; i += 4) {
    brightness += second[i];
    if (Math.abs(first[i] - second[i]) > 3) changed++;
  }
  const meanBrightness = brightness / (first.length / 4);
  return { changed, meanBrightness, width: video.videoWidth, height: video.videoHeight };
}
"""

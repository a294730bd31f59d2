// The independent WHEP player the gateway is tested against: Eyevinn's
// @eyevinn/webrtc-player, bundled as it is, exposed as window.WhepPlayer.
import { WebRTCPlayer } from "@eyevinn/webrtc-player";

window.WhepPlayer = { WebRTCPlayer };

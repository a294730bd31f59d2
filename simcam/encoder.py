"""One always-running H.264 encoder per camera, fanned out to its RTSP viewers.

With the usual setup (the encoder inside a shared RTSP media) every viewer
gets a keyframe at once: the first one because the media and its encoder
start for it, every later one because the server answers PLAY with a
flushing seek on the media, which resets x264enc, so it starts with an IDR
(measured with GStreamer 1.22: keyframe as first packet on every join).
A real camera encodes all the time and knows nothing of its viewers. Here the
encoder lives in its own pipeline, and each RTSP media only gets copies of the
encoded access units through an appsrc: seeks and other upstream events end
at that appsrc, and a viewer joins wherever the group of pictures happens to be.
"""

from __future__ import annotations

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from .camera import StreamFormat  # noqa: E402

# scenecut=0: keyframes only at the fixed interval, like cameras with a fixed
# GOP; a scenario change must not hand out a free keyframe either.
# Rate control is constant quality capped at `bitrate` (in this mode x264enc
# uses the bitrate property as the VBV maximum), the "VBR with a ceiling" of
# IP cameras. Unlike CBR it stops spending bits on a picture that does not
# change, so the pictures of a frozen camera soon decode identically.
CONSTANT_QUALITY = 25  # x264 CRF; lower is better. Night grain is lost to the cap anyway.
ENCODER_PIPELINE = (
    "appsrc name=raw is-live=true format=time do-timestamp=false block=false"
    " max-buffers=2 leaky-type=downstream"
    " ! {scale}x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={keyint}"
    " pass=qual quantizer={quality} bitrate={bitrate} vbv-buf-capacity=1000 option-string=scenecut=0"
    " ! video/x-h264,profile=baseline,stream-format=avc,alignment=au"
    " ! appsink name=encoded emit-signals=true sync=false max-buffers=8 drop=true"
)


class LiveEncoder:
    def __init__(self, camera_name: str, stream_format: StreamFormat, encoded: StreamFormat | None = None) -> None:
        """``encoded``: a smaller size to scale the camera's frames to (its sub stream)."""
        self.camera_name = camera_name
        self.format = stream_format
        out = encoded or stream_format
        scale = f"videoscale ! video/x-raw,width={out.width},height={out.height} ! " if encoded else ""
        self._pipeline = Gst.parse_launch(
            ENCODER_PIPELINE.format(
                scale=scale, keyint=out.keyint_frames, bitrate=out.bitrate_kbps, quality=CONSTANT_QUALITY
            )
        )
        self.companions: list[LiveEncoder] = []  # encoders fed the same frames (the sub stream)
        self._raw_input = self._pipeline.get_by_name("raw")
        self._raw_input.set_property(
            "caps",
            Gst.Caps.from_string(
                f"video/x-raw,format=I420,width={stream_format.width},height={stream_format.height},"
                f"framerate={stream_format.fps}/1,pixel-aspect-ratio=1/1,interlace-mode=progressive"
            ),
        )
        self._pipeline.get_by_name("encoded").connect("new-sample", self._on_encoded)
        self._frames_pushed = 0
        self._outputs_lock = threading.Lock()
        self._outputs: list[Gst.Element] = []
        self._caps: Gst.Caps | None = None
        self._first_output = threading.Event()

    @property
    def caps(self) -> Gst.Caps:
        """Caps of the encoded stream, including SPS/PPS (codec_data) for the SDP."""
        if self._caps is None:
            raise RuntimeError(f"encoder of {self.camera_name} has not produced anything yet")
        return self._caps

    def start(self) -> None:
        bus = self._pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        if self._pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError(f"cannot start the encoder of {self.camera_name}")

    def wait_until_encoding(self, timeout_s: float) -> bool:
        return self._first_output.wait(timeout_s)

    def stop(self) -> None:
        self._pipeline.set_state(Gst.State.NULL)
        self._pipeline.get_bus().remove_signal_watch()

    def push_raw_frame(self, frame: bytes) -> None:
        buffer = Gst.Buffer.new_wrapped(frame)
        buffer.pts = self._frames_pushed * self.format.frame_duration_ns
        buffer.duration = self.format.frame_duration_ns
        self._frames_pushed += 1
        self._raw_input.emit("push-buffer", buffer)
        for companion in self.companions:
            companion.push_raw_frame(frame)

    def add_output(self, appsrc: Gst.Element) -> None:
        appsrc.set_property("caps", self.caps)
        with self._outputs_lock:
            self._outputs.append(appsrc)

    def remove_output(self, appsrc: Gst.Element) -> None:
        with self._outputs_lock:
            if appsrc in self._outputs:
                self._outputs.remove(appsrc)

    def _on_encoded(self, appsink: Gst.Element) -> Gst.FlowReturn:
        sample = appsink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        if self._caps is None:
            self._caps = sample.get_caps()
            self._first_output.set()
        encoded = sample.get_buffer()
        with self._outputs_lock:
            outputs = list(self._outputs)
        for appsrc in outputs:
            # Shallow copy: shares the encoded bytes. The viewer's pipeline has its
            # own clock base, so its appsrc (do-timestamp) stamps the copy itself.
            copy = encoded.copy()
            copy.pts = Gst.CLOCK_TIME_NONE
            copy.dts = Gst.CLOCK_TIME_NONE
            appsrc.emit("push-buffer", copy)
        return Gst.FlowReturn.OK

    def _on_error(self, _bus: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        print(f"simcam: encoder {self.camera_name}: {error.message} ({debug})", file=sys.stderr, flush=True)

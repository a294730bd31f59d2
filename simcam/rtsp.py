"""The RTSP side: one mount per camera on Debian's GStreamer RTSP server."""

from __future__ import annotations

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GstRtsp, GstRtspServer  # noqa: E402

from .camera import SimulatedCamera  # noqa: E402
from .encoder import LiveEncoder  # noqa: E402

# The media only packetizes what the camera's encoder already made. The appsrc
# is the upstream end of this pipeline, so the seek the server sends on every
# PLAY (or any keyframe request) ends here instead of resetting the encoder.
# Its queue is short and drops the oldest, so a stalled viewer cannot make the
# process grow.
MEDIA_PIPELINE = (
    "( appsrc name=encoded is-live=true format=time do-timestamp=true"
    " max-buffers=30 leaky-type=downstream"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
VIEWER_ROLE = "viewer"
SESSION_CLEANUP_INTERVAL_S = 2


class RtspFrontend:
    def __init__(
        self,
        bind: str,
        port: int,
        credentials: tuple[str, str] | None,
        cameras: dict[str, tuple[SimulatedCamera, LiveEncoder]],
    ) -> None:
        self._cameras = cameras
        self._server = GstRtspServer.RTSPServer()
        self._server.set_address(bind)
        self._server.set_service(str(port))
        self._viewers: dict[str, set[GstRtspServer.RTSPClient]] = {name: set() for name in cameras}
        permissions = self._install_auth(credentials) if credentials else None
        mounts = self._server.get_mount_points()
        for name, (_camera, encoder) in cameras.items():
            mounts.add_factory(f"/{name}", self._make_factory(encoder, permissions))
        self._server.connect("client-connected", self._on_client_connected)

    def _install_auth(self, credentials: tuple[str, str]) -> GstRtspServer.RTSPPermissions:
        user, password = credentials
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", VIEWER_ROLE)
        # Digest, as IP cameras default to. (Basic and digest together would need
        # the flags value 3, which PyGObject refuses for this enum type.)
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        self._server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(VIEWER_ROLE, "media.factory.access", True)
        permissions.add_permission_for_role(VIEWER_ROLE, "media.factory.construct", True)
        return permissions

    def _make_factory(
        self, encoder: LiveEncoder, permissions: GstRtspServer.RTSPPermissions | None
    ) -> GstRtspServer.RTSPMediaFactory:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(MEDIA_PIPELINE)
        # One media per camera for all viewers, as a camera has one encoder.
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        factory.connect("media-configure", self._on_media_configure, encoder)
        return factory

    def start(self) -> int:
        """Start serving on the default main context; returns the bound port."""
        if self._server.attach(None) == 0:
            raise OSError(f"cannot listen for RTSP on {self._server.get_address()}:{self._server.get_service()}")
        GLib.timeout_add_seconds(SESSION_CLEANUP_INTERVAL_S, self._cleanup_sessions)
        return self._server.get_bound_port()

    def cut_viewers(self, camera_name: str) -> None:
        """Drop every viewer of a camera, like a camera losing power. Thread-safe."""
        GLib.idle_add(self._close_viewers, camera_name)

    def _close_viewers(self, camera_name: str) -> bool:
        for client in list(self._viewers[camera_name]):
            client.close()
        self._viewers[camera_name].clear()
        return GLib.SOURCE_REMOVE

    def _cleanup_sessions(self) -> bool:
        # Viewers that vanish without TEARDOWN (e.g. UDP) are only removed here.
        self._server.get_session_pool().cleanup()
        return GLib.SOURCE_CONTINUE

    def _on_media_configure(
        self, _factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia, encoder: LiveEncoder
    ) -> None:
        appsrc = media.get_element().get_by_name("encoded")
        encoder.add_output(appsrc)
        media.connect("unprepared", lambda _media: encoder.remove_output(appsrc))

    def _on_client_connected(self, _server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> None:
        client.connect("pre-describe-request", self._check_reachable)
        client.connect("pre-setup-request", self._admit_viewer)
        client.connect("pre-play-request", self._check_reachable)
        client.connect("closed", self._forget_client)

    def _camera_of(self, context: GstRtspServer.RTSPContext) -> str | None:
        if context.uri is None or context.uri.abspath is None:
            return None
        name = context.uri.abspath.strip("/").split("/", 1)[0]
        return name if name in self._cameras else None

    def _check_reachable(
        self, _client: GstRtspServer.RTSPClient, context: GstRtspServer.RTSPContext
    ) -> GstRtsp.RTSPStatusCode:
        name = self._camera_of(context)
        if name is not None and not self._cameras[name][0].reachable:
            return GstRtsp.RTSPStatusCode.SERVICE_UNAVAILABLE
        return GstRtsp.RTSPStatusCode.OK

    def _admit_viewer(
        self, client: GstRtspServer.RTSPClient, context: GstRtspServer.RTSPContext
    ) -> GstRtsp.RTSPStatusCode:
        status = self._check_reachable(client, context)
        name = self._camera_of(context)
        if status == GstRtsp.RTSPStatusCode.OK and name is not None:
            self._viewers[name].add(client)
        return status

    def _forget_client(self, client: GstRtspServer.RTSPClient) -> None:
        for viewers in self._viewers.values():
            viewers.discard(client)

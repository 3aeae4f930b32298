#!/usr/bin/env python3
"""A real RTSP server on loopback for the live-camera tests: GStreamer's
gst-rtsp-server (Debian's gir1.2-gst-rtsp-server-1.0, through python3-gi)
streams a video file, decoded (gstreamer1.0-libav decodes vtest.avi's MPEG-4
part 2) and re-encoded as JPEG over RTP, paced in real time.

  rtsp_server.py VIDEO PORT [--path /cam] [--user U --password P]

With --user/--password clients must authenticate (HTTP Basic, as IP cameras
do). Prints "ready" once it listens; runs until killed.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("port", type=int)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--user")
    ap.add_argument("--password")
    a = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    video = a.video.replace('"', '\\"')
    factory.set_launch(
        f'( filesrc location="{video}" ! decodebin ! videoconvert ! '
        f'jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )')
    # One pipeline per client: a client that reconnects starts a new stream.
    factory.set_shared(False)
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ""), token)
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "camera-user, media.factory.access=(boolean)true, "
            "media.factory.construct=(boolean)true"))
    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""A camera stand-in for integration tests, built on GStreamer's gst-rtsp-server.

Every RTSP session gets its own live encoder pipeline (the factory is not shared): gst-rtsp-server's
shared media gets stuck when one client sets up video only and another video + audio. Each session
also joins the GOP at a random phase, like a real camera that has been running for a while: the
first --join-phase access units of a session are dropped before the payloader, so the client sees
P-frames until the next IDR (and no sequence-number gap, since dropping happens before RTP).

Prints exactly one line "READY <port>" on stdout once listening; logs go to stderr.
Exits with status 0 on SIGTERM / SIGINT.

Run it with Debian's /usr/bin/python3: python3-gi lives there.
"""

import argparse
import os
import random
import signal
import sys


def _exit_before_main_loop(_signum, _frame):
    sys.exit(0)


# Importing gi and initialising GStreamer takes a while: a SIGTERM in that window must still exit
# cleanly. GLib.unix_signal_add takes the signals over once the main loop runs.
signal.signal(signal.SIGTERM, _exit_before_main_loop)
signal.signal(signal.SIGINT, _exit_before_main_loop)

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

H264_PROFILES = {
    # x264's fast presets switch CABAC and the 8x8 transform off, which makes any stream
    # Constrained Baseline whatever the caps ask for: switch them back on explicitly.
    "baseline": ("constrained-baseline", "cabac=false dct8x8=false"),
    "main": ("main", "cabac=true dct8x8=false"),
    "high": ("high", "cabac=true dct8x8=true"),
}

# Audio like cameras send it: G.711 in 20 ms packets at 8 kHz mono, Opus 20 ms, AAC-hbr at 16 kHz mono.
AUDIO_BRANCHES = {
    "pcma": "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8",
    "pcmu": "audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0",
    "opus": "audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 ! rtpopuspay name=pay1 pt=111",
    "aac": "audio/x-raw,rate=16000,channels=1 ! avenc_aac ! rtpmp4gpay name=pay1 pt=97",
}
SAMPLES_PER_BUFFER = {"pcma": 160, "pcmu": 160, "opus": 960, "aac": 1024}


def log(message):
    print(f"[gst-rtsp-server] {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description="RTSP camera stand-in (gst-rtsp-server)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (see READY line)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--path", default="/stream")
    p.add_argument("--codec", choices=["h264", "h265"], default="h264")
    p.add_argument("--profile", choices=sorted(H264_PROFILES), default="main", help="H.264 only")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--keyint", type=int, default=50, help="GOP length in frames")
    p.add_argument("--bitrate", type=int, default=1000, help="kbit/s")
    p.add_argument("--slices", type=int, default=1, help="slices per frame")
    p.add_argument("--bframes", type=int, default=0, help="H.264 B-frames between references")
    p.add_argument("--audio", choices=["none", "pcma", "pcmu", "opus", "aac"], default="none")
    p.add_argument("--auth", choices=["none", "basic", "digest"], default="none")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="secret")
    p.add_argument("--realm", default="IP Camera")
    p.add_argument(
        "--sps-in-sdp-only",
        action="store_true",
        help="parameter sets only in the SDP sprop-*, never in-band",
    )
    p.add_argument("--big-nal", action="store_true", help="whole NAL units in one RTP packet (mtu 65000)")
    p.add_argument("--aggregate", action="store_true", help="parameter sets in STAP-A / AP packets")
    p.add_argument("--protocols", choices=["tcp", "udp", "both"], default="both")
    p.add_argument(
        "--join-phase",
        default="random",
        help="access units dropped at session start: 'random' (default: 0..keyint-1, "
        "or 1..keyint with --sps-in-sdp-only) or a number",
    )
    p.add_argument(
        "--quick-describe",
        action="store_true",
        help="drop the join-phase frames only after SETUP's flush, not while DESCRIBE waits for caps "
        "(a camera whose encoder is already running answers DESCRIBE at once)",
    )
    p.add_argument(
        "--exit-on-stdin-close",
        action="store_true",
        help="exit when stdin reaches end of file (the parent test runner died)",
    )
    p.add_argument(
        "--session-timeout",
        type=int,
        default=60,
        help="RTSP session timeout in seconds, announced in SETUP's Session header (gst-rtsp-server "
        "does not expire a session while its RTSP connection stays open, keepalive or not)",
    )
    args = p.parse_args(argv)
    if not args.path.startswith("/"):
        p.error("--path must start with /")
    if args.join_phase != "random":
        try:
            if int(args.join_phase) < 0:
                raise ValueError
        except ValueError:
            p.error("--join-phase must be 'random' or a non-negative integer")
        if args.sps_in_sdp_only and int(args.join_phase) == 0:
            p.error("--sps-in-sdp-only needs --join-phase >= 1 (the encoder's first frame has them in-band)")
    if args.bframes and args.codec != "h264":
        p.error("--bframes is for h264 only")
    return args


def video_branch(args):
    source = (
        f"videotestsrc is-live=true pattern=smpte horizontal-speed=4 ! "
        f"video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1 ! "
        f'timeoverlay font-desc="Sans 24" ! '
    )
    # In-band parameter sets: the parser inserts them once before every IDR access unit (the
    # payloaders' own config-interval=-1 would repeat them before every IDR slice). SDP-only: the
    # avc / hvc1 stream formats carry them in codec_data, whence the payloader's sprop-* come.
    parser_interval = 0 if args.sps_in_sdp_only else -1
    mtu = 65000 if args.big_nal else 1400
    aggregate = "zero-latency" if args.aggregate else "none"
    pay = f"name=pay0 pt=96 config-interval=0 mtu={mtu} aggregate-mode={aggregate}"
    if args.codec == "h264":
        caps_profile, switches = H264_PROFILES[args.profile]
        # threads=1: one slice per frame unless --slices says otherwise, on any machine (x264's
        # zerolatency tuning would slice by thread count). repeat-headers=0: SPS/PPS go only
        # to codec_data, never in-band.
        return source + (
            f"x264enc tune=zerolatency speed-preset=ultrafast threads=1 aud=false "
            f"key-int-max={args.keyint} bitrate={args.bitrate} bframes={args.bframes} {switches} "
            f"option-string=slices={args.slices}:repeat-headers=0 ! "
            f"video/x-h264,profile={caps_profile} ! h264parse config-interval={parser_interval} ! "
            f"video/x-h264,stream-format=avc,alignment=au ! rtph264pay {pay}"
        )
    # open-gop=0: keyframes are IDR pictures, as cameras send them, not CRA. x265enc always puts
    # VPS/SPS/PPS in front of its first frame: in SDP-only mode that frame is always dropped
    # (see join_phase).
    return source + (
        f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={args.keyint} "
        f"bitrate={args.bitrate} option-string=open-gop=0:slices={args.slices} ! "
        f"video/x-h265,profile=main ! h265parse config-interval={parser_interval} ! "
        f"video/x-h265,stream-format=hvc1,alignment=au ! rtph265pay {pay}"
    )


def audio_branch(args):
    if args.audio == "none":
        return ""
    return (
        f" audiotestsrc is-live=true wave=sine freq=440 volume=0.2 "
        f"samplesperbuffer={SAMPLES_PER_BUFFER[args.audio]} ! audioconvert ! audioresample ! "
        + AUDIO_BRANCHES[args.audio]
    )


def launch_line(args):
    return f"( {video_branch(args)}{audio_branch(args)} )"


def join_phase(args):
    # SDP-only: the encoder's first frame carries in-band parameter sets, so it is always dropped;
    # --join-phase KEYINT starts a session exactly at the second IDR.
    low = 1 if args.sps_in_sdp_only else 0
    if args.join_phase == "random":
        return random.randrange(low, args.keyint + low)
    return int(args.join_phase)


def drop_first(count, quick_describe=False):
    """A pad probe that drops the first `count` buffers (access units) after the start and after every
    flush (gst-rtsp-server flushes the pipeline on SETUP, which restarts the encoder at an IDR).
    quick_describe: nothing is dropped before the first flush, so that DESCRIBE, which waits for the
    payloader's caps, is answered at once instead of after `count` frames of a live source."""
    state = {"left": 0 if quick_describe else count}

    def probe(_pad, info):
        if info.type & Gst.PadProbeType.EVENT_FLUSH:
            if info.get_event().type == Gst.EventType.FLUSH_STOP:
                state["left"] = count
            return Gst.PadProbeReturn.OK
        if state["left"] > 0:
            state["left"] -= 1
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    return probe


def on_media_configure(args):
    def configure(_factory, media):
        phase = join_phase(args)
        pay = media.get_element().get_by_name("pay0")
        if phase > 0 and pay is not None:
            probe_types = Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_FLUSH
            pay.get_static_pad("sink").add_probe(probe_types, drop_first(phase, args.quick_describe))
        log(f"media configured: join phase {phase} of {args.keyint}")

    return configure


def configure_auth(server, factory, args):
    if args.auth == "none":
        return
    auth = GstRtspServer.RTSPAuth()
    auth.set_realm(args.realm)
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
    if args.auth == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    server.set_auth(auth)
    role = Gst.Structure.new_from_string(
        "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )
    factory.add_role_from_structure(role)


def log_client(args):
    def on_client(_server, client):
        ip = client.get_connection().get_ip()
        log(f"client connected from {ip}")
        for request in ("describe", "setup", "play", "teardown"):
            client.connect(f"{request}-request", lambda *_a, r=request: log(f"{r.upper()} from {ip}"))
        client.connect("new-session", lambda _c, s: s.set_timeout(args.session_timeout))
        client.connect("closed", lambda _c: log(f"client {ip} closed"))

    return on_client


def stdin_watch(stop):
    def on_stdin(fd, _condition):
        if os.read(fd, 4096) == b"":
            log("stdin closed")
            return stop()
        return GLib.SOURCE_CONTINUE

    return on_stdin


def warm_up(args):
    """Builds the pipeline once and drops it before listening: the plugins are loaded then, not during the
    first client's SETUP (a second or more on a fresh process). A camera's RTSP service is up once its
    encoder is, so READY means a session can start at once, as with a camera that has just rebooted."""
    pipeline = Gst.parse_launch(launch_line(args).strip()[1:-1])
    pipeline.set_state(Gst.State.NULL)


PROTOCOLS = {
    "tcp": GstRtsp.RTSPLowerTrans.TCP,
    "udp": GstRtsp.RTSPLowerTrans.UDP,
    "both": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP,
}


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args))
    factory.set_shared(False)
    factory.set_protocols(PROTOCOLS[args.protocols])
    factory.connect("media-configure", on_media_configure(args))
    configure_auth(server, factory, args)
    server.get_mount_points().add_factory(args.path, factory)
    server.connect("client-connected", log_client(args))

    warm_up(args)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        log(f"cannot listen on {args.host}:{args.port}")
        return 1
    # Expired sessions are only removed when someone asks the pool to clean up.
    pool = server.get_session_pool()

    def remove_expired_sessions():
        removed = pool.cleanup()
        if removed:
            log(f"{removed} session(s) timed out")
        return GLib.SOURCE_CONTINUE

    GLib.timeout_add_seconds(1, remove_expired_sessions)

    def stop():
        log("stopping")
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    if args.exit_on_stdin_close:
        stdin_events = GLib.IOCondition.IN | GLib.IOCondition.HUP
        GLib.io_add_watch(0, GLib.PRIORITY_DEFAULT, stdin_events, stdin_watch(stop))

    port = server.get_bound_port()
    log(f"launch: {launch_line(args)}")
    log(f"listening on rtsp://{args.host}:{port}{args.path}")
    print(f"READY {port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

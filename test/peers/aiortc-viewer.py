#!/usr/bin/python3
"""An independent WebRTC viewer: Debian's aiortc (python3-aiortc) with python3-av decoding.

Offers to receive video (and audio with --audio) through WHEP (POST application/sdp, then DELETE on
the Location) or through the JSON offer endpoint (POST {"type": "offer", "sdp": ...}), decodes the
video it gets, and prints one JSON line with what happened:

  {"mode": ..., "status": 201, "videoFrames": 42, "width": 640, "height": 360, "audioFrames": 17,
   "answerAudioPort": 0, "localCandidates": [...], "deleteStatus": 200, "error": null}

It gathers 127.0.0.1 only. aioice 0.8 (Debian 12) leaves 127.0.0.1 out of its host addresses, and
the tests run in a network namespace that holds nothing but loopback, so aiortc would gather no
candidate at all: get_host_addresses is replaced by one that returns 127.0.0.1 (aioice has no option
for it). No ICE server is configured, so nothing is sent anywhere but to the relay's candidates.

Run with Debian's interpreter: /usr/bin/python3 test/peers/aiortc-viewer.py --url ... --mode whep
"""

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice

# Before aiortc makes any connection: see the module's docstring.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402


def http(method, url, body=None, content_type=None, authorization=None):
    """One HTTP request, blocking (run in an executor): (status, headers, body text)."""
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    data = body.encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    # No proxy from the environment: every request goes to the relay on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


async def call(method, url, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: http(method, url, **kwargs))


def media_ports(sdp):
    """kind → port of each m-line of an SDP."""
    ports = {}
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind, port = line[2:].split(" ")[0:2]
            ports.setdefault(kind, int(port))
    return ports


async def consume_video(track, result, wanted, done):
    try:
        while True:
            frame = await track.recv()
            result["videoFrames"] += 1
            result["width"] = frame.width
            result["height"] = frame.height
            if result["videoFrames"] >= wanted:
                done.set()
    except MediaStreamError:
        pass


async def consume_audio(track, result):
    try:
        while True:
            frame = await track.recv()
            result["audioFrames"] += 1
            result["audioSampleRate"] = frame.sample_rate
    except MediaStreamError:
        pass


async def run(args):
    result = {
        "mode": args.mode,
        "audioOffered": args.audio,
        "status": None,
        "videoFrames": 0,
        "width": None,
        "height": None,
        "audioFrames": 0,
        "audioSampleRate": None,
        "answerAudioPort": None,
        "localCandidates": [],
        "connectionState": None,
        "deleteStatus": None,
        "error": None,
    }
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    done = asyncio.Event()
    tasks = []

    @pc.on("track")
    def on_track(track):
        if track.kind == "video":
            tasks.append(asyncio.ensure_future(consume_video(track, result, args.frames, done)))
        else:
            tasks.append(asyncio.ensure_future(consume_audio(track, result)))

    @pc.on("connectionstatechange")
    def on_state():
        result["connectionState"] = pc.connectionState
        if pc.connectionState == "failed":
            done.set()

    location = None
    try:
        pc.addTransceiver("video", direction="recvonly")
        if args.audio:
            pc.addTransceiver("audio", direction="recvonly")
        # aiortc gathers every candidate in setLocalDescription: the offer is complete (vanilla ICE).
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        result["localCandidates"] = sorted(
            {line.split(" ")[4] for line in offer.splitlines() if line.startswith("a=candidate:")}
        )
        if args.mode == "whep":
            status, headers, body = await call(
                "POST", args.url, body=offer, content_type="application/sdp", authorization=args.authorization
            )
            result["status"] = status
            if status != 201:
                raise RuntimeError(f"WHEP POST answered {status}: {body}")
            location = urllib.parse.urljoin(args.url, headers.get("Location", ""))
            answer = body
        else:
            status, _headers, body = await call(
                "POST",
                args.url,
                body=json.dumps({"type": "offer", "sdp": offer}),
                content_type="application/json",
                authorization=args.authorization,
            )
            result["status"] = status
            if status != 200:
                raise RuntimeError(f"offer POST answered {status}: {body}")
            parsed = json.loads(body)
            location = urllib.parse.urljoin(args.url, parsed["location"])
            answer = parsed["sdp"]
        result["answerAudioPort"] = media_ports(answer).get("audio")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(done.wait(), args.timeout)
        except asyncio.TimeoutError:
            result["error"] = f"{result['videoFrames']} of {args.frames} frames within {args.timeout} s"
        if result["connectionState"] == "failed":
            result["error"] = "ICE failed"
        # Audio keeps coming while the frames are counted; give it as long as the video took at least.
        if args.audio and result["answerAudioPort"] and result["audioFrames"] == 0:
            await asyncio.sleep(1)
    except Exception as error:  # reported in the JSON, which the test asserts on
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        if location is not None:
            status, _headers, _body = await call("DELETE", location, authorization=args.authorization)
            result["deleteStatus"] = status
        await pc.close()
        for task in tasks:
            task.cancel()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="P/whep or P/offer of a webrtc-out node")
    parser.add_argument("--mode", choices=["whep", "offer"], required=True)
    parser.add_argument("--audio", action="store_true", help="offer to receive audio too")
    parser.add_argument("--frames", type=int, default=30, help="stop after this many decoded video frames")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for them")
    parser.add_argument("--authorization", default=None, help="Authorization header value")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()

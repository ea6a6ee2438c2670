/**
 * Final touches to the answer werift makes, for WebRTC stacks stricter than browsers.
 *
 * werift 0.25.2 writes a rejected m-section (port 0: the browser offered audio, the camera has none)
 * without `a=rtcp-mux`. Browsers ignore a rejected section's attributes, but aiortc checks every audio
 * and video section of an answer and refuses the whole answer ("RTCP mux is not enabled"). JSEP
 * (RFC 8829 §5.3.1) has a rejected section keep the attributes of the offer's, rtcp-mux included, so
 * saying it there is correct for everyone.
 */
export function withRtcpMuxOnRejectedSections(sdp: string): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(eol);
  const out: string[] = [];
  let rejected = false;
  let hasMux = false;
  const closeSection = (): void => {
    if (!rejected || hasMux) return;
    // Before the trailing empty string of a description that ends with a line break.
    let at = out.length;
    while (at > 0 && out[at - 1] === "") at--;
    out.splice(at, 0, "a=rtcp-mux");
  };
  for (const line of lines) {
    if (line.startsWith("m=")) {
      closeSection();
      rejected = /^m=(audio|video) 0 /.test(line);
      hasMux = false;
    } else if (line === "a=rtcp-mux") {
      hasMux = true;
    }
    out.push(line);
  }
  closeSection();
  return out.join(eol);
}

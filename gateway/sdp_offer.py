"""Reading a browser's SDP offer before aiortc sees it, and finishing the answer.

The gateway only ever sends video. Non-video m-sections (audio, data) are taken out
of the offer, so aiortc never creates a transceiver that could carry audio, and are
put back into the answer as rejected (port 0), as RFC 3264 §6 requires: an answer
has exactly the offer's m-sections, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class OfferError(ValueError):
    """The offer cannot be served (400 to the browser)."""


class CodecRefused(OfferError):
    """A well-formed offer without a codec the gateway sends (406: H.264 is required).

    Not a 400: WHEP players read a 400 as "this server wants a different kind of
    request" and some fall back to other modes or retry.
    """


@dataclass
class _Section:
    lines: list[str]

    @property
    def kind(self) -> str:
        return self.lines[0][2:].split(" ", 1)[0]

    @property
    def mid(self) -> str | None:
        return next((line[6:] for line in self.lines if line.startswith("a=mid:")), None)

    def attribute_values(self, name: str) -> list[str]:
        prefix = f"a={name}:"
        return [line[len(prefix) :] for line in self.lines if line.startswith(prefix)]

    @property
    def direction(self) -> str:
        for line in self.lines:
            if line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
                return line[2:]
        return "sendrecv"

    def rejected(self) -> list[str]:
        """This section as an answer that declines it (port 0, inactive).

        The first format's rtpmap is kept: some parsers (aiortc's) insist on one.
        """
        _kind, _port, proto, *formats = self.lines[0][2:].split(" ")
        first = formats[0] if formats else "0"
        lines = [f"m={self.kind} 0 {proto} {first}", "c=IN IP4 0.0.0.0"]
        lines += [line for line in self.lines if line.startswith((f"a=rtpmap:{first} ", "a=mid:"))]
        lines.append("a=inactive")
        return lines


@dataclass
class OfferPlan:
    video_offer: str  # the offer reduced to its video section
    video_index: int  # position of the video section in the original offer
    rejected: dict[int, list[str]] = field(default_factory=dict)  # position → declined section
    h264_profiles: list[str] = field(default_factory=list)  # profile-level-ids, packetization-mode 1


def _split(sdp: str) -> tuple[list[str], list[_Section]]:
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    session: list[str] = []
    sections: list[_Section] = []
    for line in lines:
        if line.startswith("m="):
            sections.append(_Section([line]))
        elif sections:
            sections[-1].lines.append(line)
        else:
            session.append(line)
    return session, sections


def _h264_profiles(section: _Section) -> list[str]:
    """profile-level-ids of H.264 payloads the browser can take in packetization-mode 1.

    aiortc fragments large NAL units (FU-A), which mode 0 forbids.
    """
    h264_payloads = []
    for value in section.attribute_values("rtpmap"):
        payload, _, encoding = value.partition(" ")
        if encoding.upper().startswith("H264/"):
            h264_payloads.append(payload)
    parameters: dict[str, dict[str, str]] = {}
    for value in section.attribute_values("fmtp"):
        payload, _, text = value.partition(" ")
        parameters[payload] = dict(item.strip().partition("=")[::2] for item in text.split(";") if "=" in item)
    profiles = []
    for payload in h264_payloads:
        fmtp = parameters.get(payload, {})
        if fmtp.get("packetization-mode") == "1":
            profiles.append(fmtp.get("profile-level-id", "42e01f").lower())
    return profiles


def plan_offer(offer: str) -> OfferPlan:
    """Check the offer and keep only what the gateway will answer: one video section."""
    if not offer.startswith("v=0"):
        raise OfferError("not an SDP offer")
    session, sections = _split(offer)
    video_index = next((index for index, section in enumerate(sections) if section.kind == "video"), None)
    if video_index is None:
        raise OfferError("the offer has no video")
    video = sections[video_index]
    if video.direction not in ("recvonly", "sendrecv"):
        raise OfferError("the offer does not receive video")
    if video.mid is None:
        raise OfferError("the offer has no a=mid (needed for BUNDLE)")
    profiles = _h264_profiles(video)
    if not profiles:
        raise CodecRefused("no acceptable video codec: H.264 with packetization-mode=1 is required")
    rejected = {index: section.rejected() for index, section in enumerate(sections) if index != video_index}
    kept_session = [f"a=group:BUNDLE {video.mid}" if line.startswith("a=group:BUNDLE") else line for line in session]
    video_offer = "\r\n".join(kept_session + video.lines) + "\r\n"
    _readable_by_aiortc(video_offer)
    return OfferPlan(video_offer, video_index, rejected, profiles)


def _readable_by_aiortc(offer: str) -> None:
    """Parse the reduced offer as aiortc will, so that an offer it cannot read is a 400
    before the grant is spent, not a failed negotiation after (found by fuzzing: an rtx
    format whose rtpmap line was missing)."""
    from aiortc import sdp as aiortc_sdp

    try:
        parsed = aiortc_sdp.SessionDescription.parse(offer)
    except Exception as exc:  # its parser raises whatever the malformed line causes
        raise OfferError(f"the offer cannot be read ({type(exc).__name__})") from exc
    # Found by fuzzing too: an offer cut before a=setup parses, with no DTLS role, and
    # setRemoteDescription then fails on it.
    for media in parsed.media:
        if media.dtls is None or not media.dtls.fingerprints:
            raise OfferError("the offer has no DTLS fingerprint and setup role")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise OfferError("the offer has no ICE credentials")


def complete_answer(answer: str, plan: OfferPlan) -> str:
    """Put the declined sections back where the offer had them.

    They carry the video section's ICE and DTLS lines too: browsers ignore them in a
    rejected section, stricter parsers refuse a section without them.
    """
    session, sections = _split(answer)
    if len(sections) != 1:
        raise OfferError("unexpected answer layout")
    video = sections[0].lines
    transport = [
        line
        for line in video
        if line.startswith(("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:", "a=rtcp-mux"))
    ]
    count = len(plan.rejected) + 1
    ordered = [video if index == plan.video_index else plan.rejected[index] + transport for index in range(count)]
    return "\r\n".join(session + [line for section in ordered for line in section]) + "\r\n"

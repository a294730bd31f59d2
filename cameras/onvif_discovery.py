"""WS-Discovery: which ONVIF cameras answer on the installer's local network.

One Probe for network video transmitters to the WS-Discovery multicast group; every
ProbeMatch that arrives within the timeout names a device and its service address.
Run where the installer's laptop is on the cameras' network (a camera behind a 4G
router is added by its address instead: multicast does not cross routers).
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass

MULTICAST_GROUP = ("239.255.255.250", 3702)
PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>
<a:MessageID>urn:uuid:{message_id}</a:MessageID>
<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>
<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"""
MAX_DEVICES = 256


@dataclass(frozen=True)
class FoundDevice:
    address: str  # the device service's URL, as the camera gave it
    name: str  # from the onvif://www.onvif.org/name/... scope, if any
    answered_from: str


def _element(message: str, tag: str) -> str:
    match = re.search(rf"<(?:[\w.-]+:)?{tag}\b[^>]*>([^<]*)</(?:[\w.-]+:)?{tag}>", message)
    return match.group(1).strip() if match else ""


def discover(timeout_s: float = 2.0, target: tuple[str, int] = MULTICAST_GROUP) -> list[FoundDevice]:
    """Probe once and collect the answers for ``timeout_s`` seconds (never longer)."""
    message_id = str(uuid.uuid4())
    found: dict[str, FoundDevice] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # the local network only
        sock.bind(("", 0))
        sock.sendto(PROBE.format(message_id=message_id).encode(), target)
        deadline = time.monotonic() + timeout_s
        while len(found) < MAX_DEVICES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                data, sender = sock.recvfrom(65535)
            except (TimeoutError, OSError):
                break
            message = data.decode("utf-8", "replace")
            if "ProbeMatch" not in message or message_id not in _element(message, "RelatesTo"):
                continue  # another client's answer, or not an answer at all
            addresses = _element(message, "XAddrs").split()
            if not addresses:
                continue
            scopes = _element(message, "Scopes").split()
            name = next((scope.rsplit("/", 1)[1] for scope in scopes if "/name/" in scope), "")
            found[addresses[0]] = FoundDevice(addresses[0], name, sender[0])
    return sorted(found.values(), key=lambda device: device.address)

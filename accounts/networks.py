"""A municipality may allow cameras to be opened only from its own networks."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """One CIDR range per line (blank lines and ``#`` comments ignored); ValueError names a bad line."""
    networks: list[Network] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"line {number}: {entry!r} is not an IP range such as 10.20.0.0/16") from exc
    return networks


def address_allowed(networks_text: str, ip: str | None) -> bool:
    """Is ``ip`` inside one of the ranges? No ranges: any address. No address: refused."""
    networks = parse_networks(networks_text)
    if not networks:
        return True
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 (dual-stack sockets)
    return any(address.version == network.version and address in network for network in networks)

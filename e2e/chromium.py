"""Debian's Chromium as the browser tests and the benchmarks launch it: one list of flags,
so a flag one of them needs reaches the other (the benchmarks once lacked --disable-quic)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",  # no QUIC attempts to the loopback servers
    # Headless chromium hides host candidates behind mDNS names the gateway
    # would spend a second failing to resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

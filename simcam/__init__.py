"""Simulated night-vision cameras served over real RTSP (see README.md).

Run with Debian's interpreter: ``/usr/bin/python3 -m simcam``. This package
file imports nothing, so test collection works from any interpreter.
"""

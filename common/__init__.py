"""Code the control plane and the camera gateway share. Standard library only: it imports
neither Django nor any app, so the gateway (which must not import Django) can use it."""

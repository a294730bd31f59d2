"""The demo's shared password (demo only: NATTILLSYN_DEMO), for seed_demo and the demo identity provider."""

DEMO_PASSWORD = "nattillsyn-demo"

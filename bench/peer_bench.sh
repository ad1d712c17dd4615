#!/bin/sh
# NoiseTrail against a plain PyTorch loop (bench/peer/peer_bench.py --help).
# Needs noisetrail-cli built and Debian's python3-torch (apt-get install -y python3-torch).
exec /usr/bin/python3 "$(dirname "$0")/peer/peer_bench.py" "$@"

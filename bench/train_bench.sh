#!/bin/sh
# NoiseTrail's trainer against a plain PyTorch training loop (bench/peer/peer_train_bench.py --help).
# Needs noisetrail-cli built and Debian's python3-torch (apt-get install -y python3-torch).
exec /usr/bin/python3 "$(dirname "$0")/peer/peer_train_bench.py" "$@"

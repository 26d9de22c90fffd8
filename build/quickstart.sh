#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build the tiny guest, and run the
# QuickStart sample, which boots a VM and talks to it. The README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/install-prerequisites.sh
bash build/guest/build.sh
# --output Detailed shows each passing test with its output: what booted, how fast, what it answered.
dotnet test --project samples/QuickStart --output Detailed "$@"

#!/usr/bin/env bash
# Measures how long QEMU's container keeps running after its test host is SIGKILLed, on the remote-engine stand-in:
# the container test executable, started with QTK_STANDIN_ENDPOINT, launches a bare machine (streams transport) and
# blocks; this script kills it with SIGKILL and times until the engine shows the container no longer running.
# Needs `source build/docker/start-dockerd.sh` (as root, for QTK_DOCKER_REMOTE_HOST) and a built test project.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exe=$repo/artifacts/bin/QemuTestKit.Containers.Tests/debug/QemuTestKit.Containers.Tests
: "${QTK_DOCKER_REMOTE_HOST:?source build/docker/start-dockerd.sh as root first}"
for run in 1 2 3; do
  out=$(mktemp)
  QTK_STANDIN_ENDPOINT=$QTK_DOCKER_REMOTE_HOST "$exe" > "$out" 2>&1 &
  pid=$!
  for i in $(seq 1 600); do grep -q QTK-STANDIN-READY "$out" && break; sleep 0.1; done
  name=$(awk '/QTK-STANDIN-READY/{print $2}' "$out")
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  t0=$(date +%s.%N)
  while [ -n "$(DOCKER_HOST=$QTK_DOCKER_REMOTE_HOST docker ps -q --filter label=qemutestkit.machine=$name --filter status=running)" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  echo "run $run: machine $name stopped $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s after SIGKILL; state: $(DOCKER_HOST=$QTK_DOCKER_REMOTE_HOST docker ps -a --filter label=qemutestkit.machine=$name --format '{{.Status}}')"
  DOCKER_HOST=$QTK_DOCKER_REMOTE_HOST docker rm -f $(DOCKER_HOST=$QTK_DOCKER_REMOTE_HOST docker ps -aq --filter label=qemutestkit.machine=$name) >/dev/null
  rm -f "$out"
done

#!/usr/bin/env bash
# Runs every QemuTestKit test on this machine: installs what is missing, builds the tiny guest,
# starts a private Docker engine for the container tests, then `dotnet test` over the solution.
# This is the README's "all tests" command and exactly what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash build/install-prerequisites.sh --docker
bash build/guest/build.sh
if [ -f build/docker/start-dockerd.sh ]; then
  # Exports DOCKER_HOST (and DOCKER_API_VERSION for this machine's engine) for the tests below.
  source build/docker/start-dockerd.sh
fi

log=$(mktemp)
# The private dockerd start-dockerd.sh may have started ends with the run (qtk_stop_dockerd stops only that one).
trap 'rm -f "$log"; if declare -F qtk_stop_dockerd >/dev/null; then qtk_stop_dockerd; fi' EXIT
status=0
dotnet test --solution QemuTestKit.sln "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

# One plain closing line that any CI can read.
passed=$(awk '/^  succeeded:/{s+=$2} END{print s+0}' "$log")
failed=$(awk '/^  failed:/{s+=$2} END{print s+0}' "$log")
echo "$passed passed, $failed failed"
exit "$status"

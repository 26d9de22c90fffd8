#!/usr/bin/env bash
# Makes a Docker engine available to QemuTestKit's container tests. Meant to be *sourced*
# (build/test.sh does `source build/docker/start-dockerd.sh`); running it directly works too and
# leaves the engine running.
#
#   1. If an engine already answers (DOCKER_HOST or the default socket), it is used as is.
#      Otherwise a private dockerd is started: no bridge (--bridge=none --iptables=false), its own
#      data/exec root and pidfile under $QTK_DOCKER_DIR (default /tmp/qtk-docker-<hash of repo>),
#      listening on a unix socket there AND on tcp://127.0.0.1:<free port> (loopback only), which
#      the remote-engine tests use.
#   2. Exports DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED=true, QTK_DOCKER_TCP_HOST (when the engine
#      listens on TCP) and DOCKER_API_VERSION=<the engine's API> (1.41 for Docker 20.10) only when it is older than 1.44
#      (Testcontainers 4.x asks for 1.44; Docker 29 hosts need nothing).
#   3. Builds the QEMU image (build/docker/build-qemu-image.sh; does nothing when it is up to date).
#
#   4. As root, unless QTK_DOCKER_REMOTE=0: a second private dockerd that stands for a remote engine: it runs in its own
#      network namespace (`ip netns add`, only `lo` up: it shares nothing of this host's network), and this host
#      reaches it only through a forwarder on 127.0.0.1:<free port> (socat, per connection `ip netns exec` into the
#      namespace's loopback). Exports QTK_DOCKER_REMOTE_HOST=tcp://127.0.0.1:<port> and QTK_DOCKER_REMOTE_NETNS, and
#      builds the QEMU image there too. Loopback only: no bridge, no veth, no address outside 127.0.0.0/8.
#
# QTK_DOCKER_PRIVATE=1 starts the private engine even when another one answers (it is the one with a TCP endpoint).
# qtk_stop_dockerd stops the dockerd this script started (by the PID in its pidfile), and only that
# one; build/test.sh calls it when the test run ends.
# Needs root (dockerd does). QTK_DOCKER_KEEP=1 leaves the private engine running after the run.

_qtk_docker_main() {
  local repo here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$here/../.." && pwd)
  local dir=${QTK_DOCKER_DIR:-/tmp/qtk-docker-$(printf '%s' "$repo" | sha256sum | cut -c1-12)}

  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: docker/dockerd are not installed; run 'bash build/install-prerequisites.sh --docker'" >&2
    return 1
  fi

  # The docker CLI negotiates its API version down, so this probe works against any engine.
  if [ -z "${QTK_DOCKER_PRIVATE:-}" ] && [ -n "${DOCKER_HOST:-}" ] && DOCKER_API_VERSION= docker version >/dev/null 2>&1; then
    echo "start-dockerd: using the engine at DOCKER_HOST=$DOCKER_HOST"
    case "$DOCKER_HOST" in tcp://*) export QTK_DOCKER_TCP_HOST=${QTK_DOCKER_TCP_HOST:-$DOCKER_HOST} ;; esac
  elif [ -z "${QTK_DOCKER_PRIVATE:-}" ] && [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && DOCKER_API_VERSION= docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
    export DOCKER_HOST=unix:///var/run/docker.sock
    echo "start-dockerd: using the engine at $DOCKER_HOST (no TCP endpoint: the remote-engine tests need QTK_DOCKER_TCP_HOST, or QTK_DOCKER_PRIVATE=1)"
  else
    mkdir -p "$dir"
    local sock="$dir/docker.sock"
    # A private engine from an earlier session may still be running: reuse it.
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null \
       && DOCKER_API_VERSION= docker -H "unix://$sock" version >/dev/null 2>&1; then
      # Left by a run that died before stopping it (or started in another shell): adopt it, so this run stops it.
      echo "start-dockerd: reusing the private dockerd (pid $(cat "$dir/pid")) in $dir"
      QTK_DOCKERD_STARTED_PIDFILE="$dir/pid"
    else
      if [ "$(id -u)" -ne 0 ]; then
        echo "start-dockerd: no Docker engine answers and starting one needs root; start Docker yourself (e.g. 'sudo systemctl start docker') and set DOCKER_HOST" >&2
        return 1
      fi
      local port
      port=$(_qtk_free_port)
      rm -f "$sock"
      echo "start-dockerd: starting a private dockerd in $dir (unix socket + tcp://127.0.0.1:$port)"
      # setsid: the engine must not die with the shell's job control, and must not get our signals.
      setsid dockerd --bridge=none --iptables=false --ip6tables=false \
        -H "unix://$sock" -H "tcp://127.0.0.1:$port" \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/pid" \
        >"$dir/dockerd.log" 2>&1 </dev/null &
      echo "$!" > "$dir/started-pid"
      echo "tcp://127.0.0.1:$port" > "$dir/tcp-host"
      local i
      for i in $(seq 1 150); do
        DOCKER_API_VERSION= docker -H "unix://$sock" version >/dev/null 2>&1 && break
        if ! kill -0 "$(cat "$dir/started-pid")" 2>/dev/null; then
          echo "start-dockerd: dockerd exited while starting; its log ($dir/dockerd.log) ends with:" >&2
          tail -n 20 "$dir/dockerd.log" >&2
          return 1
        fi
        sleep 0.2
      done
      if ! DOCKER_API_VERSION= docker -H "unix://$sock" version >/dev/null 2>&1; then
        echo "start-dockerd: dockerd did not answer within 30 s; see $dir/dockerd.log" >&2
        return 1
      fi
      QTK_DOCKERD_STARTED_PIDFILE="$dir/pid"
    fi
    export DOCKER_HOST="unix://$sock"
    [ -f "$dir/tcp-host" ] && export QTK_DOCKER_TCP_HOST=$(cat "$dir/tcp-host")
  fi

  local api
  api=$(DOCKER_API_VERSION= docker version --format '{{.Server.APIVersion}}' 2>/dev/null || echo 0)
  if _qtk_version_lt "$api" 1.44; then
    # Testcontainers 4.x asks for API 1.44 and this engine refuses it; 1.41 is what 20.10 speaks.
    export DOCKER_API_VERSION=$api
  fi
  # The Ryuk reaper image cannot be pulled without a registry; the kit removes its own containers.
  export TESTCONTAINERS_RYUK_DISABLED=true
  echo "start-dockerd: engine API $api; DOCKER_HOST=$DOCKER_HOST${DOCKER_API_VERSION:+ DOCKER_API_VERSION=$DOCKER_API_VERSION}${QTK_DOCKER_TCP_HOST:+ QTK_DOCKER_TCP_HOST=$QTK_DOCKER_TCP_HOST}"

  bash "$here/build-qemu-image.sh"
  if [ "${QTK_DOCKER_REMOTE:-1}" != 0 ] && [ "$(id -u)" -eq 0 ]; then
    _qtk_start_remote_engine "$dir-remote" "$here" || return 1
  elif [ "${QTK_DOCKER_REMOTE:-}" = 1 ]; then
    echo "start-dockerd: the remote engine needs root (ip netns, dockerd)" >&2
    return 1
  fi
}

# The stand-in for a remote engine: a dockerd in its own network namespace, reached through a loopback forwarder.
_qtk_start_remote_engine() {
  local dir=$1 here=$2
  local ns
  ns=qtk-$(basename "$dir")
  mkdir -p "$dir"
  if ! command -v socat >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
    echo "start-dockerd: the remote engine needs socat and iproute2 ('bash build/install-prerequisites.sh --docker')" >&2
    return 1
  fi
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && [ -f "$dir/tcp-host" ] \
     && DOCKER_API_VERSION= docker -H "$(cat "$dir/tcp-host")" version >/dev/null 2>&1; then
    echo "start-dockerd: reusing the remote-engine dockerd (pid $(cat "$dir/pid")) in namespace $ns"
  else
    [ "$(id -u)" -eq 0 ] || { echo "start-dockerd: the remote engine needs root (ip netns, dockerd)" >&2; return 1; }
    ip netns list | grep -qx "$ns\( .*\)\?" || ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    rm -f "$dir/docker.sock"
    # Inside the namespace dockerd listens on its own loopback: nothing on this host's network can reach it directly.
    # nsenter, not `ip netns exec`: that one remounts /sys, and dockerd then finds no cgroups.
    setsid nsenter --net="/var/run/netns/$ns" dockerd --bridge=none --iptables=false --ip6tables=false \
      -H "unix://$dir/docker.sock" -H tcp://127.0.0.1:2375 \
      --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/pid" \
      >"$dir/dockerd.log" 2>&1 </dev/null &
    local port i
    port=$(_qtk_free_port)
    setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:ip netns exec $ns socat STDIO TCP\:127.0.0.1\:2375" \
      >"$dir/forwarder.log" 2>&1 </dev/null &
    echo "$!" > "$dir/forwarder-pid"
    echo "tcp://127.0.0.1:$port" > "$dir/tcp-host"
    for i in $(seq 1 150); do
      DOCKER_API_VERSION= docker -H "tcp://127.0.0.1:$port" version >/dev/null 2>&1 && break
      sleep 0.2
    done
    DOCKER_API_VERSION= docker -H "tcp://127.0.0.1:$port" version >/dev/null 2>&1 \
      || { echo "start-dockerd: the remote-engine dockerd did not answer; see $dir/dockerd.log" >&2; return 1; }
  fi
  export QTK_DOCKER_REMOTE_HOST QTK_DOCKER_REMOTE_NETNS=$ns QTK_DOCKER_REMOTE_DIR=$dir
  QTK_DOCKER_REMOTE_HOST=$(cat "$dir/tcp-host")
  echo "start-dockerd: remote engine in network namespace $ns, reached at QTK_DOCKER_REMOTE_HOST=$QTK_DOCKER_REMOTE_HOST"
  DOCKER_HOST=$QTK_DOCKER_REMOTE_HOST bash "$here/build-qemu-image.sh"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; python3 is not required).
_qtk_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  echo 23750
}

_qtk_version_lt() {
  [ "$1" = "$2" ] && return 1
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

# Stops the dockerd this script started, by its PID, and waits for it (containers it still runs
# are stopped by dockerd itself). Does nothing for an engine it did not start.
qtk_stop_dockerd() {
  [ -n "${QTK_DOCKER_KEEP:-}" ] && return 0
  local pidfile=${QTK_DOCKERD_STARTED_PIDFILE:-}
  [ -n "$pidfile" ] && [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "start-dockerd: stopping the private dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  unset QTK_DOCKERD_STARTED_PIDFILE
  if [ -n "${QTK_DOCKER_REMOTE_DIR:-}" ]; then
    local d=$QTK_DOCKER_REMOTE_DIR
    [ -f "$d/forwarder-pid" ] && kill -TERM "$(cat "$d/forwarder-pid")" 2>/dev/null
    if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then
      pid=$(cat "$d/pid")
      echo "start-dockerd: stopping the remote-engine dockerd (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    ip netns delete "${QTK_DOCKER_REMOTE_NETNS:-}" 2>/dev/null
    unset QTK_DOCKER_REMOTE_DIR QTK_DOCKER_REMOTE_HOST QTK_DOCKER_REMOTE_NETNS
  fi
  return 0
}

_qtk_docker_main || echo "start-dockerd: no Docker engine for the container tests; they will fail and say how to start one" >&2

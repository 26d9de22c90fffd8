#!/usr/bin/env bash
# Builds the QEMU image QemuTestKit's container runner uses, from the QEMU installed on this host,
# without a registry: a rootfs folder with qemu-system-<arch>, every library `ldd` lists for it and
# for its TCG accelerator module, the dynamic loader, and QEMU's firmware folders, then `docker import`.
# The streams transport also needs, in the image: busybox (static; sh, date, sleep, mkdir, cat, kill for
# the supervisor that is QEMU's parent) and socat (relays QMP and the console between QEMU's unix
# sockets and the container's stdio / exec sessions). Both come from this host (busybox-static, socat).
#   IMAGE (default qemutestkit/qemu:local), ARCH (default x86_64; also the aarch64 emulator when it is
#   installed, for the tiny-aarch64 profile; ARCH="x86_64 aarch64" requires both), DOCKER_HOST as usual.
# Idempotent: the image carries a label with the hash of its inputs; when an image with the same
# label exists, nothing is built.
# Users with a registry write a Dockerfile instead (see README, "QEMU in a container").
set -euo pipefail
image=${IMAGE:-qemutestkit/qemu:local}
arches=${ARCH:-x86_64}
qemus=()
for arch in $arches; do
  q=$(command -v "qemu-system-$arch" || true)
  if [ -z "$q" ]; then
    echo "build-qemu-image: qemu-system-$arch is not installed; run 'bash build/install-prerequisites.sh'" >&2
    exit 1
  fi
  qemus+=("$(readlink -f "$q")")
done
# The default image also carries the aarch64 emulator when this host has it (the tiny-aarch64 profile in a container).
if [ -z "${ARCH:-}" ] && q=$(command -v qemu-system-aarch64); then qemus+=("$(readlink -f "$q")"); fi
arch=${arches%% *}
qemu=${qemus[0]}
libdir=/usr/lib/x86_64-linux-gnu/qemu
firmware=(/usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu)
modules=()
for m in "$libdir"/accel-*.so; do [ -e "$m" ] && modules+=("$m"); done
busybox=$(command -v busybox || true)
socat=$(command -v socat || true)
if [ -z "$busybox" ] || [ -z "$socat" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "build-qemu-image: the image needs a static busybox and socat from this host; run 'apt-get install -y busybox-static socat' (or 'bash build/install-prerequisites.sh --docker')" >&2
  exit 1
fi
busybox=$(readlink -f "$busybox")
socat=$(readlink -f "$socat")

# Every file that goes in, plus this script: any change gives a new hash.
# Contents only for the binary and this script: the hash must not change with the path the script is run by.
inputs=$( { for f in "${qemus[@]}" "$0" "$busybox" "$socat" ${modules[@]+"${modules[@]}"}; do sha256sum < "$f"; done;
            for f in "${firmware[@]}"; do [ -d "$f" ] && find -L "$f" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum; done; } \
          | sha256sum | cut -c1-16)
existing=$(docker image inspect --format '{{ index .Config.Labels "qemutestkit.inputs" }}' "$image" 2>/dev/null || true)
if [ "$existing" = "$inputs" ]; then
  echo "build-qemu-image: $image is up to date ($inputs)"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
copy() { mkdir -p "$root$(dirname "$1")"; cp -aL "$1" "$root$1"; }

for q in "${qemus[@]}"; do copy "$q"; done
for m in ${modules[@]+"${modules[@]}"}; do copy "$m"; done
mkdir -p "$root/bin" "$root/usr/bin"
cp -aL "$busybox" "$root/bin/busybox"
for applet in sh date sleep mkdir cat kill pidof; do ln -sf busybox "$root/bin/$applet"; done
cp -aL "$socat" "$root/usr/bin/socat"
# ldd resolves the whole dependency closure, so one pass per binary is enough.
for bin in "${qemus[@]}" "$socat" ${modules[@]+"${modules[@]}"}; do
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    [ -e "$root$lib" ] || copy "$lib"
    # The path the loader asks for may be a symlink into /usr/lib (usrmerge): keep both names.
    real=$(readlink -f "$lib"); [ -e "$root$real" ] || copy "$real"
  done
done
for f in "${firmware[@]}"; do
  [ -d "$f" ] || continue
  mkdir -p "$root$f"
  # -L: Debian's firmware folders are symlink farms into other packages; dangling links are skipped.
  (cd "$f" && find -L . -type f -print0 | xargs -0 -r -I{} cp -L --parents {} "$root$f/") 2>/dev/null || true
done
# usrmerge hosts: /lib64 and /lib are links into /usr; the image gets real folders where ldd found them.
mkdir -p "$root/tmp" "$root/dev" "$root/proc" "$root/sys"
chmod 1777 "$root/tmp"
if [ "$qemu" != "/usr/bin/qemu-system-$arch" ]; then mkdir -p "$root/usr/bin"; ln -sf "$qemu" "$root/usr/bin/qemu-system-$arch"; fi

old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
version=$("$qemu" --version | head -n 1 | awk '{print $4}')
tar -C "$root" -c . | docker import \
  --change "LABEL qemutestkit.inputs=$inputs" \
  --change "LABEL qemutestkit.qemu-version=$version" \
  --change "ENTRYPOINT [\"/usr/bin/qemu-system-$arch\"]" \
  --change 'WORKDIR /tmp' \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  - "$image" >/dev/null
# The previous build is now untagged: remove it unless a container still uses it.
if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
size=$(docker image inspect --format '{{.Size}}' "$image")
echo "build-qemu-image: built $image (QEMU $version, $((size / 1024 / 1024)) MB, inputs $inputs)"

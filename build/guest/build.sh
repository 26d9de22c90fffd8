#!/usr/bin/env bash
# Builds the QemuTestKit tiny Linux test guest from Debian packages:
#   out/vmlinuz          Debian's cloud kernel, unpacked from its .deb (never installed)
#   out/initramfs.cpio.gz busybox-static + /init (see ./init)
#   out/guest.json       kernel version and SHA-256 of both files
# The output lands in build/guest/out (git ignores it) or in $QTK_GUEST_DIR. A second run with the
# same kernel package and the same init scripts does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${QTK_GUEST_DIR:-$here/out}
mkdir -p "$out"

need() { command -v "$1" >/dev/null || { echo "build-guest: '$1' is missing; run build/install-prerequisites.sh" >&2; exit 1; }; }
need busybox; need cpio; need dpkg-deb; need apt-get; need sha256sum
busybox_bin=/bin/busybox
[ -x "$busybox_bin" ] && file_is_static=$(ldd "$busybox_bin" 2>&1 | grep -c 'not a dynamic' || true)
if [ "${file_is_static:-0}" = 0 ]; then
  echo "build-guest: /bin/busybox is not static; install busybox-static (build/install-prerequisites.sh)" >&2; exit 1
fi

# The kernel package that linux-image-cloud-amd64 points at today.
if ! kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image/{print $2; exit}') || [ -z "$kpkg" ]; then
  echo "build-guest: apt does not know linux-image-cloud-amd64; run 'apt-get update'" >&2; exit 1
fi
inputs_hash=$( { echo "$kpkg"; cat "$here/init" "$here/poweroff" "$here/profile" "$here/build.sh"; sha256sum "$busybox_bin"; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/guest.json" ] && grep -q "\"inputs\": \"$inputs_hash\"" "$out/guest.json" \
   && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ]; then
  echo "build-guest: up to date ($kpkg) in $out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-guest: downloading $kpkg"
(cd "$work" && apt-get download -q "$kpkg" >/dev/null)
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/kernel"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n 1)
kver=${vmlinuz##*/vmlinuz-}

root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root}
cp "$busybox_bin" "$root/bin/busybox"
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/poweroff" "$root/sbin/poweroff"
install -m 0644 "$here/profile" "$root/etc/profile"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
# Fixed timestamps and owners make the archive reproducible, so its hash only changes with its content.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --reproducible --quiet) \
  | gzip -9n > "$work/initramfs.cpio.gz"

install -m 0644 "$vmlinuz" "$out/vmlinuz"
install -m 0644 "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
ksha=$(sha256sum "$out/vmlinuz" | cut -d' ' -f1)
isha=$(sha256sum "$out/initramfs.cpio.gz" | cut -d' ' -f1)
cat > "$out/guest.json" <<JSON
{
  "kernelPackage": "$kpkg",
  "kernelVersion": "$kver",
  "kernel": "vmlinuz",
  "kernelSha256": "$ksha",
  "initrd": "initramfs.cpio.gz",
  "initrdSha256": "$isha",
  "readyMarker": "QEMUTESTKIT-READY",
  "prompt": "qtk# ",
  "inputs": "$inputs_hash"
}
JSON
echo "build-guest: built $kver into $out (kernel $ksha, initrd $isha)"

#!/usr/bin/env bash
# Builds the QemuTestKit tiny Linux test guest from Debian packages, for x86_64 and aarch64:
#   out/<arch>/vmlinuz            Debian's cloud kernel, unpacked from its .deb (never installed)
#   out/<arch>/initramfs.cpio.gz  busybox-static of the same architecture (from its .deb, never the host's
#                                 /bin/busybox), the driver modules from the kernel package (./modules), /init
#   out/<arch>/guest.json         architecture, kernel package and version, SHA-256 of both files, and the Debian
#                                 source packages of kernel and busybox (what the GPL notice must point at)
#   out/<arch>/disk-uefi.img      the same kernel and initramfs on a GPT disk with an EFI system partition, for the
#                                 tiny-uefi profiles (build-disk.sh; its fields in guest.json start with "disk")
# Usage: build.sh [x86_64] [aarch64]   (no argument: both; or QTK_GUEST_ARCHES="x86_64")
# The output lands in build/guest/out (git ignores it) or in $QTK_GUEST_DIR. A second run with the same packages and
# the same guest files does nothing. A foreign architecture needs 'dpkg --add-architecture' once
# (build/install-prerequisites.sh does it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out_root=${QTK_GUEST_DIR:-$here/out}

need() { command -v "$1" >/dev/null || { echo "build-guest: '$1' is missing; run build/install-prerequisites.sh" >&2; exit 1; }; }
need cpio; need dpkg-deb; need apt-get; need apt-cache; need sha256sum; need gzip

arches=("$@")
[ ${#arches[@]} -gt 0 ] || read -r -a arches <<< "${QTK_GUEST_ARCHES:-x86_64 aarch64}"

# Debian's architecture name for QEMU's.
deb_arch() {
  case "$1" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) echo "build-guest: no tiny guest for '$1'; choose x86_64 or aarch64" >&2; exit 2 ;;
  esac
}

# The candidate version apt would download for a package, or nothing when apt does not know it.
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/{ if ($2 != "(none)") print $2; exit }'; }

# "name version" of the Debian source package a .deb was built from (Source: may omit the version, or the name).
source_of() {
  local src ver
  src=$(dpkg-deb -f "$1" Source)
  ver=$(dpkg-deb -f "$1" Version)
  if [ -z "$src" ]; then src=$(dpkg-deb -f "$1" Package); fi
  case "$src" in
    *"("*")"*) ver=${src#*(}; ver=${ver%)*}; src=${src%% *} ;;
  esac
  echo "$src $ver"
}

# Reads the modules one guest loads (./modules: shared lines, and "<arch>:" lines for one architecture only).
wanted_modules() {
  sed -e 's/#.*//' "$here/modules" | awk -v a="$1" '
    NF == 0 { next }
    $1 ~ /:$/ { if ($1 == a ":") for (i = 2; i <= NF; i++) print $i; next }
    { for (i = 1; i <= NF; i++) print $i }'
}

build_one() {
  local arch=$1 darch out kmeta kpkg bbver inputs_hash work
  darch=$(deb_arch "$arch")
  out=$out_root/$arch
  mkdir -p "$out"

  # The kernel package that linux-image-cloud-<arch> points at today.
  kmeta=linux-image-cloud-$darch:$darch
  if ! kpkg=$(apt-cache depends "$kmeta" 2>/dev/null | awk '/Depends: linux-image/{print $2; exit}') || [ -z "$kpkg" ]; then
    echo "build-guest: apt does not know $kmeta; run build/install-prerequisites.sh (it adds the $darch architecture and runs 'apt-get update')" >&2
    exit 1
  fi
  kpkg=${kpkg%%:*}
  bbver=$(candidate "busybox-static:$darch")
  if [ -z "$bbver" ]; then
    echo "build-guest: apt does not know busybox-static:$darch; run build/install-prerequisites.sh" >&2
    exit 1
  fi

  inputs_hash=$( { echo "$arch $kpkg $bbver"; cat "$here"/init "$here"/poweroff "$here"/profile "$here"/udhcpc.script "$here"/modules "$here"/build.sh; } \
                 | sha256sum | cut -d' ' -f1)
  if [ -f "$out/guest.json" ] && grep -q "\"inputs\": \"$inputs_hash\"" "$out/guest.json" \
     && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ]; then
    echo "build-guest: $arch up to date ($kpkg) in $out"
    return 0
  fi

  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the trap must remove this build's folder
  trap "rm -rf '$work'" EXIT
  echo "build-guest: $arch: downloading $kpkg and busybox-static $bbver"
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg:$darch" "busybox-static:$darch=$bbver" >/dev/null)
  local kdeb bbdeb
  kdeb=$(ls "$work"/"$kpkg"_*.deb)
  bbdeb=$(ls "$work"/busybox-static_*.deb)
  dpkg-deb -x "$kdeb" "$work/kernel"
  dpkg-deb -x "$bbdeb" "$work/busybox"
  local vmlinuz kver
  vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n 1)
  kver=${vmlinuz##*/vmlinuz-}

  # The signed kernel package is built from a template (linux-signed-*); its code comes from 'linux' at the same
  # version, which is what the unsigned package names.
  local ksrc bbsrc
  ksrc=$(source_of "$kdeb")
  case "$ksrc" in
    linux-signed-*) ksrc="linux $(dpkg-deb -f "$kdeb" Version)" ;;
  esac
  bbsrc=$(source_of "$bbdeb")

  local root=$work/root
  mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,mnt,etc/udhcpc,lib/modules}
  install -m 0755 "$work/busybox/bin/busybox" "$root/bin/busybox"
  install -m 0755 "$here/init" "$root/init"
  install -m 0755 "$here/poweroff" "$root/sbin/poweroff"
  install -m 0644 "$here/profile" "$root/etc/profile"
  install -m 0755 "$here/udhcpc.script" "$root/etc/udhcpc/default.script"
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"

  copy_modules "$arch" "$work/kernel/lib/modules/$kver" "$root/lib/modules"

  # Fixed timestamps and owners make the archive reproducible, so its hash only changes with its content.
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --reproducible --quiet) \
    | gzip -9n > "$work/initramfs.cpio.gz"

  install -m 0644 "$vmlinuz" "$out/vmlinuz"
  install -m 0644 "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
  local ksha isha
  ksha=$(sha256sum "$out/vmlinuz" | cut -d' ' -f1)
  isha=$(sha256sum "$out/initramfs.cpio.gz" | cut -d' ' -f1)
  cat > "$out/guest.json" <<JSON
{
  "arch": "$arch",
  "kernelPackage": "$kpkg",
  "kernelPackageVersion": "$(dpkg-deb -f "$kdeb" Version)",
  "kernelVersion": "$kver",
  "kernelSourcePackage": "${ksrc%% *}",
  "kernelSourceVersion": "${ksrc#* }",
  "kernel": "vmlinuz",
  "kernelSha256": "$ksha",
  "busyboxPackage": "busybox-static",
  "busyboxPackageVersion": "$bbver",
  "busyboxSourcePackage": "${bbsrc%% *}",
  "busyboxSourceVersion": "${bbsrc#* }",
  "modules": [$(sed 's/.*/"&"/' "$root/lib/modules/load-order" | paste -sd, - | sed 's/,/, /g')],
  "initrd": "initramfs.cpio.gz",
  "initrdSha256": "$isha",
  "readyMarker": "QEMUTESTKIT-READY",
  "prompt": "qtk# ",
  "inputs": "$inputs_hash"
}
JSON
  rm -rf "$work"
  trap - EXIT
  echo "build-guest: $arch: built $kver into $out (kernel $ksha, initrd $isha, $(stat -c %s "$out/initramfs.cpio.gz") bytes)"
}

# Copies the wanted modules and everything they depend on from the kernel package into the initramfs, and writes
# lib/modules/load-order (dependencies first) for /init. The package has no modules.dep (depmod runs at install), so
# the dependencies come from each module's own .modinfo "depends=" line.
copy_modules() {
  local arch=$1 kdir=$2 dest=$3
  declare -A path_of=()
  local f name
  while IFS= read -r f; do
    name=$(basename "$f" .ko); name=${name//-/_}
    path_of[$name]=${f#"$kdir"/}
  done < <(find "$kdir/kernel" -name '*.ko')

  declare -A state=()
  local order=()
  visit() {
    local m=$1 dep deps
    case "${state[$m]:-}" in done) return 0 ;; active) echo "build-guest: module dependency loop at $m" >&2; exit 1 ;; esac
    if [ -z "${path_of[$m]:-}" ]; then
      # Built into the kernel (or absent from this architecture's package): nothing to load.
      if grep -q "/${m//_/[-_]}\.ko\$" "$kdir/modules.builtin" 2>/dev/null; then state[$m]=done; return 0; fi
      echo "build-guest: $arch: module '$m' (from build/guest/modules) is neither in the kernel package nor built in" >&2
      exit 1
    fi
    state[$m]=active
    deps=$(tr '\0' '\n' < "$kdir/${path_of[$m]}" | sed -n 's/^depends=//p' | head -n 1)
    for dep in ${deps//,/ }; do visit "${dep//-/_}"; done
    state[$m]=done
    order+=("${path_of[$m]}")
  }
  local m
  for m in $(wanted_modules "$arch"); do visit "${m//-/_}"; done

  : > "$dest/load-order"
  for f in "${order[@]}"; do
    mkdir -p "$dest/$(dirname "$f")"
    cp "$kdir/$f" "$dest/$f"
    echo "$f" >> "$dest/load-order"
  done
}

for arch in "${arches[@]}"; do
  build_one "$arch"
  bash "$here/build-disk.sh" "$out_root/$arch"
done

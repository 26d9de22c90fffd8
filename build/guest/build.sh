#!/usr/bin/env bash
# Builds the QemuTestKit tiny Linux test guest from Debian packages, for x86_64 and aarch64:
#   out/<arch>/vmlinuz            Debian's cloud kernel, unpacked from its .deb (never installed)
#   out/<arch>/initramfs.cpio.gz  busybox-static of the same architecture (from its .deb, never the host's
#                                 /bin/busybox), the driver modules from the kernel package (./modules), /init
#   out/<arch>/initramfs-agent.cpio.gz  the same bytes with a second gzip'd cpio archive appended (the kernel unpacks
#                                 concatenated archives in turn): the QEMU guest agent (qemu-ga from qemu-guest-agent
#                                 of the same architecture, with exactly the shared libraries it needs, from their
#                                 Debian packages). Only the tiny-agent profiles boot it: qemu-ga and glibc more than
#                                 double the initramfs, and every other boot would pay for decompressing them.
#   out/<arch>/guest.json         architecture, kernel package and version, SHA-256 of the three files, and the Debian
#                                 source packages of kernel, busybox and the agent (what the GPL notice must point at)
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
need cpio; need dpkg-deb; need apt-get; need apt-cache; need sha256sum; need gzip; need readelf

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
  local arch=$1 darch out kmeta kpkg bbver gaver inputs_hash work
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

  gaver=$(candidate "qemu-guest-agent:$darch")
  if [ -z "$gaver" ]; then
    echo "build-guest: apt does not know qemu-guest-agent:$darch; run build/install-prerequisites.sh" >&2
    exit 1
  fi

  inputs_hash=$( { echo "$arch $kpkg $bbver $gaver"; cat "$here"/init "$here"/poweroff "$here"/shutdown "$here"/profile "$here"/udhcpc.script "$here"/modules "$here"/build.sh; } \
                 | sha256sum | cut -d' ' -f1)
  if [ -f "$out/guest.json" ] && grep -q "\"inputs\": \"$inputs_hash\"" "$out/guest.json" \
     && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/initramfs-agent.cpio.gz" ]; then
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
  install -m 0755 "$here/shutdown" "$root/sbin/shutdown"
  install -m 0644 "$here/profile" "$root/etc/profile"
  install -m 0755 "$here/udhcpc.script" "$root/etc/udhcpc/default.script"
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
  # What the guest agent's guest-get-osinfo reports (the os-release(5) defaults for a plain Linux, plus who we are).
  printf '%s\n' 'NAME="Linux"' 'ID=linux' 'PRETTY_NAME="QemuTestKit tiny guest"' 'VARIANT_ID=qemutestkit-tiny' > "$root/etc/os-release"

  copy_modules "$arch" "$work/kernel/lib/modules/$kver" "$root/lib/modules"
  echo "build-guest: $arch: adding qemu-ga from qemu-guest-agent $gaver (initramfs-agent.cpio.gz only)"
  local agent_root=$work/agent-root
  mkdir -p "$agent_root"
  copy_agent "$darch" "$gaver" "$work/agent" "$agent_root"

  pack_cpio "$root" > "$work/initramfs.cpio.gz"
  # The base archive unchanged, then the agent's files as a second archive: the base's bytes (so its hash) are the
  # same in both files, and the agent's file is reproducible the same way.
  { cat "$work/initramfs.cpio.gz"; pack_cpio "$agent_root"; } > "$work/initramfs-agent.cpio.gz"

  install -m 0644 "$vmlinuz" "$out/vmlinuz"
  install -m 0644 "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
  install -m 0644 "$work/initramfs-agent.cpio.gz" "$out/initramfs-agent.cpio.gz"
  local ksha isha asha
  ksha=$(sha256sum "$out/vmlinuz" | cut -d' ' -f1)
  isha=$(sha256sum "$out/initramfs.cpio.gz" | cut -d' ' -f1)
  asha=$(sha256sum "$out/initramfs-agent.cpio.gz" | cut -d' ' -f1)
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
  "agent": "sbin/qemu-ga",
  "agentPackage": "qemu-guest-agent",
  "agentPackageVersion": "$gaver",
  "agentSourcePackage": "$(cat "$work/agent/source")",
  "agentSourceVersion": "$(cat "$work/agent/source-version")",
  "agentSha256": "$(sha256sum "$agent_root/sbin/qemu-ga" | cut -d' ' -f1)",
  "agentLibraries": [$(awk 'NR > 1 { printf ", " } { printf "%s", $0 }' "$work/agent/libraries.json")],
  "agentSourcePackages": "$(agent_sources "$work/agent")",
  "modules": [$(sed 's/.*/"&"/' "$root/lib/modules/load-order" | paste -sd, - | sed 's/,/, /g')],
  "initrd": "initramfs.cpio.gz",
  "initrdSha256": "$isha",
  "agentInitrd": "initramfs-agent.cpio.gz",
  "agentInitrdSha256": "$asha",
  "readyMarker": "QEMUTESTKIT-READY",
  "prompt": "qtk# ",
  "inputs": "$inputs_hash"
}
JSON
  rm -rf "$work"
  trap - EXIT
  echo "build-guest: $arch: built $kver into $out (kernel $ksha, initrd $isha, $(stat -c %s "$out/initramfs.cpio.gz") bytes;" \
       "agent initrd $asha, $(stat -c %s "$out/initramfs-agent.cpio.gz") bytes)"
}

# Writes the gzip'd newc cpio archive of a folder to stdout. Fixed timestamps, owners and order make it reproducible,
# so its hash only changes with its content.
pack_cpio() {
  find "$1" -exec touch -h -d @0 {} +
  (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --reproducible --quiet) | gzip -9n
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

# "source version, source version, ..." of qemu-ga and its libraries (each Debian source package once), for the notice.
agent_sources() {
  { echo "$(cat "$1/source") $(cat "$1/source-version")"
    sed 's/.*"sourcePackage": "\([^"]*\)", "sourceVersion": "\([^"]*\)".*/\1 \2/' "$1/libraries.json"; } \
    | awk '!seen[$0]++' | paste -sd, | sed 's/,/, /g'
}

# The packages a .deb depends on (PreDepends and Depends; the first of alternatives; without versions), for one
# architecture.
deb_depends() {
  { dpkg-deb -f "$1" Pre-Depends; echo ,; dpkg-deb -f "$1" Depends; } | tr ',' '\n' \
    | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v '^$' || true
}

# Copies qemu-ga from qemu-guest-agent (the given architecture and version) into the initramfs as /sbin/qemu-ga, with
# exactly the shared libraries it loads (its NEEDED entries, transitively, and its program interpreter), taken from the
# Debian packages its package depends on, level by level until every library is found. Writes into $work:
#   libraries.json  one JSON object per line: soname, package, version, source package and version, SHA-256
#   source, source-version  the Debian source package of qemu-guest-agent
copy_agent() {
  local darch=$1 gaver=$2 work=$3 root=$4
  mkdir -p "$work/debs" "$work/trees"
  (cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root "qemu-guest-agent:$darch=$gaver" >/dev/null)
  local gadeb src
  gadeb=$(ls "$work"/debs/qemu-guest-agent_*.deb)
  dpkg-deb -x "$gadeb" "$work/trees/qemu-guest-agent"
  src=$(source_of "$gadeb")
  echo "${src%% *}" > "$work/source"
  echo "${src#* }" > "$work/source-version"
  mkdir -p "$root/sbin"
  install -m 0755 "$work/trees/qemu-guest-agent/usr/sbin/qemu-ga" "$root/sbin/qemu-ga"

  # Which libraries to copy: the closure of NEEDED over what is copied, found in the packages fetched so far.
  declare -A fetched=([qemu-guest-agent]=1) copied=()
  local frontier=() next pkg deb so file found tree interp
  mapfile -t frontier < <(deb_depends "$gadeb")
  local todo=("$root/sbin/qemu-ga")
  : > "$work/libraries.json"
  interp=$(readelf -l "$root/sbin/qemu-ga" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  local wanted_libs=("${interp##*/}")
  while [ ${#todo[@]} -gt 0 ]; do
    file=${todo[0]}; todo=("${todo[@]:1}")
    while read -r so; do wanted_libs+=("$so"); done < <(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    for so in "${wanted_libs[@]}"; do
      [ -z "${copied[$so]:-}" ] || continue
      found=""
      while [ -z "$found" ]; do
        for tree in "$work"/trees/*; do
          found=$(find "$tree/lib" "$tree/usr/lib" -name "$so" \( -type f -o -type l \) 2>/dev/null | head -n 1 || true)
          [ -z "$found" ] || break
        done
        [ -z "$found" ] || break
        # Not in the packages so far: fetch the next level of dependencies.
        next=()
        for pkg in "${frontier[@]}"; do
          [ -z "${fetched[$pkg]:-}" ] || continue
          fetched[$pkg]=1
          # An "Architecture: all" package (init-system-helpers) has no candidate under an architecture qualifier.
          (cd "$work/debs" && { apt-get download -q -o APT::Sandbox::User=root "$pkg:$darch" >/dev/null 2>&1 \
                                || apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null; })
          deb=$(ls "$work"/debs/"${pkg}"_*.deb)
          dpkg-deb -x "$deb" "$work/trees/$pkg"
          mapfile -t -O "${#next[@]}" next < <(deb_depends "$deb")
        done
        if [ ${#next[@]} -eq 0 ]; then
          echo "build-guest: qemu-ga needs $so, which none of the packages qemu-guest-agent:$darch depends on provides" >&2
          exit 1
        fi
        frontier=("${next[@]}")
      done
      copied[$so]=1
      tree=${found#"$work"/trees/}; pkg=${tree%%/*}
      local rel dest
      rel=${found#"$work/trees/$pkg"}
      # The interpreter goes where the binary asks for it; every other library to the multiarch folder it came from,
      # which the dynamic loader searches without an ld.so.cache.
      if [ "$so" = "${interp##*/}" ]; then dest=$root$interp; else dest=$root/lib/$(basename "$(dirname "$rel")")/$so; fi
      mkdir -p "$(dirname "$dest")"
      cp -L "$found" "$dest"
      chmod 0755 "$dest"
      todo+=("$dest")
      deb=$(ls "$work"/debs/"${pkg}"_*.deb)
      src=$(source_of "$deb")
      printf '{ "soname": "%s", "package": "%s", "version": "%s", "sourcePackage": "%s", "sourceVersion": "%s", "sha256": "%s" }\n' \
        "$so" "$pkg" "$(dpkg-deb -f "$deb" Version)" "${src%% *}" "${src#* }" "$(sha256sum "$dest" | cut -d' ' -f1)" >> "$work/libraries.json"
    done
    wanted_libs=()
  done
}

for arch in "${arches[@]}"; do
  build_one "$arch"
  bash "$here/build-disk.sh" "$out_root/$arch"
done

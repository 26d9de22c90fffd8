#!/usr/bin/env bash
# Installs what QemuTestKit's tests and samples need on Debian/Ubuntu, and only what is missing.
# Idempotent: when everything is present it installs nothing and says so.
#   --docker   also install Docker Engine (docker.io), for the container runner's tests
# The .NET SDK itself is expected on PATH (see README).
set -euo pipefail

want_docker=false
for arg in "$@"; do
  case "$arg" in
    --docker) want_docker=true ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-prerequisites: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

# command (or absolute file) that proves the package is there -> Debian package that provides it
declare -a wanted=(
  "qemu-system-x86_64:qemu-system-x86"
  "qemu-system-aarch64:qemu-system-arm"
  "qemu-img:qemu-utils"
  "cpio:cpio"
  # build/guest/build.sh reads qemu-ga's NEEDED libraries and program interpreter with readelf
  "readelf:binutils"
  "mkfs.ext2:e2fsprogs"
  "setpriv:util-linux"
  "curl:curl"
  # UEFI firmware for profiles with "firmware": "uefi" (QemuFirmware.cs names the same files), and the tools
  # build/guest/build-disk.sh makes the tiny-uefi disk image with
  "/usr/share/OVMF/OVMF_CODE_4M.fd:ovmf"
  "/usr/share/AAVMF/AAVMF_CODE.fd:qemu-efi-aarch64"
  "sgdisk:gdisk"
  "mkfs.vfat:dosfstools"
  "mcopy:mtools"
)
$want_docker && wanted+=("dockerd:docker.io" "socat:socat" "busybox:busybox-static")

# The tiny guest of each architecture comes from Debian packages of that architecture (build/guest/build.sh downloads
# them with apt-get download, never installs them), so apt must know the foreign one.
foreign=()
native=$(dpkg --print-architecture)
for arch in amd64 arm64; do
  [ "$arch" = "$native" ] || dpkg --print-foreign-architectures | grep -qx "$arch" || foreign+=("$arch")
done

missing=()
for pair in "${wanted[@]}"; do
  proof=${pair%%:*}
  case "$proof" in
    /*) [ -e "$proof" ] || missing+=("${pair#*:}") ;;
    *) command -v "$proof" >/dev/null 2>&1 || missing+=("${pair#*:}") ;;
  esac
done
# qemu-guest-agent: the guest agent client's tests run Debian's qemu-ga on the host (in /usr/sbin, often off PATH).
dpkg-query -W -f='${Status}' qemu-guest-agent 2>/dev/null | grep -q "install ok installed" || missing+=(qemu-guest-agent)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-prerequisites: the .NET SDK (10.0) is not on PATH; install it first: https://learn.microsoft.com/dotnet/core/install/linux" >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#foreign[@]} -eq 0 ]; then
  echo "install-prerequisites: everything is present ($(qemu-system-x86_64 --version | head -n 1))"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
for arch in ${foreign[@]+"${foreign[@]}"}; do
  echo "install-prerequisites: adding the $arch architecture to dpkg (for the tiny guest's packages)"
  $sudo dpkg --add-architecture "$arch"
done
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-prerequisites: installing ${missing[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-prerequisites: installed ${missing[*]} ($(qemu-system-x86_64 --version | head -n 1))"
fi

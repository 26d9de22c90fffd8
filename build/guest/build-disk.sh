#!/usr/bin/env bash
# Makes the UEFI disk image of a tiny guest that build.sh has built: out/<arch>/disk-uefi.img, a raw GPT disk whose
# only partition is an EFI system partition (FAT) holding
#   \vmlinuz.efi       the guest's kernel: Debian's kernel is an EFI application (EFI stub) on x86_64 and aarch64
#   \initramfs.gz      the guest's initramfs.cpio.gz, which the EFI stub loads itself (initrd= on its command line);
#                      the base one, without the guest agent: no tiny-uefi profile uses the agent
#   \startup.nsh       what the UEFI shell runs: the kernel with its command line
# There is deliberately no default boot path (\EFI\BOOT\BOOTX64.EFI / BOOTAA64.EFI): the firmware would start the
# kernel from it without a command line, so without its initramfs. With none, the firmware finds nothing to boot on the
# disk and falls back to its UEFI shell, which counts down ("Press ESC in N seconds to skip startup.nsh") and runs
# startup.nsh: no keyboard needed, and a test can stop in that countdown.
# Records the image, its SHA-256 and the tools in out/<arch>/guest.json ("disk"). Usage: build-disk.sh <out/<arch>>
# Tools (Debian packages): sgdisk (gdisk), mkfs.vfat (dosfstools), mcopy/mmd (mtools).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-disk.sh <the guest folder build.sh made, e.g. build/guest/out/x86_64>}

need() { command -v "$1" >/dev/null || { echo "build-disk: '$1' is missing (Debian package $2); run build/install-prerequisites.sh" >&2; exit 1; }; }
need sgdisk gdisk; need mkfs.vfat dosfstools; need mcopy mtools; need sha256sum coreutils

arch=$(sed -n 's/.*"arch": "\([^"]*\)".*/\1/p' "$out/guest.json")
case "$arch" in
  x86_64) console=ttyS0; extra=" no_timer_check" ;;
  aarch64) console=ttyAMA0; extra="" ;;
  *) echo "build-disk: no UEFI disk for '$arch'" >&2; exit 2 ;;
esac
# The same command line as the -kernel profiles (BuiltInProfiles.cs), so the guest behaves the same either way.
cmdline="initrd=\\initramfs.gz console=$console quiet panic=-1$extra"

inputs=$( { sha256sum "$out/vmlinuz" "$out/initramfs.cpio.gz" | cut -d' ' -f1; echo "$cmdline"; cat "$here/build-disk.sh"; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/disk-uefi.img" ] && grep -q "\"diskInputs\": \"$inputs\"" "$out/guest.json"; then
  echo "build-disk: $arch disk up to date in $out/disk-uefi.img"
  exit 0
fi

work=$(mktemp -d)
# shellcheck disable=SC2064 # expand now: the trap must remove this build's folder
trap "rm -rf '$work'" EXIT

# Room for the kernel and initramfs plus slack, whole MiB; FAT16 takes up to 2 GiB and needs no minimum like FAT32.
payload=$(( ($(stat -c %s "$out/vmlinuz") + $(stat -c %s "$out/initramfs.cpio.gz") + 1048575) / 1048576 ))
part_mib=$(( payload + 8 ))
disk_mib=$(( part_mib + 2 ))   # 1 MiB before the partition (GPT and alignment), 1 MiB after (backup GPT)

printf 'fs0:\r\n\\vmlinuz.efi %s\r\n' "$cmdline" > "$work/startup.nsh"
# Fixed volume id and timestamps: the same inputs give the same image, so its hash only changes with its content.
mkfs.vfat -F 16 -n QTK-ESP -i 51544b00 -C "$work/esp.img" $(( part_mib * 1024 )) >/dev/null
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=0
touch -d @0 "$work/startup.nsh"
mcopy -m -i "$work/esp.img" "$out/vmlinuz" ::/vmlinuz.efi
mcopy -m -i "$work/esp.img" "$out/initramfs.cpio.gz" ::/initramfs.gz
mcopy -m -i "$work/esp.img" "$work/startup.nsh" ::/startup.nsh

truncate -s "${disk_mib}M" "$work/disk.img"
sgdisk --clear --disk-guid=51544b00-0000-4000-8000-000000000001 \
  --new=1:2048:+"${part_mib}M" --typecode=1:ef00 --change-name=1:QTK-ESP \
  --partition-guid=1:51544b00-0000-4000-8000-000000000002 "$work/disk.img" >/dev/null
dd if="$work/esp.img" of="$work/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none

install -m 0644 "$work/disk.img" "$out/disk-uefi.img"
dsha=$(sha256sum "$out/disk-uefi.img" | cut -d' ' -f1)
tools="sgdisk $(dpkg-query -W -f='${Version}' gdisk), mkfs.vfat $(dpkg-query -W -f='${Version}' dosfstools), mtools $(dpkg-query -W -f='${Version}' mtools)"
# guest.json: replace the disk fields of an earlier run, then add this run's before the closing brace.
sed -i -e '/^  "disk/d' -e '/^}$/d' "$out/guest.json"
sed -i -e '$ s/[^,]$/&,/' "$out/guest.json"
cat >> "$out/guest.json" <<JSON
  "disk": "disk-uefi.img",
  "diskSha256": "$dsha",
  "diskLayout": "GPT, one EFI system partition (FAT16): vmlinuz.efi, initramfs.gz, startup.nsh",
  "diskCommandLine": "$(printf '%s' "$cmdline" | sed 's/\\/\\\\/g')",
  "diskTools": "$tools",
  "diskInputs": "$inputs"
}
JSON
echo "build-disk: $arch: $out/disk-uefi.img ($disk_mib MiB, $dsha)"

#!/usr/bin/env python3
"""Boot-to-ready of two tiny guest builds, interleaved, for comparing a change to the guest (README figures).

Usage: measure-boot.py <arch> <before-dir> <after-dir> [runs]
Each run boots <before-dir> and <after-dir> without the agent's port and <after-dir> with it (virtio-serial-pci plus
a port named org.qemu.guest_agent.0 on a unix socket), in alternating order, and prints the seconds from starting QEMU
to the ready marker and, with the port, to the guest agent's first answer to guest-sync-delimited. Without the port a
folder's initramfs.cpio.gz boots (what tiny boots); with it, its initramfs-agent.cpio.gz when there is one (what
tiny-agent boots; guests built before it had qemu-ga in initramfs.cpio.gz). The last line has
the medians. TCG, as the tests run; every QEMU is killed after its run. Shared boxes are noisy: compare within a run.
"""
import os, socket, statistics, subprocess, sys, tempfile, time

MARKER = b"QEMUTESTKIT-READY"

def command(arch, folder, port):
    initrd = os.path.join(folder, "initramfs.cpio.gz")
    if port and os.path.exists(os.path.join(folder, "initramfs-agent.cpio.gz")):
        initrd = os.path.join(folder, "initramfs-agent.cpio.gz")
    common = ["-accel", "tcg", "-m", "256", "-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
              "-kernel", os.path.join(folder, "vmlinuz"), "-initrd", initrd]
    if arch == "x86_64":
        return ["qemu-system-x86_64", "-machine", "pc", *common, "-append", "console=ttyS0 quiet panic=-1 no_timer_check"]
    return ["qemu-system-aarch64", "-machine", "virt", "-cpu", "max,pauth-impdef=on", *common,
            "-append", "console=ttyAMA0 quiet panic=-1"]

def boot(arch, folder, port, scratch):
    sock = os.path.join(scratch, "qga.sock")
    cmd = command(arch, folder, port)
    if port:
        cmd += ["-chardev", f"socket,id=qga0,path={sock},server=on,wait=off", "-device", "virtio-serial-pci,id=qs",
                "-device", "virtserialport,bus=qs.0,chardev=qga0,name=org.qemu.guest_agent.0"]
    start = time.monotonic()
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = b""
        while MARKER not in seen:
            chunk = qemu.stdout.read1(4096)
            if not chunk:
                raise RuntimeError(f"QEMU ended before the ready marker: {seen[-500:]!r}")
            seen = seen[-4096:] + chunk
        ready = time.monotonic() - start
        agent = None
        if port:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(sock)
                s.settimeout(0.5)
                reply = b""
                while b'"return": 7' not in reply:
                    s.sendall(b'\xff{"execute": "guest-sync-delimited", "arguments": {"id": 7}}\n')
                    try:
                        reply += s.recv(4096)
                    except socket.timeout:
                        pass
                    if time.monotonic() - start > 600:
                        raise RuntimeError("the guest agent did not answer within 10 minutes")
            agent = time.monotonic() - start
        return ready, agent
    finally:
        qemu.kill()
        qemu.wait()

def main():
    arch, before, after = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    results = {"before": [], "after": [], "after+port": [], "agent": []}
    with tempfile.TemporaryDirectory(prefix="qtk-measure-") as scratch:
        for i in range(runs):
            order = [("before", before, False), ("after", after, False), ("after+port", after, True)]
            if i % 2:
                order.reverse()
            for name, folder, port in order:
                ready, agent = boot(arch, folder, port, scratch)
                results[name].append(ready)
                if agent is not None:
                    results["agent"].append(agent)
            print(arch, i, {k: round(v[-1], 2) for k, v in results.items()}, flush=True)
    print(arch, "medians", {k: round(statistics.median(v), 2) for k, v in results.items()}, flush=True)

if __name__ == "__main__":
    main()

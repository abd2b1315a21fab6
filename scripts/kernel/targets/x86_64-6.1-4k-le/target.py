"""x86_64, Linux 6.1, 4 KiB pages, little-endian, on `qemu-system-x86_64` (TCG). x86 PCs have no NOR
flash, so the flash is a 64 MiB window of RAM hidden from the kernel (memmap=) and described twice: as
physmap-flash.0 (CONFIG_MTD_PHYSMAP_COMPAT, which supports mtd_point: the XIP path) and as a writable phram
device. The guest copies each flash image from its virtio disk into the window through phram
(cramfs.fill=vdX>phram-window) and then mounts mtd:physmap-flash.0, so one boot proves every image on flash.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from proofkit import build_linux, make_results_disk, read_results, run_qemu  # noqa: E402

NAME = "x86_64-6.1-4k-le"
PAGE_SIZE = 4096
BYTE_ORDER = "little"
HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = 0x18000000       # CONFIG_MTD_PHYSMAP_START and the memmap= reservation
WINDOW_SIZE = 64 << 20    # CONFIG_MTD_PHYSMAP_LEN
FLASH_SLOTS = [{"mtd": "physmap-flash.0", "base": WINDOW, "capacity": WINDOW_SIZE}]
FLASH_REFILL = True


def build_kernel(cache_dir):
    return build_linux(cache_dir, "linux-source-6.1", [os.path.join(HERE, "kernel.config")], [], "bzImage",
                       {"kernel": "arch/x86/boot/bzImage"}) | {"dtb": None}


def cross_cc():
    return ["gcc"]


def assemble_tree(dest):
    import subprocess
    subprocess.run([os.path.join(HERE, "tree"), dest], check=True)


def boot(artifacts, initramfs, disks, flash, work, timeout):
    # PCI virtio disks are named in command-line order: the images, then flash images not among them,
    # then the results disk last.
    drives = list(disks)
    fills = []
    for image in flash:
        if image not in drives:
            drives.append(image)
        fills.append(f"vd{chr(ord('a') + drives.index(image))}>phram-window")
    results = make_results_disk(work)
    append = (f"console=ttyS0 panic=-1 memmap={WINDOW_SIZE >> 20}M${WINDOW:#x} "
              f"phram.phram=phram-window,{WINDOW:#x},{WINDOW_SIZE >> 20}Mi "
              f"cramfs.flash={','.join(['physmap-flash.0'] * len(flash))} cramfs.fill={','.join(fills)} "
              # x86 without ACPI cannot power off; a reboot ends QEMU under -no-reboot.
              "cramfs.end=reboot")
    command = ["qemu-system-x86_64", "-m", "512M", "-smp", "1", "-display", "none", "-monitor", "none",
               "-serial", "stdio", "-no-reboot", "-kernel", artifacts["kernel"], "-initrd", initramfs,
               "-append", append]
    for image in drives:
        command += ["-drive", f"file={image},format=raw,if=virtio,readonly=on"]
    command += ["-drive", f"file={results},format=raw,if=virtio"]
    console, seconds = run_qemu(command, work, timeout)
    return read_results(results), console, seconds

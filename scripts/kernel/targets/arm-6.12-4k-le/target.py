"""32-bit ARM (ARMv7, little-endian, 4 KiB pages), Linux 6.12 on `qemu-system-arm -M virt,highmem=off
-cpu cortex-a15`. Images sit in the machine's real CFI NOR flash: QEMU emulates Intel CFI flash at a
physical address, so `mount -t cramfs mtd:NAME` maps files through mtd_point as on a board. The second 64 MiB
bank is the flash slot once the device tree gives it a node of its own (proofkit.boot_virt).
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from proofkit import TargetError, boot_virt, build_linux  # noqa: E402

NAME = "arm-6.12-4k-le"
PAGE_SIZE = 4096
BYTE_ORDER = "little"
HERE = os.path.dirname(os.path.abspath(__file__))
BANK = 64 << 20
# virt's pflash banks: unit 0 at 0, unit 1 at 64 MiB. A unit 0 drive counts as firmware (QEMU would run
# it instead of booting -kernel directly), so only bank 1 holds images; bank 0 is disabled in the tree.
FLASH_SLOTS = [{"mtd": "cramfs_flash", "base": 0x04000000, "capacity": BANK}]
MACHINE = ["qemu-system-arm", "-M", "virt,highmem=off", "-cpu", "cortex-a15", "-m", "256M", "-smp", "1"]
TRIPLET = "arm-linux-gnueabihf"


def build_kernel(cache_dir):
    if not shutil.which(f"{TRIPLET}-gcc"):
        raise TargetError(f"{TRIPLET}-gcc missing (apt-get install gcc-{TRIPLET})")
    return build_linux(cache_dir, "linux-source-6.12", [os.path.join(HERE, "kernel.config")],
                       ["ARCH=arm", f"CROSS_COMPILE={TRIPLET}-"], "zImage",
                       {"kernel": "arch/arm/boot/zImage"}) | {"dtb": None}


def cross_cc():
    return [f"{TRIPLET}-gcc"]


def assemble_tree(dest):
    subprocess.run([os.path.join(HERE, "tree"), dest], check=True)


def extra_images(cramfs, tree, work):
    """`-X -X` alone (no --xip patterns): only the read-only PT_LOAD segments of the ARM ELF32 programs and
    libraries are stored direct and page aligned, so each maps partially, as mkcramfs -X -X does."""
    image = os.path.join(work, "elf-only.img")
    subprocess.run([cramfs, "make", "-q", "-b", str(PAGE_SIZE), "-N", BYTE_ORDER, "-X", "-X", tree, image],
                   check=True, capture_output=True)
    return [(image, tree, ["squash"])]


def boot(artifacts, initramfs, disks, flash, work, timeout):
    return boot_virt(MACHINE, BANK, FLASH_SLOTS, artifacts, initramfs, disks, flash, work, timeout)

"""Big-endian: 32-bit MIPS (MIPS32r2, big-endian, 4 KiB pages), Linux 6.12 on `qemu-system-mips -M malta`.

Flash: Malta's 4 MiB Intel CFI NOR flash at physical 0x1e000000 (QEMU: pflash unit 0, bank width 4,
big-endian). The kernel's built-in device tree (arch/mips/boot/dts/mti/malta.dts, physmap-of + ofpart)
splits it into "YAMON" (0..1 MiB), "User FS" (offset 0x100000, 0x2e0000 bytes) and "Board Config"; the
image goes into "User FS", so its physical address (`cramfs xip --base`) is 0x1e100000 and the guest
mounts it as `mtd:User FS` (mapped through mtd_point). QEMU writes its own little boot loader into the
in-memory copy of the first 1 MiB (YAMON) only.

NOTE TO THE DRIVER / guest/init.c: this MTD name contains a space. boot() passes it on the kernel command
line inside double quotes, `cramfs.flash="User FS"` (the kernel keeps the quotes in /proc/cmdline, QEMU's
Malta loader passes -append as one argument, and guest/init.c's parameter() takes spaces inside quotes as
part of the token and drops the quotes), so the guest mounts `mtd:User FS` and says `FLASH User FS`.

Disks: virtio-blk-pci on Malta's PCI bus (GT-64120), in the four PCI slots that have interrupts (18-21),
eight functions each at most; they appear in the guest as /dev/vd* in PCI (slot, function) order.

Debian 12 has no big-endian MIPS userland, so the tree is built here: two small C programs (src/*.c)
cross-compiled static and dynamic with gcc-mips-linux-gnu, and the smaller shared libraries of
libc6-mips-cross. libc.so.6 (1.9 MB) is left out so that an image with every library stored direct and
uncompressed still fits the 0x2e0000-byte partition; the programs are only read and mapped, never run.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from proofkit import TargetError, build_linux, make_results_disk, read_results, run_qemu  # noqa: E402

NAME = "mips-6.12-4k-be"
PAGE_SIZE = 4096
BYTE_ORDER = "big"
HERE = os.path.dirname(os.path.abspath(__file__))
TRIPLET = "mips-linux-gnu"
SYSROOT = f"/usr/{TRIPLET}"
FLASH_BASE = 0x1E000000       # malta.dts flash@1e000000, reg <0x1e000000 0x400000>
FLASH_SIZE = 4 << 20          # the pflash file must be exactly 4 MiB
USER_FS_OFFSET = 0x100000     # malta.dts user-fs@100000
USER_FS_SIZE = 0x2E0000
FLASH_SLOTS = [{"mtd": "User FS", "base": FLASH_BASE + USER_FS_OFFSET, "capacity": USER_FS_SIZE}]
MACHINE = ["qemu-system-mips", "-M", "malta", "-m", "256M", "-smp", "1"]
# One flash slot and no refill: each image that fits gets a boot of its own. A boot takes 3-8 s under TCG
# (2 busy cores); the timeout only bounds a hung guest.
TIMEOUT = 240
# The smaller libraries of libc6-mips-cross (real file, soname): libc.so.6 does not fit the partition.
LIBRARIES = ["ld.so.1", "libm.so.6", "libresolv.so.2", "libdl.so.2", "libgcc_s.so.1"]


def build_kernel(cache_dir):
    if not shutil.which(f"{TRIPLET}-gcc"):
        raise TargetError(f"{TRIPLET}-gcc missing (apt-get install gcc-{TRIPLET})")
    if not shutil.which(MACHINE[0]):
        raise TargetError(f"{MACHINE[0]} missing (apt-get install qemu-system-mips)")
    return build_linux(cache_dir, "linux-source-6.12", [os.path.join(HERE, "kernel.config")],
                       ["ARCH=mips", f"CROSS_COMPILE={TRIPLET}-"], "vmlinux",
                       {"kernel": "vmlinux"}) | {"dtb": None}


def cross_cc():
    return [f"{TRIPLET}-gcc"]


def _cc(args):
    result = subprocess.run(cross_cc() + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise TargetError(f"{TRIPLET}-gcc failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")


def _write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def assemble_tree(dest):
    """A small big-endian MIPS root filesystem: ELF32 MSB programs (static and dynamic) and libraries,
    device nodes, a fifo, symlinks, a file with long runs of zeros (for -z) and the two XIP data files.
    Needs root (device nodes, owners)."""
    shutil.rmtree(dest, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/share/misc", "lib", "dev", "etc", "proc", "sys", "tmp", "root",
              "home/user", "var/lib"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    src = os.path.join(HERE, "src")
    _cc(["-O2", "-static", "-s", "-o", os.path.join(dest, "bin/hello-static"), os.path.join(src, "hello.c")])
    _cc(["-O2", "-o", os.path.join(dest, "usr/bin/hello"), os.path.join(src, "hello.c")])
    _cc(["-O2", "-o", os.path.join(dest, "usr/bin/count"), os.path.join(src, "count.c"), "-lm"])
    for library in LIBRARIES:
        real = os.path.realpath(os.path.join(SYSROOT, "lib", library))
        if not os.path.isfile(real):
            raise TargetError(f"{real} missing (apt-get install libc6-mips-cross)")
        shutil.copy(real, os.path.join(dest, "lib", os.path.basename(real)))
        if os.path.basename(real) != library:
            os.symlink(os.path.basename(real), os.path.join(dest, "lib", library))
    # Symlinks: relative, absolute, to a directory, dangling.
    os.symlink("libm.so.6", os.path.join(dest, "lib/libm.so"))
    os.symlink("lib", os.path.join(dest, "lib32"))
    os.symlink("hello-static", os.path.join(dest, "bin/sh"))
    os.symlink("../../bin/hello-static", os.path.join(dest, "usr/bin/hello-link"))
    os.symlink("/proc/mounts", os.path.join(dest, "etc/mtab"))
    os.symlink("/tmp/does-not-exist", os.path.join(dest, "var/lib/dangling"))
    # Device nodes and a fifo.
    for name, kind, major, minor in (("console", "c", 5, 1), ("null", "c", 1, 3), ("ttyS0", "c", 4, 64),
                                     ("mtdblock1", "b", 31, 1), ("vda", "b", 254, 0)):
        os.mknod(os.path.join(dest, "dev", name), 0o600 | (0o20000 if kind == "c" else 0o60000),
                 os.makedev(major, minor))
    os.mkfifo(os.path.join(dest, "dev/initctl"), 0o600)
    _write(os.path.join(dest, "etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:100::/home/user:/bin/sh\n")
    _write(os.path.join(dest, "etc/group"), b"root:x:0:\nusers:x:100:\n")
    _write(os.path.join(dest, "etc/hostname"), b"malta-be\n")
    # Whole-file XIP data: one ending in a partial page, one an exact number of pages (the read() defect).
    _write(os.path.join(dest, "etc/xip-partial"), os.urandom(5000))
    _write(os.path.join(dest, "etc/xip-exact"), os.urandom(2 * PAGE_SIZE))
    # Long runs of zeros: whole zero blocks become holes with -z. A sparse file with data at the start,
    # in the middle (not block aligned) and at the end, and a file of zeros only.
    holes = os.path.join(dest, "usr/share/misc/holes.bin")
    with open(holes, "wb") as f:
        f.write(os.urandom(3000))
        f.seek(70000)
        f.write(os.urandom(5000))
        f.seek(200 * 1024 - 1000)
        f.write(os.urandom(1000))
    _write(os.path.join(dest, "usr/share/misc/zeros.bin"), bytes(48 * 1024))
    _write(os.path.join(dest, "usr/share/misc/words"), b"".join(b"%d big-endian\n" % i for i in range(3000)))
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    os.chmod(os.path.join(dest, "root"), 0o700)
    os.chmod(os.path.join(dest, "usr/bin/count"), 0o4755)
    os.chown(os.path.join(dest, "home/user"), 1000, 100)
    _write(os.path.join(dest, "home/user/notes"), b"owned by user\n", 0o640)
    os.chown(os.path.join(dest, "home/user/notes"), 1000, 100)


def extra_images(cramfs, tree, work):
    """The big-endian done-when image: -N big with holes (-z), the 512-byte pad (-p), an inserted file (-i)
    and XIP files (whole: the libraries and data files; -X -X: the programs' read-only segments). It goes
    to flash, so the mount maps what `cramfs xip` predicts. The inserted file sits after the superblock,
    outside every directory, so the guest's walk sees only the tree."""
    inserted = os.path.join(work, "mips-boot-blob")
    _write(inserted, b"".join(b"boot blob line %04d\n" % i for i in range(150)))  # 3000 bytes
    image = os.path.join(work, "mips-big-zpi-xip.img")
    result = subprocess.run([cramfs, "make", "-N", "big", "-z", "-p", "-i", inserted, "--xip", "/lib/*",
                             "--xip", "/etc/xip-*", "-X", "-X", tree, image], capture_output=True, text=True)
    if result.returncode != 0:
        raise TargetError(f"cramfs make -N big -z -p -i failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    # No flags: owners kept (no -q), read-bug guard on. It fits the User FS partition, so the driver puts it
    # in flash in a boot of its own (one slot, no refill) besides proving it through a block device.
    return [(image, tree, set())]


def boot(artifacts, initramfs, disks, flash, work, timeout):
    if len(flash) > len(FLASH_SLOTS):
        raise TargetError(f"{len(flash)} flash images for {len(FLASH_SLOTS)} slot")
    results = make_results_disk(work)
    # The 4 MiB flash: the image at the User FS partition, the rest erased (0xff) as on a board.
    pflash = os.path.join(work, "pflash.raw")
    with open(pflash, "wb") as f:
        f.write(b"\xff" * FLASH_SIZE)
        if flash:
            if os.path.getsize(flash[0]) > USER_FS_SIZE:
                raise TargetError(f"{os.path.basename(flash[0])} is larger than the {USER_FS_SIZE:#x} byte "
                                  f"User FS partition")
            f.seek(USER_FS_OFFSET)
            with open(flash[0], "rb") as image:
                f.write(image.read())
    append = "console=ttyS0 panic=-1"
    if flash:
        names = ",".join(FLASH_SLOTS[i]["mtd"] for i in range(len(flash)))
        append += f' cramfs.flash="{names}"'
    command = MACHINE + ["-display", "none", "-vga", "none", "-nic", "none", "-monitor", "none",
                         "-serial", "stdio", "-no-reboot", "-kernel", artifacts["kernel"], "-initrd", initramfs,
                         "-append", append, "-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={pflash}"]
    every = list(disks) + [results]
    if len(every) > 4 * 8:
        raise TargetError(f"{len(every)} disks; Malta's four PCI slots take at most 32 (8 functions each)")
    for index, disk in enumerate(every):
        readonly = ",readonly=on" if disk != results else ""
        # Malta routes interrupts only for its four PCI slots, 18-21 (irq_tab in arch/mips/pci/fixup-malta.c
        # ends at slot 21); in slots 22 and 23 (QEMU's next free ones) virtio_blk failed to probe (-ENOSPC).
        # So the disks fill slots 18-21 as functions of multifunction devices, sharing the slot's INTx line.
        slot, function = 18 + index % 4, index // 4
        multifunction = ",multifunction=on" if function == 0 and index + 4 < len(every) else ""
        command += ["-drive", f"file={disk},format=raw,if=none,id=d{index}{readonly}",
                    "-device", f"virtio-blk-pci,drive=d{index},addr={slot:#x}.{function}{multifunction}"]
    console, seconds = run_qemu(command, work, timeout)
    return read_results(results), console, seconds

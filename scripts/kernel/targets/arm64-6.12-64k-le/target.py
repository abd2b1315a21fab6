"""arm64 (AArch64, little-endian) with 64 KiB pages, Linux 6.12 on `qemu-system-aarch64 -M virt -cpu cortex-a57`
(the A57 implements the 64 KiB translation granule; CONFIG_ARM64_64K_PAGES=y). Images are built with
`-b 65536` and sit in the machine's real CFI NOR flash: the second 64 MiB pflash bank at physical 0x04000000,
once the device tree gives it a node of its own (proofkit.boot_virt), maps files through mtd_point.

The tree is AArch64 ELF64 throughout: Debian's arm64 glibc (libc6-arm64-cross) and programs cross-compiled
here from src/*.c (dynamic, and static unstripped for partial maps), no foreign userland needed.

extra_images adds the case only 64 KiB pages make likely: a file whose last page is shared with another
file's data (kernel: cramfs_last_page_is_shared), which the kernel maps partially.
"""
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
try:
    from proofkit import TargetError, boot_virt, build_linux  # noqa: E402
except ImportError:  # proofkit not there: only TargetError is needed to report that
    class TargetError(Exception):
        """A target could not be built or booted; the message is one line and says why."""

NAME = "arm64-6.12-64k-le"
PAGE_SIZE = 65536
BYTE_ORDER = "little"
HERE = os.path.dirname(os.path.abspath(__file__))
BANK = 64 << 20
# virt's pflash banks: unit 0 at 0, unit 1 at 64 MiB. A unit 0 drive counts as firmware (QEMU would run it
# instead of booting -kernel directly), so only bank 1 holds images; bank 0 is disabled in the tree.
FLASH_SLOTS = [{"mtd": "cramfs_flash", "base": 0x04000000, "capacity": BANK}]
MACHINE = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-m", "512M", "-smp", "1"]
TRIPLET = "aarch64-linux-gnu"
SYSROOT_LIB = f"/usr/{TRIPLET}/lib"


def build_kernel(cache_dir):
    if not shutil.which(f"{TRIPLET}-gcc"):
        raise TargetError(f"{TRIPLET}-gcc missing (apt-get install gcc-{TRIPLET})")
    return build_linux(cache_dir, "linux-source-6.12", [os.path.join(HERE, "kernel.config")],
                       ["ARCH=arm64", f"CROSS_COMPILE={TRIPLET}-"], "Image",
                       {"kernel": "arch/arm64/boot/Image"}) | {"dtb": None}


def cross_cc():
    return [f"{TRIPLET}-gcc"]


def _cc(args):
    result = subprocess.run(cross_cc() + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise TargetError(f"{TRIPLET}-gcc {' '.join(args[-3:])} failed: "
                          f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")


def _table_program(path, work, size=100000):
    """src/table.c linked freestanding: one read-only PT_LOAD covering the whole file (checked)."""
    rng = random.Random(64)  # fixed content: the same file on every run
    data = bytes(rng.getrandbits(8) for _ in range(size))
    header = os.path.join(work, "table.h")
    with open(header, "w") as f:
        f.write(f"#define TABLE_SIZE {size}\nstatic const unsigned char table[TABLE_SIZE] = {{"
                + ",".join(map(str, data)) + "};\n")
    _cc(["-O2", "-I", work, "-ffreestanding", "-fno-stack-protector", "-fno-pic", "-static", "-nostdlib",
         "-Wl,--build-id=none", "-Wl,-z,noseparate-code", "-s", "-o", path, os.path.join(HERE, "src", "table.c")])
    headers = subprocess.run([f"{TRIPLET}-readelf", "-lW", path], capture_output=True, text=True).stdout
    loads = [line.split() for line in headers.splitlines() if line.split()[:1] == ["LOAD"]]
    if len(loads) != 1 or "W" in loads[0][6:-1] or int(loads[0][1], 16) != 0:
        raise TargetError(f"{os.path.basename(path)}: expected one read-only PT_LOAD at offset 0, got {loads}")
    file_size = os.path.getsize(path)
    if (int(loads[0][4], 16) - 1) // PAGE_SIZE != (file_size - 1) // PAGE_SIZE or file_size % PAGE_SIZE == 0 \
            or file_size <= PAGE_SIZE:
        raise TargetError(f"{os.path.basename(path)}: its segment does not reach its last, partial page")


def assemble_tree(dest):
    """An arm64 embedded root: glibc's shared libraries (real files, sonames as links), programs built from
    src/hello.c (dynamic; static and unstripped), device nodes, a fifo, symlinks, owners, and two data files
    for whole-file XIP: one ending in a partial 64 KiB page, one an exact number of 64 KiB pages."""
    if os.path.lexists(dest):
        shutil.rmtree(dest)
    for directory in ("bin", "sbin", "usr/bin", "usr/lib", "lib", "dev", "etc/init.d", "proc", "sys", "tmp",
                      "root", "home/user", "mnt"):
        os.makedirs(os.path.join(dest, directory), exist_ok=True)
    if not os.path.isfile(os.path.join(SYSROOT_LIB, "libc.so.6")):
        raise TargetError(f"{SYSROOT_LIB}/libc.so.6 missing (apt-get install libc6-arm64-cross)")
    # Libraries: the shared objects the programs load plus a few more, as a board's /lib holds them
    # (libc6-arm64-cross and libgcc-s1-arm64-cross, which gcc-aarch64-linux-gnu pulls in).
    for soname in ("ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6", "libresolv.so.2", "libgcc_s.so.1",
                   "libpthread.so.0", "libdl.so.2", "librt.so.1", "libanl.so.1", "libnss_files.so.2",
                   "libnss_dns.so.2"):
        source = os.path.join(SYSROOT_LIB, soname)
        if not os.path.exists(source):
            raise TargetError(f"{source} missing (libc6-arm64-cross, libgcc-s1-arm64-cross)")
        real = os.path.realpath(source)
        shutil.copy(real, os.path.join(dest, "lib", os.path.basename(real)))
        if os.path.basename(real) != soname:
            os.symlink(os.path.basename(real), os.path.join(dest, "lib", soname))
    os.symlink("lib", os.path.join(dest, "lib64"))
    hello = os.path.join(HERE, "src", "hello.c")
    _cc(["-O2", "-o", os.path.join(dest, "bin", "hello"), hello])
    _cc(["-O2", "-static", "-o", os.path.join(dest, "bin", "hello-static"), hello])
    shutil.copy(os.path.join(dest, "bin", "hello"), os.path.join(dest, "usr", "bin", "hello-stripped"))
    subprocess.run([f"{TRIPLET}-strip", os.path.join(dest, "usr", "bin", "hello-stripped")], check=True)
    os.symlink("../bin/hello-static", os.path.join(dest, "sbin", "init"))
    os.symlink("hello", os.path.join(dest, "bin", "sh"))
    os.symlink("../../bin/hello", os.path.join(dest, "usr", "bin", "hello"))
    os.symlink("/lib/ld-linux-aarch64.so.1", os.path.join(dest, "usr", "lib", "ld-linux-aarch64.so.1"))
    for name, kind, major, minor in (("console", "c", 5, 1), ("null", "c", 1, 3), ("ttyAMA0", "c", 204, 64),
                                     ("mtdblock0", "b", 31, 0), ("vda", "b", 254, 0)):
        mode = 0o600 if name == "console" else 0o666 if name == "null" else 0o660
        os.mknod(os.path.join(dest, "dev", name), mode | (0o020000 if kind == "c" else 0o060000),
                 os.makedev(major, minor))
    os.mkfifo(os.path.join(dest, "dev", "initctl"), 0o600)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    os.chmod(os.path.join(dest, "root"), 0o700)
    files = {"etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:100::/home/user:/bin/sh\n",
             "etc/group": b"root:x:0:\nusers:x:100:\n", "etc/hostname": b"cramfs-xip-arm64\n",
             "etc/inittab": b"::sysinit:/etc/init.d/rcS\n",
             "etc/init.d/rcS": b"#!/bin/sh\nmount -t proc proc /proc\n",
             "home/user/notes": b"owned by 1000:100\n"}
    # Whole-file XIP data: one ending in a partial 64 KiB page (100000 bytes), one of exactly two pages
    # (the kernel's read() defect on a full-size direct last page, see --no-read-bug-guard). Random, so
    # their blocks do not compress; 2 pages each keeps a direct page before the last one.
    files["etc/xip-partial"] = os.urandom(100000)
    files["etc/xip-exact"] = os.urandom(2 * PAGE_SIZE)
    for path, content in files.items():
        with open(os.path.join(dest, path), "wb") as f:
            f.write(content)
    os.chmod(os.path.join(dest, "etc/init.d/rcS"), 0o755)
    for path in ("home/user", "home/user/notes"):
        os.chown(os.path.join(dest, path), 1000, 100)


def extra_images(cramfs, tree, work):
    """The shared last page (format doc §7 rule 6), built by `cramfs make` alone:
    `--xip /a-exact --xip-elf 8`. The XIP area puts page-aligned runs first: /a-exact, exactly two pages,
    so the area continues at a page boundary. The 8-byte aligned runs follow in image order, packed:
    /bin/a64-table (src/table.c: one read-only segment over the whole file, 100,920 bytes, so two pages,
    both direct) starts page aligned, and /bin/hello's read-only segment starts at the next 8-byte boundary
    after it, inside /bin/a64-table's last page. The kernel maps /bin/a64-table's first page directly and
    drops the shared last one: partial. /bin/hello's run is not page aligned: none.
    The control image is the same without /bin/hello: /bin/a64-table's last page then ends in zeros (the
    image's padding) and the same file, at the same place, maps whole."""
    table = os.path.join(work, "a64-table")
    _table_program(table, work)
    exact = os.urandom(2 * PAGE_SIZE)
    images = []
    for name, neighbour, want in (("shared-tail", True, ("partial", "last page shared")),
                                  ("shared-tail-control", False, ("whole", None))):
        shared = os.path.join(work, f"{name}-tree")
        if os.path.lexists(shared):
            shutil.rmtree(shared)
        os.makedirs(os.path.join(shared, "bin"))
        shutil.copy(table, os.path.join(shared, "bin", "a64-table"))
        if neighbour:
            shutil.copy(os.path.join(tree, "bin", "hello"), os.path.join(shared, "bin", "hello"))
        with open(os.path.join(shared, "a-exact"), "wb") as f:
            f.write(exact)
        image = os.path.join(work, f"{name}.img")
        result = subprocess.run([cramfs, "make", "-b", str(PAGE_SIZE), "-N", BYTE_ORDER, "--xip", "/a-exact",
                                 "--xip-elf", "8", shared, image], capture_output=True, text=True)
        if result.returncode != 0:
            raise TargetError(f"cramfs make of {name}.img failed: "
                              f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
        # The image must hold the case, or the proof would pass without showing it.
        prediction = subprocess.run([cramfs, "xip", "--json", "--block-size", str(PAGE_SIZE),
                                     "--base", str(FLASH_SLOTS[0]["base"]), image], capture_output=True, text=True)
        files = {}
        if prediction.returncode == 0:
            files = {f["path"]: f for f in json.loads(prediction.stdout)["files"]}
        got = files.get("/bin/a64-table", {})
        if (got.get("mappingClass"), got.get("reason") or None) != want:
            raise TargetError(f"{name}.img: cramfs xip predicts {got.get('mappingClass')} ({got.get('reason')}) "
                              f"for /bin/a64-table, not {want[0]}{f' ({want[1]})' if want[1] else ''}")
        images.append((image, shared, {}))
    return images


def boot(artifacts, initramfs, disks, flash, work, timeout):
    return boot_virt(MACHINE, BANK, FLASH_SLOTS, artifacts, initramfs, disks, flash, work, timeout)

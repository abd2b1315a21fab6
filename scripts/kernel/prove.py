#!/usr/bin/env python3
"""The kernel's proof: boots a real Linux 6.1 (built by build-kernel) under QEMU and lets its cramfs driver
read images, through a virtio block device and through an MTD window in physical memory (the XIP path).

For every image: every entry seen by the kernel must equal the source tree (type, mode, owner, size, device
numbers, link target, content through read() and through mmap()), and on the MTD mount each regular file's
mapping class from /proc/self/smaps (pf = whole file direct, mm = partial, neither = none) must equal what
`cramfs xip --base WINDOW` predicts. On the block-device mount nothing may be mapped directly.

Usage: prove.py --cramfs PATH/TO/cramfs IMAGE=TREE [IMAGE=TREE ...]
Prints one line per disagreement and ends with 'kernel-proof: N passed, M failed'.
"""
import argparse
import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = 0x18000000       # CONFIG_MTD_PHYSMAP_START and the memmap= reservation
WINDOW_SIZE = 64 << 20    # CONFIG_MTD_PHYSMAP_LEN


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fnv1a_file(path):
    h = 0xCBF29CE484222325
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return h
            h = fnv1a(chunk, h)


def source_manifest(tree, squash=False):
    """What the kernel should show for each entry of `tree`, in the probe's fields."""
    manifest = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(path, tree)
            st = os.lstat(path)
            mode = st.st_mode
            kind = ("d" if stat.S_ISDIR(mode) else "f" if stat.S_ISREG(mode) else "l" if stat.S_ISLNK(mode)
                    else "c" if stat.S_ISCHR(mode) else "b" if stat.S_ISBLK(mode) else "p" if stat.S_ISFIFO(mode) else "s")
            uid, gid = (0, 0) if squash else (st.st_uid & 0xFFFF, st.st_gid & 0xFF)
            size = st.st_size if kind in "fl" else 0
            device = f"{os.major(st.st_rdev) & 0xFF}:{os.minor(st.st_rdev) & 0xFF}" if kind in "cb" else "-"
            target = os.readlink(path).encode().hex() if kind == "l" else "-"
            content = f"{fnv1a_file(path):016x}" if kind == "f" else "-"
            manifest[rel] = [kind, f"{stat.S_IMODE(mode):o}", str(uid), str(gid), str(size), device, target, content, content]
    return manifest


def make_initramfs(work):
    root = os.path.join(work, "initramfs")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy(os.path.join(HERE, "guest", "init"), os.path.join(root, "init"))
    os.chmod(os.path.join(root, "init"), 0o755)
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    subprocess.run(["gcc", "-O2", "-static", "-Wall", "-Werror", "-o", os.path.join(root, "bin", "probe"),
                    os.path.join(HERE, "guest", "probe.c")], check=True)
    listing = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    archive = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc"], cwd=root, input=listing, check=True,
                             capture_output=True).stdout
    path = os.path.join(work, "initramfs.cpio.gz")
    with gzip.open(path, "wb") as f:
        f.write(archive)
    return path


def boot(kernel, initramfs, images, work, timeout):
    console = os.path.join(work, "console.log")
    data = os.path.join(work, "data.log")
    append = (f"console=ttyS0 panic=-1 memmap={WINDOW_SIZE >> 20}M${WINDOW:#x} "
              f"phram.phram=phram-window,{WINDOW:#x},{WINDOW_SIZE >> 20}Mi "
              'dyndbg="file fs/cramfs/inode.c +p"')
    command = ["qemu-system-x86_64", "-m", "512M", "-smp", "1", "-display", "none", "-monitor", "none",
               "-no-reboot", "-kernel", kernel, "-initrd", initramfs, "-append", append,
               "-serial", f"file:{console}", "-serial", f"file:{data}"]
    for image in images:
        command += ["-drive", f"file={image},format=raw,if=virtio,readonly=on"]
    started = time.monotonic()
    try:
        subprocess.run(command, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print(f"kernel-proof: the guest did not finish within {timeout} s", file=sys.stderr)
    elapsed = time.monotonic() - started
    with open(data, errors="replace") as f:
        lines = f.read().splitlines()
    with open(console, errors="replace") as f:
        console_text = f.read()
    return lines, console_text, elapsed


def parse(lines):
    """{disk: {"blockdev"|"mtd": {"mounted": bool, "entries": {path: fields}}}}"""
    results, disk = {}, None
    for line in lines:
        line = line.rstrip("\r")
        if line.startswith("IMAGE "):
            disk = line.split()[1]
            results[disk] = {"blockdev": {"mounted": False, "entries": {}}, "mtd": {"mounted": False, "entries": {}}}
        elif line.startswith("MOUNT ") and disk:
            _, how, status = line.split()
            results[disk][how]["mounted"] = status == "ok"
        elif line.startswith("ENTRY\t") and disk:
            fields = line.split("\t")
            results[disk][fields[1]]["entries"][fields[2]] = fields[3:]
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cramfs", required=True, help="the cramfs executable (for `cramfs xip`)")
    parser.add_argument("--kernel", help="a bzImage; default: build-kernel's")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--squash", action="append", default=[], help="IMAGE built with -q (owners 0)")
    parser.add_argument("--defect", action="append", default=[],
                        help="IMAGE built with --no-read-bug-guard: its whole-direct files whose size is a multiple of "
                             "the page must show the kernel's read() defect (last page read as zeros, mmap right)")
    parser.add_argument("pairs", nargs="+", metavar="IMAGE=TREE")
    args = parser.parse_args()

    kernel = args.kernel or subprocess.run([os.path.join(HERE, "build-kernel")], check=True, capture_output=True,
                                           text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="cramfs-kernel-proof-")
    pairs = [p.split("=", 1) for p in args.pairs]
    for image, _ in pairs:
        if os.path.getsize(image) > WINDOW_SIZE:
            sys.exit(f"kernel-proof: {image} is larger than the {WINDOW_SIZE >> 20} MiB window")
    lines, console, elapsed = boot(kernel, make_initramfs(work), [i for i, _ in pairs], work, args.timeout)
    results = parse(lines)

    passed = failed = 0
    def check(ok, message):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {message}")

    for index, (image, tree) in enumerate(pairs):
        disk = "vd" + chr(ord("a") + index)
        name = os.path.basename(image)
        expected = source_manifest(tree, squash=image in args.squash)
        prediction = json.loads(subprocess.run([args.cramfs, "xip", "--json", "--base", str(WINDOW), image],
                                               check=True, capture_output=True, text=True).stdout)
        predicted = {f["path"]: f["mappingClass"] for f in prediction["files"]}
        # Files whose full-size last page is stored direct: read() of that page gives zeros on 6.1.
        defective = {f["path"] for f in prediction["files"] if image in args.defect and f["mappingClass"] == "whole"
                     and f["size"] % prediction["pageSize"] == 0}
        if image in args.defect:
            check(len(defective) > 0, f"{name}: no file to show the read() defect with")
        result = results.get(disk)
        check(result is not None, f"{name}: the guest never reached {disk}")
        if result is None:
            continue
        counts = {"whole": 0, "partial": 0, "none": 0}
        for how in ("blockdev", "mtd"):
            seen = result[how]
            check(seen["mounted"], f"{name}: mount through {how} failed")
            if not seen["mounted"]:
                continue
            entries = seen["entries"]
            check(set(entries) == set(expected),
                  f"{name} ({how}): entries differ: missing {sorted(set(expected) - set(entries))[:5]}, "
                  f"extra {sorted(set(entries) - set(expected))[:5]}")
            for path, want in expected.items():
                got = entries.get(path)
                if got is None:
                    continue
                if path in defective:
                    # read() gets zeros for the last page; a direct mapping (MTD) is right, while on a block
                    # device mmap shares read()'s page cache and is wrong the same way.
                    mapped_ok = got[8] == want[8] if how == "mtd" else got[8] == got[7]
                    check(got[:7] == want[:7] and got[7] != want[7] and mapped_ok,
                          f"{name} ({how}) {path}: expected the kernel's read() defect, "
                          f"kernel shows {got[:9]}, source has {want}")
                else:
                    check(got[:9] == want, f"{name} ({how}) {path}: kernel shows {got[:9]}, source has {want}")
                if want[0] != "f":
                    continue
                mapping = got[9]
                if how == "blockdev":
                    check(mapping == "none", f"{name} (blockdev) {path}: mapped directly ({mapping})")
                else:
                    counts[mapping] = counts.get(mapping, 0) + 1
                    check(mapping == predicted.get(path),
                          f"{name} (mtd) {path}: kernel maps {mapping}, cramfs xip predicted {predicted.get(path)}")
        print(f"kernel-proof: {name}: {len(expected)} entries, regular files mapped whole/partial/none on MTD: "
              f"{counts['whole']}/{counts['partial']}/{counts['none']}, predicted direct pages "
              f"{sum(f['directPages'] for f in prediction['files'])}, RAM saved {prediction['bytesSaved']} bytes")
    print(f"kernel-proof: guest ran {elapsed:.1f} s")
    if failed:
        tail = "\n".join(console.splitlines()[-40:])
        print(f"kernel-proof: last console lines:\n{tail}")
    print(f"kernel-proof: {passed} passed, {failed} failed")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

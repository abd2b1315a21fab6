#!/usr/bin/env python3
"""The kernel's proof on a matrix of targets: for each target (scripts/kernel/targets/<TARGET>/target.py) it
builds the target's kernel once (cached), builds images of the target's embedded tree (or of --tree DIR),
boots the kernel under QEMU and lets its cramfs driver read every image through a virtio block device and,
where the image fits, through memory-mapped flash (MTD: the XIP path).

Checks, per image and mount: every entry the kernel shows equals the source tree (type, mode, owner, size,
device numbers, link target, content through read() and through mmap()); inode number, st_blocks and
st_nlink equal what `cramfs list --json` reports (the library's stat: blocks by the kernel's rule, (size - 1) / 512 + 1 for entries
with data); `cramfs xip` reports the target's page size; on flash each regular file's mapping class
(from /proc/self/smaps: pf = whole, mm = partial) and its number of direct pages (pages minus Rss) equal
`cramfs xip --base SLOT_BASE`'s prediction; on a block device nothing maps directly. An image built with --no-read-bug-guard must show the kernel's read()
defect (the last page of a whole-direct file whose size is a page multiple reads as zeros; a direct mmap is
right) on kernels that have it.

A target module defines NAME, PAGE_SIZE, BYTE_ORDER, FLASH_SLOTS, build_kernel(cache_dir), cross_cc(),
assemble_tree(dest) and boot(artifacts, initramfs, disks, flash, work, timeout); optionally
extra_images(cramfs, tree, work) -> [(image, tree, flags)] with flags from {"squash" (built with -q),
"defect" (built with --no-read-bug-guard)}, FLASH_REFILL = True (the guest refills one RAM-window slot
per flash image, so all flash images fit one boot) and TIMEOUT (seconds per boot). Extra images are made
for the target's own tree only, not for --tree DIR. See proofkit.py.

Prints one line per disagreement, then per target
  kernel-proof: TARGET: N passed, M failed; files whole/partial/none W/P/X; direct pages D
(W/P/X: regular files the kernel mapped so on flash; D: the pages it mapped directly, which is the pages
of each mapping minus its Rss, since flash pages have no struct page) and at the end
  kernel-proof: N passed, M failed
Exits non-zero if anything failed.
"""
import argparse
import functools
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the repository for proofkit and the target modules
sys.path.insert(0, HERE)
from proofkit import TargetError, make_initramfs  # noqa: E402

CACHE_ROOT = os.environ.get("CRAMFS_KERNEL_CACHE", "/var/cache/swift-cramfs/kernel")
FNV_BASIS = 0xCBF29CE484222325


def fnv1a(data, h=FNV_BASIS):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


@functools.lru_cache(maxsize=None)
def fnv1a_file(path):
    """Cached: every image of a target is built from the same tree."""
    h = FNV_BASIS
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            h = fnv1a(chunk, h)
    return h


def image_id(path):
    """What the guest prints after IMAGE vdX: the hash of the image's first 4096 bytes."""
    with open(path, "rb") as f:
        return f"{fnv1a(f.read(4096)):016x}"


def source_manifest(tree, squash=False):
    """What the kernel should show for each entry of `tree`, in the guest's first nine fields."""
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


def parse(lines):
    """The guest's lines -> ([(disk, id, mount)], [(mtd name, mount)], finished), where a mount is
    {"mounted": bool, "error": str, "entries": {path: fields}}."""
    images, flashes, current, finished = [], [], None, False
    for line in lines:
        line = line.rstrip("\r")
        if line.startswith("IMAGE "):
            _, disk, ident = line.split(" ", 2)
            current = {"mounted": False, "error": "no MOUNT line", "entries": {}}
            images.append((disk, ident, current))
        elif line.startswith("FLASH "):
            current = {"mounted": False, "error": "no MOUNT line", "entries": {}}
            flashes.append((line[6:], current))
        elif line.startswith("MOUNT ") and current is not None:
            words = line.split(" ", 3)
            current["mounted"] = words[2] == "ok"
            current["error"] = words[3] if len(words) > 3 else ""
        elif line.startswith("ENTRY\t") and current is not None:
            fields = line.split("\t")
            current["entries"][fields[2]] = fields[3:]
        elif line == "END":
            finished = True
    return images, flashes, finished


def load_target(name):
    path = os.path.join(HERE, "targets", name, "target.py")
    spec = importlib.util.spec_from_file_location(f"target_{name.replace('-', '_').replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def remove(work):
    """Removes a target's scratch directory, unless CRAMFS_PROOF_KEEP=1 asks to keep it for a look."""
    if os.environ.get("CRAMFS_PROOF_KEEP") == "1":
        print(f"  kept {work}", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


class Tally:
    def __init__(self, target):
        self.target, self.passed, self.failed = target, 0, 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {self.target}: {message}", flush=True)
        return ok


def build_images(target, cramfs, tree, work, user_tree):
    """[(image, tree, flags)]: today's recipes at the target's page size and byte order, plus its extras."""
    geometry = ["-b", str(target.PAGE_SIZE), "-N", target.BYTE_ORDER]
    xip = ["--xip", "/bin/busybox", "--xip", "/lib/*", "--xip", "/etc/xip-*", "-X", "-X"]
    images = []
    for name, extra, flags in [("xip.img", xip, {"squash"}),
                               ("xip-unguarded.img", xip + ["--no-read-bug-guard"], {"squash", "defect"}),
                               ("compressed.img", [], {"squash"})]:
        path = os.path.join(work, name)
        run([cramfs, "make", "-q"] + geometry + extra + [tree, path])
        images.append((path, tree, flags))
    path = os.path.join(work, "mkfs.img")
    run(["/usr/sbin/mkfs.cramfs", "-b", str(target.PAGE_SIZE), "-N", target.BYTE_ORDER, tree, path])
    images.append((path, tree, set()))
    if hasattr(target, "extra_images") and not user_tree:
        images += [(i, t, set(f)) for i, t, f in target.extra_images(cramfs, tree, work)]
    return images


def plan_boots(target, images):
    """Which images go to flash in which boot: [(disks, [(image, slot)])]. Every image goes through a block
    device in the first boot; flash images fill the slots in order, more boots when they run out."""
    slots = target.FLASH_SLOTS
    refill = getattr(target, "FLASH_REFILL", False)
    boots, current, free = [], [], list(range(len(slots)))
    too_big = []
    for image, _, _ in images:
        size = os.path.getsize(image)
        if not any(size <= s["capacity"] for s in slots):
            too_big.append(image)
            continue
        fits = [i for i in free if size <= slots[i]["capacity"]]
        if not fits:
            boots.append(current)
            current, free = [], list(range(len(slots)))
            fits = [i for i in free if size <= slots[i]["capacity"]]
        current.append((image, slots[fits[0]]))
        if not refill:
            free.remove(fits[0])
    if current or not boots:
        boots.append(current)
    plan = [([i for i, _, _ in images] if n == 0 else [], flash) for n, flash in enumerate(boots)]
    return plan, too_big


def compare(tally, name, how, seen, expected, listing, prediction, defective, counts, page_size):
    """The checks of one mount of one image."""
    if not tally.check(seen["mounted"], f"{name}: mount through {how} failed ({seen['error']})"):
        return
    entries = seen["entries"]
    tally.check(set(entries) == set(expected),
                f"{name} ({how}): entries differ: missing {sorted(set(expected) - set(entries))[:5]}, "
                f"extra {sorted(set(entries) - set(expected))[:5]}")
    predicted = {f["path"]: f for f in prediction["files"]}
    for path, want in expected.items():
        got = entries.get(path)
        if got is None:
            continue
        if len(got) < 14:
            tally.check(False, f"{name} ({how}) {path}: short ENTRY line {got}")
            continue
        if path in defective:
            # read() gets zeros for the last page; a direct mapping (MTD) is right, while on a block
            # device mmap shares read()'s page cache and is wrong the same way.
            mapped_ok = got[8] == want[8] if how == "mtd" else got[8] == got[7]
            tally.check(got[:7] == want[:7] and got[7] != want[7] and mapped_ok,
                        f"{name} ({how}) {path}: expected the kernel's read() defect, "
                        f"kernel shows {got[:9]}, source has {want}")
        else:
            tally.check(got[:9] == want, f"{name} ({how}) {path}: kernel shows {got[:9]}, source has {want}")
        # The kernel numbers inodes and counts blocks itself; `cramfs list` must agree.
        listed = listing.get(path)
        if listed is not None:
            stat = [str(listed["inode"]), str(listed["blocks"]), str(listed["links"])]
            tally.check(got[10:13] == stat,
                        f"{name} ({how}) {path}: kernel shows ino/blocks/nlink {got[10:13]}, cramfs list gives {stat}")
        else:
            tally.check(False, f"{name}: cramfs list does not show {path}")
        if want[0] != "f":
            continue
        mapping = got[9]
        file = predicted.get(path, {})
        # Pages that came through the page cache count in the mapping's Rss; direct flash pages (no struct
        # page) do not: so the kernel itself tells how many pages it mapped directly.
        pages = (int(want[4]) + page_size - 1) // page_size
        rss = int(got[13]) if got[13].lstrip("-").isdigit() else -1
        direct = pages - rss * 1024 // page_size if rss >= 0 and pages else None
        if how == "blockdev":
            tally.check(mapping == "none" and direct in (0, None),
                        f"{name} (blockdev) {path}: mapped directly ({mapping}, {direct} direct pages)")
        else:
            counts[mapping] = counts.get(mapping, 0) + 1
            counts["direct"] += direct or 0
            tally.check(mapping == file.get("mappingClass") and direct in (file.get("directPages"), None),
                        f"{name} (mtd) {path}: kernel maps {mapping} with {direct} direct pages, cramfs xip "
                        f"predicted {file.get('mappingClass')} with {file.get('directPages')}")


def prove_target(target_name, cramfs, user_tree, timeout_override):
    tally = Tally(target_name)
    counts = {"whole": 0, "partial": 0, "none": 0, "direct": 0}

    def summary():
        print(f"kernel-proof: {target_name}: {tally.passed} passed, {tally.failed} failed; files whole/partial/none "
              f"{counts['whole']}/{counts['partial']}/{counts['none']}; direct pages {counts['direct']}", flush=True)
        return tally

    work = tempfile.mkdtemp(prefix=f"cramfs-proof-{target_name}-")
    try:
        target = load_target(target_name)
        started = time.monotonic()
        artifacts = target.build_kernel(os.path.join(CACHE_ROOT, target.NAME))
        built = time.monotonic() - started
        if built > 5:
            print(f"  {target_name}: kernel built in {built:.0f} s", flush=True)
        if user_tree:
            tree = user_tree
        else:
            tree = os.path.join(work, "tree")
            target.assemble_tree(tree)
        init = os.path.join(work, "init")
        run(target.cross_cc() + ["-O2", "-static", "-Wall", "-o", init, os.path.join(HERE, "guest", "init.c")])
        initramfs = make_initramfs(work, init)
        images = build_images(target, cramfs, tree, work, user_tree)
    except (TargetError, subprocess.CalledProcessError, OSError) as error:
        detail = error.stderr.strip().splitlines()[-1:] if isinstance(error, subprocess.CalledProcessError) and error.stderr else []
        tally.check(False, f"could not prepare the target: {error}{' (' + detail[0] + ')' if detail else ''}")
        remove(work)
        return summary()

    plan, too_big = plan_boots(target, images)
    for image in too_big:
        print(f"  {target_name}: {os.path.basename(image)} ({os.path.getsize(image)} bytes) is larger than every "
              f"flash slot: block device only", flush=True)
    timeout = timeout_override or getattr(target, "TIMEOUT", 1200)
    by_image = {i: (t, f) for i, t, f in images}
    base_of = {}
    seen_blockdev, seen_flash = {}, {}
    shown_console = False
    for number, (disks, flash) in enumerate(plan):
        boot_work = os.path.join(work, f"boot{number}")
        os.makedirs(boot_work)
        try:
            lines, console, seconds = target.boot(artifacts, initramfs, disks, [i for i, _ in flash], boot_work,
                                                  timeout)
        except (TargetError, subprocess.CalledProcessError, OSError) as error:
            tally.check(False, f"boot {number + 1} failed: {error}")
            continue
        results, flashes, finished = parse(lines)
        print(f"  {target_name}: boot {number + 1}: {len(disks)} block devices, {len(flash)} flash images, "
              f"guest ran {seconds:.1f} s", flush=True)
        console_lines = [l for l in console.splitlines() if l.strip()]
        timed_out = any("did not finish within" in l for l in console_lines[-2:])
        reason = (f"timed out after {timeout} s" if timed_out
                  else f"console ends with: {console_lines[-1][:160] if console_lines else '(nothing)'}")
        if not tally.check(finished, f"boot {number + 1}: the guest did not finish (no END line): {reason}") \
                and not shown_console:
            shown_console = True
            tail = "\n".join("    " + l for l in console_lines[-25:])
            print(f"  {target_name}: last console lines of boot {number + 1}:\n{tail}", flush=True)
        unclaimed = list(results)
        for image in disks:
            ident = image_id(image)
            match = next((r for r in unclaimed if r[1] == ident), None)
            if match:
                unclaimed.remove(match)
                seen_blockdev[image] = match[2]
        for index, (image, slot) in enumerate(flash):
            base_of[image] = slot["base"]
            if index < len(flashes):
                seen_flash[image] = flashes[index][1]

    direct_total = 0
    for image, (tree_of, flags) in by_image.items():
        name = os.path.basename(image)
        base = base_of.get(image, target.FLASH_SLOTS[0]["base"] if target.FLASH_SLOTS else 0)
        try:
            prediction = json.loads(run([cramfs, "xip", "--json", "--base", str(base), image]).stdout)
            listing = {e["path"]: e for e in json.loads(run([cramfs, "list", "-R", "--json", image]).stdout)}
        except subprocess.CalledProcessError as error:
            tally.check(False, f"{name}: cramfs xip/list failed: {error.stderr.strip()[:200]}")
            continue
        tally.check(prediction["pageSize"] == target.PAGE_SIZE,
                    f"{name}: cramfs xip reports page size {prediction['pageSize']}, the kernel's is {target.PAGE_SIZE}")
        expected = source_manifest(tree_of, squash="squash" in flags)
        defective = set()
        if "defect" in flags:
            defective = {f["path"] for f in prediction["files"] if f["mappingClass"] == "whole"
                         and f["size"] % target.PAGE_SIZE == 0}
            if user_tree and not defective:
                print(f"  {target_name}: {name}: no whole-direct file of a page-multiple size to show the read() "
                      f"defect with", flush=True)
            else:
                tally.check(len(defective) > 0, f"{name}: no file to show the read() defect with")
        before = dict(counts)
        for how, seen in (("blockdev", seen_blockdev.get(image)), ("mtd", seen_flash.get(image))):
            if how == "mtd" and image not in base_of:
                continue
            if not tally.check(seen is not None, f"{name}: the guest never reached it through {how}"):
                continue
            compare(tally, name, how, seen, expected, listing, prediction, defective, counts, target.PAGE_SIZE)
        direct_total += counts["direct"] - before["direct"]
        if defective:
            print(f"  {target_name}: {name}: the kernel's read() defect (last page read as zeros) shown on "
                  f"{', '.join(sorted(defective))}", flush=True)
        partial = [f"{f['path']} {f['directPages']}/{f['pages']}" for f in prediction["files"]
                   if f["mappingClass"] == "partial" and image in seen_flash]
        if partial:
            print(f"  {target_name}: {name}: mapped partially (direct/pages): {', '.join(partial)}", flush=True)
        where = f"flash at {base:#x}" if image in base_of else "block device only"
        print(f"  {target_name}: {name}: {len(expected)} entries, {where}; mapped whole/partial/none "
              f"{counts['whole'] - before['whole']}/{counts['partial'] - before['partial']}/"
              f"{counts['none'] - before['none']}, direct pages {counts['direct'] - before['direct']}; "
              f"predicted {prediction['directPages']} direct pages, {prediction['bytesSaved']} bytes of RAM saved",
              flush=True)
    if target.FLASH_SLOTS and any(i in base_of for i in by_image):
        # The bundled trees are made so that flash maps files both ways; another tree may simply not be.
        message = (f"flash mapped {counts['whole']} files whole and {counts['partial']} partially; "
                   f"the proof needs at least one of each")
        if not user_tree:
            tally.check(counts["whole"] > 0 and counts["partial"] > 0, message)
        elif not (counts["whole"] > 0 and counts["partial"] > 0):
            print(f"  {target_name}: {message} (not counted for --tree)", flush=True)
    remove(work)
    return summary()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", help="comma-separated target names (default: every targets/*/target.py)")
    parser.add_argument("--tree", help="prove images of this tree instead of each target's embedded tree")
    parser.add_argument("--timeout", type=int, help="seconds per boot (default: the target's, or 1200)")
    parser.add_argument("cramfs", nargs="?", default=os.path.join(HERE, "..", "..", ".build", "debug", "cramfs"),
                        help="the cramfs executable (default: .build/debug/cramfs)")
    args = parser.parse_args()
    available = sorted(d for d in os.listdir(os.path.join(HERE, "targets"))
                       if os.path.isfile(os.path.join(HERE, "targets", d, "target.py")))
    names = args.targets.split(",") if args.targets else available
    cramfs = os.path.realpath(args.cramfs)
    tree = os.path.realpath(args.tree) if args.tree else None
    passed = failed = 0
    for name in names:
        if name not in available:
            print(f"FAIL {name}: no such target (have {', '.join(available)})")
            print(f"kernel-proof: {name}: 0 passed, 1 failed; files whole/partial/none 0/0/0; direct pages 0",
                  flush=True)
            failed += 1
            continue
        tally = prove_target(name, cramfs, tree, args.timeout)
        passed, failed = passed + tally.passed, failed + tally.failed
    print(f"kernel-proof: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Shared pieces of the kernel proof that target modules (targets/<TARGET>/target.py) use: the error a
target raises, the cached kernel build from Debian's linux-source package, the guest's initramfs, the
results disk, and running QEMU. prove.py drives the matrix; see it for the whole picture.

How results leave the guest: the host gives every boot one extra raw virtio disk, the results disk, that
starts with RESULTS_MAGIC. The guest's /init (guest/init.c) recognises it by that header, skips it when it
looks for images, and writes its text lines after the first 512 bytes, ending them with a NUL. Nothing the
kernel prints can interleave with that text, on any machine.
"""
import gzip
import hashlib
import os
import resource
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_MAGIC = b"CRAMFS-PROOF-RESULTS\n"
RESULTS_SIZE = 64 << 20  # sparse on the host; room for about 400,000 ENTRY lines


class TargetError(Exception):
    """A target could not be built or booted; the message is one line and says why."""


def run_logged(command, log, **kwargs):
    """Runs `command`, appending its output to the file `log`; raises TargetError naming the log on failure."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
    if result.returncode != 0:
        raise TargetError(f"`{' '.join(command)[:120]}` failed (exit {result.returncode}); see {log}")


def build_linux(cache_dir, package, config_files, make_args, target, outputs):
    """Builds a kernel once from Debian's `package` (e.g. linux-source-6.12): tinyconfig plus the fragments
    `config_files`, then `make make_args target`. The build is cached in cache_dir/<key>/, keyed by the
    package version and the fragments, so only the first run on a machine pays for it. `outputs` maps an
    artifact name to its path in the built tree (e.g. {"kernel": "arch/arm/boot/zImage"}); returns the
    artifact name -> cached path dict."""
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    if version.returncode != 0 or not version.stdout:
        raise TargetError(f"{package} is not installed (scripts/setup installs it)")
    series = package.rsplit("-", 1)[1]
    tarball = f"/usr/src/linux-source-{series}.tar.xz"
    if not os.path.isfile(tarball):
        raise TargetError(f"{tarball} missing (apt-get install {package})")
    digest = hashlib.sha256(version.stdout.encode())
    for path in config_files:
        with open(path, "rb") as f:
            digest.update(f.read())
    key = digest.hexdigest()[:16]
    done = os.path.join(cache_dir, key)
    artifacts = {name: os.path.join(done, os.path.basename(path)) for name, path in outputs.items()}
    if all(os.path.isfile(p) for p in artifacts.values()):
        return artifacts

    os.makedirs(cache_dir, exist_ok=True)
    work = os.path.join(cache_dir, f"build-{key}")
    log = os.path.join(cache_dir, f"build-{key}.log")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if os.path.exists(log):
        os.remove(log)
    started = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    run_logged(["tar", "-xJf", tarball, "-C", work, "--strip-components=1"], log)
    make = ["make", "-s"] + make_args
    run_logged(make + ["tinyconfig"], log, cwd=work)
    run_logged(["./scripts/kconfig/merge_config.sh", "-m", ".config"] + list(config_files), log, cwd=work,
               env=dict(os.environ, **dict(a.split("=", 1) for a in make_args if "=" in a)))
    run_logged(make + ["olddefconfig"], log, cwd=work)
    # Every option of the fragments must have survived olddefconfig: a silently dropped one (a missing
    # dependency) would make the proof test something else.
    with open(os.path.join(work, ".config")) as f:
        final = set(f.read().splitlines())
    lost = [line.strip() for path in config_files for line in open(path)
            if line.startswith("CONFIG_") and line.strip() not in final]
    if lost:
        raise TargetError(f"olddefconfig dropped {', '.join(lost[:4])}{' ...' if len(lost) > 4 else ''}")
    run_logged(make + [f"-j{os.cpu_count() or 2}", target], log, cwd=work)
    os.makedirs(done, exist_ok=True)
    for name, path in outputs.items():
        shutil.copy(os.path.join(work, path), artifacts[name] + ".tmp")
        os.replace(artifacts[name] + ".tmp", artifacts[name])
    # Wall and CPU seconds: on a shared machine the CPU time over the core count predicts a quiet build.
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.path.join(done, "build-seconds"), "w") as f:
        f.write(f"wall {time.monotonic() - started:.0f} cpu {cpu.ru_utime + cpu.ru_stime - cpu_before:.0f}\n")
    shutil.rmtree(work, ignore_errors=True)
    return artifacts


def make_initramfs(work, init_program):
    """A gzip'd newc cpio holding only /init (the static guest program) and the directories it needs."""
    root = os.path.join(work, "initramfs")
    for directory in ("dev", "proc", "sys", "mnt"):
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    shutil.copy(init_program, os.path.join(root, "init"))
    os.chmod(os.path.join(root, "init"), 0o755)
    listing = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    archive = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, input=listing,
                             check=True, capture_output=True).stdout
    path = os.path.join(work, "initramfs.cpio.gz")
    with gzip.open(path, "wb") as f:
        f.write(archive)
    return path


def make_results_disk(work):
    """A zero-filled raw disk starting with RESULTS_MAGIC; give it to QEMU as a writable virtio disk."""
    path = os.path.join(work, "results.raw")
    with open(path, "wb") as f:
        f.write(RESULTS_MAGIC)
        f.truncate(RESULTS_SIZE)
    return path


def read_results(path):
    """The guest's text lines from a results disk ([] if the guest wrote nothing)."""
    with open(path, "rb") as f:
        f.seek(512)
        data = f.read()
    return data.split(b"\0", 1)[0].decode(errors="replace").splitlines()


def pad_to(image, size, work, name):
    """A copy of `image` zero-padded to exactly `size` bytes (pflash banks need their full size)."""
    if os.path.getsize(image) > size:
        raise TargetError(f"{os.path.basename(image)} is larger than the {size} byte flash bank")
    path = os.path.join(work, name)
    shutil.copy(image, path)
    with open(path, "r+b") as f:
        f.truncate(size)
    return path


def run_qemu(command, work, timeout):
    """Runs QEMU (its serial console going to the file work/console.log), returns (console_text, seconds).
    A guest that does not finish within `timeout` seconds is killed; its results are whatever it wrote."""
    console = os.path.join(work, "console.log")
    started = time.monotonic()
    with open(console, "wb") as out:
        try:
            subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            out.write(f"\nkernel-proof: the guest did not finish within {timeout} s\n".encode())
    elapsed = time.monotonic() - started
    with open(console, errors="replace") as f:
        return f.read(), elapsed


def split_flash_node(qemu_command, work, bank_labels):
    """The device-tree fix for `-M virt` (ARM, arm64): QEMU's generated tree describes both pflash banks in
    one cfi-flash node, which Linux concatenates into one MTD device without a physical address, so XIP
    mounts fail. Dumps QEMU's tree for `qemu_command` (the machine options only), replaces that node by one
    node per bank, each with its own `label` (bank_labels[i]; None disables the bank), and returns the
    path of the compiled .dtb to boot with -dtb."""
    dumped = os.path.join(work, "qemu.dtb")
    subprocess.run(qemu_command + ["-machine", f"dumpdtb={dumped}"], check=True, capture_output=True)
    source = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dumped], check=True, capture_output=True,
                            text=True).stdout
    lines = source.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip().startswith("flash@") and l.rstrip().endswith("{")),
                 None)
    if start is None:
        raise TargetError("QEMU's device tree has no flash@ node")
    end = start
    while lines[end].strip() != "};":
        end += 1
    node = lines[start:end + 1]
    reg = next(l for l in node if l.strip().startswith("reg ="))
    cells = reg.split("<", 1)[1].rsplit(">", 1)[0].split()
    width = len(cells) // len(bank_labels)
    banks = [cells[i * width:(i + 1) * width] for i in range(len(bank_labels))]
    indent = node[0][:len(node[0]) - len(node[0].lstrip())]
    others = [l for l in node[1:-1] if not l.strip().startswith("reg =")]
    replacement = []
    for bank, label in zip(banks, bank_labels):
        # The unit address is the bank's start; reg cells are (address, size) in #address/#size-cells.
        address = int(bank[width // 2 - 1], 16) | (int(bank[0], 16) << 32 if width == 4 else 0)
        replacement.append(f"{indent}flash@{address:x} {{")
        replacement.append(f"{indent}\treg = <{' '.join(bank)}>;")
        replacement += others
        if label is None:
            replacement.append(f'{indent}\tstatus = "disabled";')
        else:
            # physmap-of names the MTD device after linux,mtd-name; label is the generic spelling.
            replacement.append(f'{indent}\tlabel = "{label}";')
            replacement.append(f'{indent}\tlinux,mtd-name = "{label}";')
        replacement.append(f"{indent}}};")
    source = "\n".join(lines[:start] + replacement + lines[end + 1:]) + "\n"
    with open(os.path.join(work, "split.dts"), "w") as f:
        f.write(source)
    compiled = os.path.join(work, "split.dtb")
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", compiled, os.path.join(work, "split.dts")],
                   check=True, capture_output=True)
    return compiled


def boot_virt(machine, bank_size, slots, artifacts, initramfs, disks, flash, work, timeout):
    """Boots an ARM `virt` board (32- or 64-bit): the image in pflash bank 2 (bank 1, a drive there, would be
    run as firmware), the device tree split so that bank is an MTD of its own, disks on virtio-mmio, and the
    results disk last. Returns (result lines, console text, seconds)."""
    if len(flash) > len(slots):
        raise TargetError(f"{len(flash)} flash images for {len(slots)} slot")
    dtb = split_flash_node(machine + ["-display", "none"], work, [None, slots[0]["mtd"]])
    results = make_results_disk(work)
    names = ",".join(slots[i]["mtd"] for i in range(len(flash)))
    command = machine + ["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
                         "-kernel", artifacts["kernel"], "-dtb", dtb, "-initrd", initramfs,
                         "-append", f"console=ttyAMA0 panic=-1 cramfs.flash={names}"]
    if flash:
        padded = pad_to(flash[0], bank_size, work, "flash.raw")
        command += ["-drive", f"if=pflash,unit=1,format=raw,readonly=on,file={padded}"]
    # On virt, virtio-mmio disks are numbered in reverse command-line order; the guest tells images apart
    # by content, so the order does not matter.
    for index, disk in enumerate(list(disks) + [results]):
        readonly = ",readonly=on" if disk != results else ""
        command += ["-drive", f"file={disk},format=raw,if=none,id=d{index}{readonly}",
                    "-device", f"virtio-blk-device,drive=d{index}"]
    console, seconds = run_qemu(command, work, timeout)
    return read_results(results), console, seconds

/*
 * PID 1 of every kernel-proof guest, linked statically for the target's architecture; no other program
 * or library is needed in the initramfs.
 *
 * 1. Mounts proc, sysfs and devtmpfs, and finds the results disk: the virtio disk whose first bytes are
 *    "CRAMFS-PROOF-RESULTS\n" (see proofkit.py). Its text goes there, after byte 512, NUL-terminated.
 * 2. For each other block device vd*: "IMAGE vdX ID", where ID is the FNV-1a hash of its first 4096 bytes
 *    (the host tells the images apart by it, whatever order the machine numbers disks in); mounts it as
 *    cramfs ("MOUNT blockdev ok|failed") and walks it ("ENTRY\tblockdev\t..." per entry).
 * 3. For each MTD name in the kernel parameter cramfs.flash=NAME,NAME (quote names with spaces):
 *    "FLASH NAME", mounts mtd:NAME ("MOUNT mtd ok|failed") and walks it ("ENTRY\tmtd\t..."). Where the
 *    flash is a RAM window (x86), cramfs.fill=vdX>MTD,... (one per flash name, "-" for none) first copies
 *    block device vdX into the MTD device named MTD.
 * 4. "END", sync, then power off (or reboot with cramfs.end=reboot, for machines QEMU stops with
 *    -no-reboot but that cannot power off).
 *
 * An ENTRY line holds, tab-separated, for every entry below the mount point:
 *   path type mode uid gid size major:minor link-target-hex read-hash mmap-hash class ino blocks nlink rss
 * where the hashes are 64-bit FNV-1a of the content through read() and through mmap(), and class is the
 * kernel's direct-mapping class of a whole-file read-only shared mapping, from the VmFlags line of
 * /proc/self/smaps: "whole" (pf: remap_pfn_range), "partial" (mm: mixed map) or "none", and rss is that
 * mapping's Rss in kB once every byte was read through it (flash pages have no struct page, so only the
 * pages that came through the page cache count). Fields that do not apply are "-".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char results_magic[] = "CRAMFS-PROOF-RESULTS\n";
static const uint64_t fnv_basis = 0xcbf29ce484222325ULL;
static FILE *out;
static int results_fd = -1;
static char buffer[1 << 16];

static uint64_t fnv1a(uint64_t hash, const unsigned char *bytes, size_t count) {
  for (size_t i = 0; i < count; i++) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  return hash;
}

/* One result line, mirrored to the console for whoever watches the boot. */
static void say(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vfprintf(out, format, args);
  va_end(args);
  fputc('\n', out);
  if (out != stdout) {
    va_start(args, format);
    printf("init: ");
    vprintf(format, args);
    va_end(args);
    putchar('\n');
    fflush(stdout);
  }
}

static void flush_results(void) {
  fflush(out);
  if (results_fd >= 0) fsync(results_fd);
}

/* The VmFlags and the Rss (kB) of the mapping that starts at `address` ("" and -1 if not found). */
static void vmflags_of(void *address, char *flags, size_t size, long *rss) {
  FILE *smaps = fopen("/proc/self/smaps", "r");
  char line[512];
  int in_mapping = 0;
  flags[0] = 0;
  *rss = -1;
  if (!smaps) return;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in_mapping = start == (unsigned long)address;
    } else if (in_mapping && strncmp(line, "Rss:", 4) == 0) {
      *rss = strtol(line + 4, NULL, 10);
    } else if (in_mapping && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(flags, size, "%s", line + 8);
      break;
    }
  }
  fclose(smaps);
}

static int has_flag(const char *flags, const char *flag) {
  char padded[8];
  snprintf(padded, sizeof padded, " %s", flag);
  return strstr(flags, padded) != NULL;
}

static void regular(const char *path, const struct stat *st, char *read_hash, char *mmap_hash, char *class,
                    char *rss_kb) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { say("NOTE open %s: %s", path, strerror(errno)); return; }
  uint64_t hash = fnv_basis;
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) hash = fnv1a(hash, (unsigned char *)buffer, (size_t)got);
  if (got < 0) say("NOTE read %s: %s", path, strerror(errno));
  sprintf(read_hash, "%016" PRIx64, hash);
  if (st->st_size > 0) {
    void *map = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      say("NOTE mmap %s: %s", path, strerror(errno));
    } else {
      sprintf(mmap_hash, "%016" PRIx64, fnv1a(fnv_basis, map, (size_t)st->st_size));
      char flags[512];
      long rss;
      vmflags_of(map, flags, sizeof flags, &rss);
      sprintf(rss_kb, "%ld", rss);
      strcpy(class, has_flag(flags, "pf") ? "whole" : has_flag(flags, "mm") ? "partial" : "none");
      munmap(map, (size_t)st->st_size);
    }
  } else {
    sprintf(mmap_hash, "%016" PRIx64, fnv_basis);
  }
  close(fd);
}

static void visit(const char *how, const char *root, const char *relative) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s%s", root, relative);
  struct stat st;
  if (lstat(path, &st) != 0) { say("NOTE lstat %s: %s", path, strerror(errno)); return; }
  char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l'
            : S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p' : 's';
  char device[32] = "-", target[2 * PATH_MAX + 1] = "-", read_hash[17] = "-", mmap_hash[17] = "-", class[8] = "-",
       rss_kb[24] = "-";
  if (type == 'c' || type == 'b') sprintf(device, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
  if (type == 'l') {
    char link[PATH_MAX];
    ssize_t n = readlink(path, link, sizeof link);
    if (n < 0) { say("NOTE readlink %s: %s", path, strerror(errno)); n = 0; }
    for (ssize_t i = 0; i < n; i++) sprintf(target + 2 * i, "%02x", (unsigned char)link[i]);
    if (n == 0) strcpy(target, "");
  }
  if (type == 'f') regular(path, &st, read_hash, mmap_hash, class, rss_kb);
  if (relative[0])
    say("ENTRY\t%s\t%s\t%c\t%o\t%u\t%u\t%lld\t%s\t%s\t%s\t%s\t%s\t%llu\t%lld\t%lu\t%s", how, relative, type,
        (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
        type == 'd' ? 0LL : (long long)st.st_size, device, target, read_hash, mmap_hash, class,
        (unsigned long long)st.st_ino, (long long)st.st_blocks, (unsigned long)st.st_nlink, rss_kb);
  if (type == 'd') {
    struct dirent **names;
    int count = scandir(path, &names, NULL, alphasort);
    if (count < 0) { say("NOTE scandir %s: %s", path, strerror(errno)); return; }
    for (int i = 0; i < count; i++) {
      if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", relative, names[i]->d_name);
        visit(how, root, child);
      }
      free(names[i]);
    }
    free(names);
  }
}

/* Mounts `source` as cramfs on `dir`, walks it, unmounts. */
static void prove(const char *how, const char *source, const char *dir) {
  mkdir(dir, 0755);
  if (mount(source, dir, "cramfs", MS_RDONLY, NULL) != 0) {
    say("MOUNT %s failed %s", how, strerror(errno));
    return;
  }
  say("MOUNT %s ok", how);
  visit(how, dir, "");
  if (umount(dir) != 0) say("NOTE umount %s: %s", dir, strerror(errno));
  flush_results();
}

/* The value of kernel parameter `name` (without quotes), or NULL. */
static char *parameter(const char *name) {
  static char cmdline[4096];
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
  close(fd);
  if (n <= 0) return NULL;
  cmdline[n] = 0;
  size_t length = strlen(name);
  char *p = cmdline;
  while (*p) {
    while (*p == ' ' || *p == '\n') p++;
    /* One token: spaces inside double quotes belong to it; the quotes themselves do not. */
    static char token[4096];
    size_t t = 0;
    int quoted = 0;
    for (; *p && (quoted || (*p != ' ' && *p != '\n')); p++) {
      if (*p == '"') quoted = !quoted;
      else if (t < sizeof token - 1) token[t++] = *p;
    }
    token[t] = 0;
    if (strncmp(token, name, length) == 0 && token[length] == '=') return strdup(token + length + 1);
  }
  return NULL;
}

/* The number N of the MTD device named `name` in /proc/mtd, or -1. */
static int mtd_number(const char *name) {
  FILE *mtd = fopen("/proc/mtd", "r");
  char line[256];
  int number = -1;
  if (!mtd) return -1;
  while (fgets(line, sizeof line, mtd)) {
    char *quote = strchr(line, '"'), *end = strrchr(line, '"');
    if (!quote || end == quote) continue;
    *end = 0;
    if (strcmp(quote + 1, name) == 0 && sscanf(line, "mtd%d:", &number) == 1) break;
    number = -1;
  }
  fclose(mtd);
  return number;
}

/* Copies block device /dev/`disk` into the MTD device named `mtd` (through /dev/mtdblockN). */
static int fill(const char *disk, const char *mtd) {
  char from[64], to[64];
  int number = mtd_number(mtd);
  if (number < 0) { say("NOTE no MTD device named %s", mtd); return -1; }
  snprintf(from, sizeof from, "/dev/%s", disk);
  snprintf(to, sizeof to, "/dev/mtdblock%d", number);
  int in = open(from, O_RDONLY), target = open(to, O_WRONLY);
  ssize_t got = -1;
  if (in >= 0 && target >= 0) {
    while ((got = read(in, buffer, sizeof buffer)) > 0)
      if (write(target, buffer, (size_t)got) != got) { got = -1; break; }
    if (got == 0 && fsync(target) != 0) got = -1;
  }
  if (got != 0) say("NOTE copying %s to %s: %s", from, to, strerror(errno));
  if (in >= 0) close(in);
  if (target >= 0) close(target);
  return got == 0 ? 0 : -1;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int is_vd(const struct dirent *entry) { return strncmp(entry->d_name, "vd", 2) == 0; }

int main(void) {
  mkdir("/proc", 0755);
  mkdir("/sys", 0755);
  mkdir("/dev", 0755);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  int console = open("/dev/console", O_RDWR);
  if (console >= 0) { dup2(console, 1); dup2(console, 2); }
  out = stdout;

  struct dirent **disks;
  int count = scandir("/sys/block", &disks, is_vd, by_name);
  if (count < 0) count = 0;
  /* The results disk first, so that everything after goes there. */
  for (int i = 0; i < count; i++) {
    char path[300], head[sizeof results_magic - 1];
    snprintf(path, sizeof path, "/dev/%s", disks[i]->d_name);
    int fd = open(path, O_RDWR);
    if (fd >= 0 && read(fd, head, sizeof head) == (ssize_t)sizeof head && !memcmp(head, results_magic, sizeof head)
        && lseek(fd, 512, SEEK_SET) == 512) {
      results_fd = fd;
      out = fdopen(fd, "w");
      disks[i]->d_name[0] = 0;
      break;
    }
    if (fd >= 0) close(fd);
  }
  if (results_fd < 0) printf("init: no results disk; results go to the console\n");
  say("BEGIN");

  for (int i = 0; i < count; i++) {
    const char *name = disks[i]->d_name;
    if (!name[0]) continue;
    char path[300];
    snprintf(path, sizeof path, "/dev/%s", name);
    int fd = open(path, O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, buffer, 4096) : -1;
    if (fd >= 0) close(fd);
    say("IMAGE %s %016" PRIx64, name, fnv1a(fnv_basis, (unsigned char *)buffer, got > 0 ? (size_t)got : 0));
    prove("blockdev", path, "/mnt/blk");
  }

  char *flash = parameter("cramfs.flash"), *fills = parameter("cramfs.fill");
  char *flash_next = flash, *fill_next = fills;
  while (flash_next && *flash_next) {
    char *name = strsep(&flash_next, ",");
    char *fill_entry = fill_next ? strsep(&fill_next, ",") : NULL;
    say("FLASH %s", name);
    char *arrow = fill_entry ? strchr(fill_entry, '>') : NULL;
    if (arrow) {
      *arrow = 0;
      if (fill(fill_entry, arrow + 1) != 0) { say("MOUNT mtd failed fill"); continue; }
    }
    char source[300];
    snprintf(source, sizeof source, "mtd:%s", name);
    prove("mtd", source, "/mnt/mtd");
  }

  say("END");
  flush_results();
  sync();
  char *end = parameter("cramfs.end");
  reboot(end && strcmp(end, "reboot") == 0 ? RB_AUTOBOOT : RB_POWER_OFF);
  for (;;) pause();
}

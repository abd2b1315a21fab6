/*
 * Runs inside the QEMU guest on a mounted cramfs. For every entry below the mount point it prints one
 * tab-separated line:
 *   path type mode uid gid size major:minor link-target-hex read-hash mmap-hash class
 * where the hashes are 64-bit FNV-1a of the content through read() and through mmap(), and class is the
 * kernel's direct-mapping class of a whole-file read-only mapping, from the VmFlags line of
 * /proc/self/smaps: "whole" (pf), "partial" (mm) or "none". Fields that do not apply are "-".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static uint64_t fnv1a(uint64_t hash, const unsigned char *bytes, size_t count) {
  for (size_t i = 0; i < count; i++) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  return hash;
}
static const uint64_t fnv_basis = 0xcbf29ce484222325ULL;

static char buffer[1 << 16];
static int failures;

/* The VmFlags of the mapping that starts at `address`, or "" if not found. */
static void vmflags_of(void *address, char *out, size_t size) {
  FILE *smaps = fopen("/proc/self/smaps", "r");
  char line[512];
  int in_mapping = 0;
  out[0] = 0;
  if (!smaps) return;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in_mapping = start == (unsigned long)address;
    } else if (in_mapping && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, size, "%s", line + 8);
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

static void regular(const char *path, const struct stat *st, char *read_hash, char *mmap_hash, char *class) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { perror(path); failures++; return; }
  uint64_t hash = fnv_basis;
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) hash = fnv1a(hash, (unsigned char *)buffer, (size_t)got);
  if (got < 0) { perror(path); failures++; }
  sprintf(read_hash, "%016" PRIx64, hash);
  if (st->st_size > 0) {
    void *map = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) { perror(path); failures++; }
    else {
      sprintf(mmap_hash, "%016" PRIx64, fnv1a(fnv_basis, map, (size_t)st->st_size));
      char flags[512];
      vmflags_of(map, flags, sizeof flags);
      strcpy(class, has_flag(flags, "pf") ? "whole" : has_flag(flags, "mm") ? "partial" : "none");
      munmap(map, (size_t)st->st_size);
    }
  } else {
    sprintf(mmap_hash, "%016" PRIx64, fnv_basis);
  }
  close(fd);
}

static void visit(const char *root, const char *relative) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s%s", root, relative);
  struct stat st;
  if (lstat(path, &st) != 0) { perror(path); failures++; return; }
  char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l'
            : S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p' : 's';
  char device[32] = "-", target[2 * PATH_MAX + 1] = "-", read_hash[17] = "-", mmap_hash[17] = "-", class[8] = "-";
  if (type == 'c' || type == 'b') sprintf(device, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
  if (type == 'l') {
    char link[PATH_MAX];
    ssize_t n = readlink(path, link, sizeof link);
    if (n < 0) { perror(path); failures++; n = 0; }
    for (ssize_t i = 0; i < n; i++) sprintf(target + 2 * i, "%02x", (unsigned char)link[i]);
    if (n == 0) strcpy(target, "");
  }
  if (type == 'f') regular(path, &st, read_hash, mmap_hash, class);
  if (relative[0])
    printf("%s\t%c\t%o\t%u\t%u\t%lld\t%s\t%s\t%s\t%s\t%s\n", relative, type, (unsigned)(st.st_mode & 07777),
           (unsigned)st.st_uid, (unsigned)st.st_gid, type == 'd' ? 0LL : (long long)st.st_size, device, target,
           read_hash, mmap_hash, class);
  if (type == 'd') {
    struct dirent **names;
    int count = scandir(path, &names, NULL, alphasort);
    if (count < 0) { perror(path); failures++; return; }
    for (int i = 0; i < count; i++) {
      if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", relative, names[i]->d_name);
        visit(root, child);
      }
      free(names[i]);
    }
    free(names);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: probe MOUNTPOINT\n"); return 2; }
  visit(argv[1], "");
  fflush(stdout);
  return failures ? 1 : 0;
}

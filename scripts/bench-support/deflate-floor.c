/* The compression limit of an image: libdeflate (the builder's and reader's library) compressing and
 * inflating the tree's files cut into independent blocks, as cramfs stores them, on one core.
 *
 *   deflate-floor BLOCKSIZE LEVEL [FILE...]   (file names may also come on standard input, one per line)
 *
 * Prints: input bytes, compressed bytes, compression seconds, inflation seconds (one core each), and,
 * when FLOOR_EXTRACT_DIR names an empty directory, the seconds to inflate every file and write it there
 * (open, write, close: the least any extraction does; flat names, no modes, one core). */
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char *data, *packed;
static size_t used, capacity, real;
static size_t *sizes, sizes_capacity, count;  /* each block's true length (a file's last one is short) */
static size_t *file_ends, files, files_capacity; /* one past each file's last block */

static void add_block(size_t length) {
  if (count == sizes_capacity) {
    sizes_capacity = sizes_capacity ? sizes_capacity * 2 : 1024;
    sizes = realloc(sizes, sizes_capacity * sizeof *sizes);
    if (!sizes) { perror("realloc"); exit(1); }
  }
  sizes[count++] = length;
  real += length;
}

static void append_file(const char *path, size_t block) {
  FILE *file = fopen(path, "rb");
  if (!file) return;
  for (;;) {
    if (used + block > capacity) {
      capacity = (capacity + block) * 2;
      data = realloc(data, capacity);
      if (!data) { perror("realloc"); exit(1); }
    }
    size_t got = fread(data + used, 1, block, file);
    if (got == 0) break;
    /* Each file starts a new block, as in an image; its last block is short. */
    add_block(got);
    used += block;
    if (got < block) break;
  }
  fclose(file);
  if (files == files_capacity) {
    files_capacity = files_capacity ? files_capacity * 2 : 1024;
    file_ends = realloc(file_ends, files_capacity * sizeof *file_ends);
    if (!file_ends) { perror("realloc"); exit(1); }
  }
  file_ends[files++] = count;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: deflate-floor BLOCKSIZE LEVEL [FILE...]\n"); return 2; }
  size_t block = (size_t)atol(argv[1]);
  int level = atoi(argv[2]);
  if (argc > 3) {
    for (int i = 3; i < argc; i++) append_file(argv[i], block);
  } else {
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
      line[strcspn(line, "\n")] = 0;
      append_file(line, block);
    }
  }
  size_t blocks = count;
  size_t bound = block + block / 8 + 64;
  packed = malloc(blocks * bound + 1);
  size_t *lengths = malloc((blocks + 1) * sizeof *lengths);
  struct libdeflate_compressor *compressor = libdeflate_alloc_compressor(level);
  struct libdeflate_decompressor *decompressor = libdeflate_alloc_decompressor();
  unsigned char *out = malloc(block);
  if (!packed || !lengths || !compressor || !decompressor || !out) { fprintf(stderr, "out of memory\n"); return 1; }

  double start = now();
  size_t total = 0;
  for (size_t i = 0; i < blocks; i++) {
    lengths[i] = libdeflate_zlib_compress(compressor, data + i * block, sizes[i], packed + i * bound, bound);
    total += lengths[i];
  }
  double compressing = now() - start;
  start = now();
  for (size_t i = 0; i < blocks; i++) {
    size_t got;
    if (libdeflate_zlib_decompress(decompressor, packed + i * bound, lengths[i], out, sizes[i], &got) != 0) {
      fprintf(stderr, "inflate failed\n");
      return 1;
    }
  }
  double inflating = now() - start;
  printf("%zu %zu %.6f %.6f", real, total, compressing, inflating);

  const char *target = getenv("FLOOR_EXTRACT_DIR");
  if (target && *target) {
    int directory = open(target, O_RDONLY | O_DIRECTORY);
    size_t largest = 0;
    for (size_t f = 0, first = 0; f < files; first = file_ends[f++]) {
      if ((file_ends[f] - first) * block > largest) largest = (file_ends[f] - first) * block;
    }
    unsigned char *whole = malloc(largest + 1);
    if (directory < 0 || !whole) { perror(target); return 1; }
    start = now();
    for (size_t f = 0, first = 0; f < files; first = file_ends[f++]) {
      char name[32];
      snprintf(name, sizeof name, "%zu", f);
      int fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) { perror(name); return 1; }
      size_t length = 0, got;
      for (size_t i = first; i < file_ends[f]; i++) {
        libdeflate_zlib_decompress(decompressor, packed + i * bound, lengths[i], whole + length, sizes[i], &got);
        length += got;
      }
      if (write(fd, whole, length) != (ssize_t)length) { perror(name); return 1; }
      close(fd);
    }
    printf(" %.6f", now() - start);
  }
  printf("\n");
  return 0;
}

/* Maps an ordinary file with plain mmap(2), reads one byte of every page, and prints the seconds the
 * touching took: the limit a cramfs mapping can reach (scripts/bench-xip). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: touch FILE\n"); return 2; }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) { perror(argv[1]); return 1; }
  const volatile unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  long page = sysconf(_SC_PAGESIZE);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  unsigned sum = 0;
  for (off_t offset = 0; offset < st.st_size; offset += page) sum += map[offset];
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.9f %u\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, sum);
  return 0;
}

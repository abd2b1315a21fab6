/* A small aarch64 program for the arm64 proof tree: linked dynamically against Debian's arm64 glibc, and
 * statically (unstripped, so its symbol table follows the read-write segment and the file maps
 * partially under -X -X). Prints what it is. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  printf("%s: aarch64, page size %ld\n", argc > 0 ? argv[0] : "hello", sysconf(_SC_PAGESIZE));
  return 0;
}

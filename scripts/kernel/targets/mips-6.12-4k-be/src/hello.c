/* A small program for the big-endian MIPS tree, cross-compiled twice: static (bin/hello-static) and
 * dynamic (usr/bin/hello, interpreter /lib/ld.so.1). Only its bytes are proven; the guest never runs it. */
#include <stdio.h>

int main(int argc, char **argv) {
  printf("hello from %s (%d arguments)\n", argc > 0 ? argv[0] : "?", argc - 1);
  return 0;
}

/* A small dynamically linked ARM program for the embedded tree: its read-only PT_LOAD segment is what
 * `-X -X` stores direct and page aligned, and libc.so.6 / ld-linux-armhf.so.3 are what it loads. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *who = argc > 1 ? argv[1] : "cramfs";
  printf("hello, %s (%zu)\n", who, strlen(who));
  return 0;
}

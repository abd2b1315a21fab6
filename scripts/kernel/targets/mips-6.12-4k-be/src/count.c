/* Counts lines, words and bytes of standard input (a second ELF32 big-endian program, dynamic, linked
 * with libm so that the tree carries a library besides the C library's loader). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>

int main(void) {
  unsigned long lines = 0, words = 0, bytes = 0;
  int c, in_word = 0;
  while ((c = getchar()) != EOF) {
    bytes++;
    if (c == '\n') lines++;
    if (isspace(c)) in_word = 0;
    else if (!in_word) { in_word = 1; words++; }
  }
  printf("%lu %lu %lu %.3f\n", lines, words, bytes, bytes ? log2((double)bytes) : 0.0);
  return 0;
}

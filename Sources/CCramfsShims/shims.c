#define _GNU_SOURCE
#include "CCramfsShims.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int CCramfsShims_userfaultfd_open(void) {
#ifdef __NR_userfaultfd
  int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  struct uffdio_api api = {.api = UFFD_API, .features = 0};
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    int saved = errno;
    close(fd);
    return -saved;
  }
  return fd;
#else
  return -ENOSYS;
#endif
}

int CCramfsShims_userfaultfd_register(int fd, void *start, size_t length) {
  struct uffdio_register reg = {
      .range = {.start = (unsigned long)start, .len = length},
      .mode = UFFDIO_REGISTER_MODE_MISSING,
  };
  return ioctl(fd, UFFDIO_REGISTER, &reg) == 0 ? 0 : -errno;
}

int CCramfsShims_userfaultfd_read_fault(int fd, uint64_t *address) {
  struct uffd_msg msg;
  for (;;) {
    ssize_t got = read(fd, &msg, sizeof msg);
    if (got < 0) {
      if (errno == EAGAIN) return 0;
      if (errno == EINTR) continue;
      return -errno;
    }
    if (got != sizeof msg) return -EIO;
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    *address = msg.arg.pagefault.address;
    return 1;
  }
}

int CCramfsShims_userfaultfd_copy(int fd, void *destination, const void *source, size_t length) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t done = 0;
  while (done < length) {
    struct uffdio_copy copy = {
        .dst = (unsigned long)destination + done, .src = (unsigned long)source + done, .len = length - done, .mode = 0, .copy = 0};
    if (ioctl(fd, UFFDIO_COPY, &copy) == 0) return 0;
    int error = errno;
    // A partial copy reports the bytes it placed; go on after them.
    if (copy.copy > 0) done += (size_t)copy.copy;
    if (error == EEXIST) {
      done += page;  // that page is already there: keep it, copy the rest
    } else if (error != EAGAIN && error != EINTR) {
      return -error;
    }
  }
  return 0;
}

int CCramfsShims_userfaultfd_wake(int fd, void *start, size_t length) {
  struct uffdio_range range = {.start = (unsigned long)start, .len = length};
  return ioctl(fd, UFFDIO_WAKE, &range) == 0 ? 0 : -errno;
}

int CCramfsShims_poll_two(int fd, int wake_fd, int timeout_ms) {
  struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
  for (;;) {
    int ready = poll(fds, 2, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (ready == 0) return 0;
    if (fds[1].revents) return 2;
    return 1;
  }
}

int CCramfsShims_open_tmpfile(const char *directory) {
  int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  return fd >= 0 ? fd : -errno;
}

int CCramfsShims_name_thread(const char *name) {
  return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == 0 ? 0 : -errno;
}

int CCramfsShims_link_tmpfile(int fd, const char *path) {
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

int CCramfsShims_terminal_columns(int fd) {
  struct winsize size;
  if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

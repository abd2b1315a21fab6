// Linux calls Swift cannot make directly: variadic syscall() and ioctl(), and userfaultfd's structs.
#ifndef CCRAMFS_SHIMS_H
#define CCRAMFS_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Opens a userfaultfd (close-on-exec, non-blocking) and negotiates the API; returns the descriptor or -errno.
int CCramfsShims_userfaultfd_open(void);

/// Registers [start, start+length) for missing-page faults; returns 0 or -errno.
int CCramfsShims_userfaultfd_register(int fd, void *start, size_t length);

/// Reads one page-fault event; returns 1 and sets *address, 0 when no event is pending, -errno on error.
int CCramfsShims_userfaultfd_read_fault(int fd, uint64_t *address);

/// Resolves faults by copying `length` bytes (whole pages) from `source` to `destination` and waking the
/// threads waiting on them; returns 0 or -errno. A page already present (EEXIST) is kept and the copy goes on
/// after it; a partial copy or EAGAIN is retried from where it stopped.
int CCramfsShims_userfaultfd_copy(int fd, void *destination, const void *source, size_t length);

/// Wakes the threads waiting on faults in [start, start+length) without filling anything (they fault again);
/// returns 0 or -errno.
int CCramfsShims_userfaultfd_wake(int fd, void *start, size_t length);

/// Waits until `fd` or `wake_fd` is readable or `timeout_ms` passes; returns 1 if `fd` is, 2 if `wake_fd` is, 0 on timeout, -errno.
int CCramfsShims_poll_two(int fd, int wake_fd, int timeout_ms);

/// open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600): an unnamed file in `directory` that vanishes if
/// the process dies before it is linked; returns the descriptor or -errno (-EOPNOTSUPP where the file
/// system cannot).
int CCramfsShims_open_tmpfile(const char *directory);

/// Gives the unnamed file `fd` the name `path` (linkat through /proc/self/fd); returns 0 or -errno
/// (-EEXIST when `path` exists).
int CCramfsShims_link_tmpfile(int fd, const char *path);

/// Names the calling thread (prctl PR_SET_NAME: the kernel keeps the first 15 bytes), for top -H and
/// debuggers; returns 0 or -errno.
int CCramfsShims_name_thread(const char *name);

/// The width in columns of the terminal on `fd` (TIOCGWINSZ), or 0 when it is not a terminal or does
/// not say (ioctl is variadic, so Swift cannot call it).
int CCramfsShims_terminal_columns(int fd);

#endif

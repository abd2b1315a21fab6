// libfuse 3 low-level API for Swift, plus the few things Swift cannot call directly:
// function-like macros (fuse_session_loop_mt), C bit fields of fuse_file_info, and a va_list logger.
#ifndef CFUSE_SHIM_H
#define CFUSE_SHIM_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/// Marks an open file or directory so the kernel keeps its cached pages (and, for a directory, its
/// cached listing) across opens, and skips FLUSH on close: the image never changes.
static inline void CFuse_markCacheable(struct fuse_file_info *fi, int isDirectory) {
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (isDirectory) fi->cache_readdir = 1;
}

/// Runs the multi-threaded session loop with at most `maxThreads` workers (`fuse_session_loop_mt`,
/// a macro Swift cannot call). Returns 0, -errno, or the signal number that ended the loop.
static inline int CFuse_sessionLoopMT(struct fuse_session *se, unsigned int maxThreads, unsigned int maxIdleThreads) {
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (config == NULL) return -ENOMEM;
  fuse_loop_cfg_set_max_threads(config, maxThreads);
  fuse_loop_cfg_set_idle_threads(config, maxIdleThreads);
  fuse_loop_cfg_set_clone_fd(config, 0);
  int result = fuse_session_loop_mt(se, config);
  fuse_loop_cfg_destroy(config);
  return result;
}

static void CFuse_oneLineLog(enum fuse_log_level level, const char *format, va_list ap) {
  char text[1024];
  vsnprintf(text, sizeof text, format, ap);
  size_t length = strlen(text);
  while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) text[--length] = 0;
  for (size_t i = 0; i < length; i++) if (text[i] == '\n') text[i] = ' ';
  if (length == 0) return;
  if (strncmp(text, "fuse: ", 6) == 0) memmove(text, text + 6, length - 5);
  const char *kind = level <= FUSE_LOG_ERR ? "error" : (level == FUSE_LOG_WARNING ? "warning" : "note");
  char line[1200];
  int n = snprintf(line, sizeof line, "cramfs: %s: %s\n", kind, text);
  if (n > 0) { ssize_t ignored = write(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)); (void)ignored; }
}

/// Routes libfuse's own messages to standard error as one line each (`cramfs: error: ...`).
static inline void CFuse_installOneLineLogger(void) {
  fuse_set_log_func(CFuse_oneLineLog);
}

/// Gives SIGINT and SIGTERM their default disposition and unblocks them (plus SIGHUP), so that
/// `fuse_set_signal_handlers` (which only replaces default handlers) can take them even when the parent
/// started us with them ignored or blocked.
static inline void CFuse_resetTerminationSignals(void) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

#endif

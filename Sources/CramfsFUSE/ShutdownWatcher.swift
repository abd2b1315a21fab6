import CFuse
import Cramfs
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Ends the session on SIGINT, SIGTERM or SIGHUP in order: first the prefetcher's stores finish, while
/// the session still answers the READs they may wait on, then the session loop ends.
///
/// libfuse's own handlers end the loop at once, and a READ that a worker had read but not answered then
/// keeps its pages locked until the connection ends; a store into such a page would never return, and
/// the daemon (holding the connection open) would never end either.
final class ShutdownWatcher: @unchecked Sendable {
  // @unchecked: `thread` is written by start() and read by finish(), both on the thread that runs the session.

  /// Posted by the signal handlers (sem_post is async-signal-safe) and by finish().
  nonisolated(unsafe) static let signalled: UnsafeMutablePointer<sem_t> = {
    let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    sem_init(semaphore, 0, 0)
    return semaphore
  }()

  private let session: OpaquePointer
  private let prefetcher: Prefetcher
  /// The thread that runs the session loop, woken with a signal once the session is marked as exited.
  private let loopThread = pthread_self()
  private let finished = Atomic<Bool>(false)
  private var thread: JoinableThread?

  init(session: OpaquePointer, prefetcher: Prefetcher) {
    self.session = session
    self.prefetcher = prefetcher
  }

  /// Routes SIGINT, SIGTERM and SIGHUP to the watcher. Call before `fuse_set_signal_handlers`, which then
  /// leaves them alone (it only replaces default handlers).
  static func installHandlers() {
    _ = signalled  // initialized here, not first in a signal handler
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in _ = sem_post(ShutdownWatcher.signalled) }
    sigemptyset(&action.sa_mask)
    // No SA_RESTART: the signal sent to the loop thread must interrupt libfuse's sem_wait.
    action.sa_flags = 0
    for number in [SIGINT, SIGTERM, SIGHUP] { _ = sigaction(number, &action, nil) }
  }

  /// Starts the watching thread (after `fuse_daemonize`: threads do not survive its fork). Throws when
  /// the system refuses it: the signals would then do nothing.
  func start() throws(CramfsError) {
    thread = try Threads.start(name: "cramfs-shutdown") { [self] in watch() }
  }

  /// Ends the watching thread once the session loop has returned.
  func finish() {
    guard let thread else { return }
    finished.store(true, ordering: .releasing)
    sem_post(Self.signalled)
    thread.join()
    self.thread = nil
  }

  private func watch() {
    while sem_wait(Self.signalled) != 0 {}  // EINTR
    if finished.load(ordering: .acquiring) { return }
    prefetcher.stop(answeringRequests: false)
    fuse_session_exit(session)
    // libfuse's loop waits in sem_wait for its workers; a signal makes it look at the exit mark.
    _ = pthread_kill(loopThread, SIGTERM)
  }
}

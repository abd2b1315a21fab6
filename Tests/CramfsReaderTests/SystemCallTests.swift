import Cramfs
import Foundation
import Testing

/// The one syscall boundary keeps the messages users saw before it: `strerror`'s text after the operation.
@Suite struct SystemCallTests {
  @Test(arguments: [ENOENT, EACCES, ENOTDIR, ENOSPC, EEXIST, EINVAL])
  func textIsStrerror(code: Int32) {
    #expect(SystemCall.text(code) == String(cString: strerror(code)))
  }

  @Test func errorNamesTheOperationAndTheReason() {
    #expect(
      SystemCall.error("cannot stat /nowhere", errno: ENOENT, path: "/nowhere")
        == CramfsError(.io, "cannot stat /nowhere: No such file or directory", path: "/nowhere"))
    // A failed call's own errno, read at once.
    errno = 0
    #expect(access("/nowhere/at/all", F_OK) == -1)
    #expect(SystemCall.error("cannot stat").message == "cannot stat: No such file or directory")
  }
}

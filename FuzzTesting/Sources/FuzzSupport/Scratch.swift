#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A private directory for the targets that need files (a tar archive to read, an image to write), made
/// once per process under `$TMPDIR` (or `/tmp`). Its files are removed at exit; the runner also removes
/// its whole `TMPDIR` afterwards, so nothing is left behind even when a finding kills the process.
public let scratchDirectory: String = {
  let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
  var template = Array("\(base)/cramfs-fuzz.XXXXXX".utf8CString)
  guard let made = mkdtemp(&template) else { fatalError("cannot make a scratch directory under \(base)") }
  let path = String(cString: made)
  atexit { removeScratchDirectory() }
  return path
}()

private func removeScratchDirectory() {
  guard let directory = opendir(scratchDirectory) else { return }
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    if name != "." && name != ".." { unlink("\(scratchDirectory)/\(name)") }
  }
  closedir(directory)
  rmdir(scratchDirectory)
}

/// Writes `bytes` to `path`, replacing what was there; traps if it cannot (the harness is broken, not the input).
public func writeScratchFile(_ path: String, _ bytes: UnsafeBufferPointer<UInt8>) {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  guard fd >= 0 else { fatalError("cannot create \(path)") }
  defer { close(fd) }
  var done = 0
  while done < bytes.count {
    let written = write(fd, bytes.baseAddress! + done, bytes.count - done)
    guard written > 0 else { fatalError("cannot write \(path)") }
    done += written
  }
}

/// Removes `path` if it exists.
public func removeScratchFile(_ path: String) {
  unlink(path)
}

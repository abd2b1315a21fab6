/// One entry as an archive or image lists it, by path, before it has a place in the tree.
public struct InputEntry: Sendable {
  /// The path as the input spells it (raw bytes); a leading `/` or `./` is dropped, `..` is refused.
  public var path: [UInt8]
  /// The entry's type; an input refuses types cramfs cannot hold before it gets here.
  public var type: FileType
  /// Permission bits (`0o7777`); the type bits come from `type`.
  public var permissions: UInt16
  /// Owner as the input gives it; the image keeps 16 bits of the uid and 8 of the gid (with a warning).
  public var uid: UInt32
  public var gid: UInt32
  /// Character and block devices only.
  public var device: DeviceNumber?
  /// Symlinks only.
  public var linkTarget: [UInt8]?
  /// Regular files only: the bytes and how many.
  public var content: (any EntryContent)?
  public var size: Int

  /// An entry of `type` at `path`; give `device`, `linkTarget` or `content` and `size` as the type needs.
  public init(
    path: [UInt8], type: FileType, permissions: UInt16, uid: UInt32, gid: UInt32,
    device: DeviceNumber? = nil, linkTarget: [UInt8]? = nil, content: (any EntryContent)? = nil,
    size: Int = 0
  ) {
    self.path = path
    self.type = type
    self.permissions = permissions
    self.uid = uid
    self.gid = gid
    self.device = device
    self.linkTarget = linkTarget
    self.content = content
    self.size = size
  }

  /// The path for messages.
  public var displayPath: String { String(decoding: path, as: UTF8.self) }
}

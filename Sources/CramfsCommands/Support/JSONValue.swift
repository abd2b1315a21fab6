/// A JSON value with object keys kept in insertion order, for the `--json` output of the commands.
///
///     let value: JSONValue = .object([("name", .string("a")), ("size", .integer(3))])
///     print(value.rendered())   // {"name":"a","size":3}
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case integer(Int64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): true
    case let (.bool(a), .bool(b)): a == b
    case let (.integer(a), .integer(b)): a == b
    case let (.number(a), .number(b)): a == b
    case let (.string(a), .string(b)): a == b
    case let (.array(a), .array(b)): a == b
    case let (.object(a), .object(b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
    default: false
    }
  }

  /// An integer value from any integer type.
  public static func int(_ value: some BinaryInteger) -> JSONValue { .integer(Int64(value)) }

  /// The compact encoding, or with `pretty` two-space indentation and one member per line.
  public func rendered(pretty: Bool = false) -> String {
    var out = ""
    render(into: &out, pretty: pretty, depth: 0)
    return out
  }

  private func render(into out: inout String, pretty: Bool, depth: Int) {
    let newline = pretty ? "\n" + String(repeating: "  ", count: depth + 1) : ""
    let close = pretty ? "\n" + String(repeating: "  ", count: depth) : ""
    switch self {
    case .null: out += "null"
    case .bool(let value): out += value ? "true" : "false"
    case .integer(let value): out += String(value)
    case .number(let value): out += value.isFinite ? String(value) : "null"
    case .string(let value): JSONValue.quote(value, into: &out)
    case .array(let values):
      guard !values.isEmpty else { out += "[]"; return }
      out += "["
      for (index, value) in values.enumerated() {
        out += (index > 0 ? "," : "") + newline
        value.render(into: &out, pretty: pretty, depth: depth + 1)
      }
      out += close + "]"
    case .object(let members):
      guard !members.isEmpty else { out += "{}"; return }
      out += "{"
      for (index, (key, value)) in members.enumerated() {
        out += (index > 0 ? "," : "") + newline
        JSONValue.quote(key, into: &out)
        out += pretty ? ": " : ":"
        value.render(into: &out, pretty: pretty, depth: depth + 1)
      }
      out += close + "}"
    }
  }

  private static func quote(_ text: String, into out: inout String) {
    out += "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}

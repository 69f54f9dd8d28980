/// Small, allocation-light JSON and structured-field string writing for the proxy's own responses.
enum JSONText {
    /// A JSON string literal with RFC 8259 §7 escaping.
    static func string(_ text: String) -> String {
        var out = "\""
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
        return out + "\""
    }

    /// A flat JSON object of string members, in the order given.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \(string($0.1))" }.joined(separator: ", ") + "}"
    }

    /// An RFC 8941 §3.3.3 sf-string: printable ASCII only, `"` and `\` escaped, anything else replaced by `?`.
    static func structuredString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            default: out += "?"
            }
        }
        return out + "\""
    }
}

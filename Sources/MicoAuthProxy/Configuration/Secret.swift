/// A credential that prints as `********` wherever it goes: `description`, `debugDescription`,
/// string interpolation, `dump` and the reflection behind the default description of a
/// containing struct.
///
/// Only code in this module can read the value (`value`), so a log line cannot reach it by accident.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The mask printed in place of every secret.
    public static let mask = "********"

    /// The secret itself, for the token client.
    let value: String

    /// Wraps `value`; nothing that prints the result shows it.
    public init(_ value: String) {
        self.value = value
    }

    /// Whether the secret has no characters.
    public var isEmpty: Bool { value.isEmpty }

    /// Always `********`.
    public var description: String { Self.mask }

    /// Always `********`.
    public var debugDescription: String { Self.mask }

    /// A mirror with no children, so `dump` and `Mirror` show nothing of the value.
    public var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .struct) }

    /// Compares in time that depends on the lengths only, not on where the bytes differ.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        let left = Array(lhs.value.utf8)
        let right = Array(rhs.value.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

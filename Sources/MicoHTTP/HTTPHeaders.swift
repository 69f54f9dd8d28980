/// Ordered header fields, as they appeared on the wire or as they will be written.
///
/// Names are compared ignoring ASCII case. Names and values are Strings in which every wire byte is one Unicode
/// scalar (ISO-8859-1), so serialising a decoded field gives back its exact bytes. Values are stored without
/// the whitespace around them.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    struct Field: Sendable {
        var name: String
        var value: String
    }

    private(set) var fields: [Field]

    /// No fields.
    public init() {
        fields = []
    }

    /// The given fields, in order.
    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The given fields, in order. Repeated names are kept.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// How many fields there are.
    public var count: Int { fields.count }

    /// The values of every field called `name`, in order; empty when there is none.
    public subscript(name: String) -> [String] {
        fields.compactMap { Latin1.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// The value of the first field called `name`.
    public func first(_ name: String) -> String? {
        fields.first { Latin1.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Whether any field is called `name`.
    public func contains(_ name: String) -> Bool {
        fields.contains { Latin1.equalsIgnoringCase($0.name, name) }
    }

    /// Appends a field after all others. See `isValidName` and `isValidValue` for what serialises unchanged.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Removes every field called `name`.
    public mutating func remove(name: String) {
        fields.removeAll { Latin1.equalsIgnoringCase($0.name, name) }
    }

    /// Removes every field called `name`, then puts one with `value` where the first of them was (or at the end).
    public mutating func replaceOrAdd(name: String, value: String) {
        guard let index = fields.firstIndex(where: { Latin1.equalsIgnoringCase($0.name, name) }) else {
            add(name: name, value: value)
            return
        }
        fields[index].value = value
        var i = fields.index(after: index)
        while i < fields.endIndex {
            if Latin1.equalsIgnoringCase(fields[i].name, name) {
                fields.remove(at: i)
            } else {
                i += 1
            }
        }
    }

    mutating func removeFields(where shouldRemove: (Field) -> Bool) {
        fields.removeAll(where: shouldRemove)
    }

    mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// Removes every field for which `shouldRemove(name, value)` is true.
    public mutating func removeAll(where shouldRemove: (_ name: String, _ value: String) throws -> Bool) rethrows {
        try fields.removeAll { try shouldRemove($0.name, $0.value) }
    }

    /// Whether `name` is a non-empty token (RFC 9110 §5.1) and so serialises unchanged.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && Latin1.isValid(name, rule: .token)
    }

    /// Whether `value` holds only field-value bytes (RFC 9110 §5.5: no CR, LF, NUL, other controls but HTAB, or
    /// DEL; scalars up to U+00FF) and so serialises unchanged. Leading and trailing whitespace is not rejected.
    public static func isValidValue(_ value: String) -> Bool {
        Latin1.isValid(value, rule: .fieldValue)
    }

    /// Equal when both have the same fields in the same order, names compared ignoring ASCII case.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy {
                $0.value == $1.value && Latin1.equalsIgnoringCase($0.name, $1.name)
            }
    }

    /// Iterates the fields in order.
    public struct Iterator: IteratorProtocol {
        private var base: IndexingIterator<[Field]>

        init(_ fields: [Field]) {
            base = fields.makeIterator()
        }

        /// The next field.
        public mutating func next() -> (name: String, value: String)? {
            base.next().map { ($0.name, $0.value) }
        }
    }

    /// Iterates the fields in order.
    public func makeIterator() -> Iterator { Iterator(fields) }

    /// The bytes `serialize` writes, or a few more when a String holds scalars above U+007F (two UTF-8 bytes for
    /// one wire byte).
    var serializedCountEstimate: Int {
        fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    /// Writes `name: value` CRLF for each field. Bytes that a name or value may not hold (RFC 9110 §5.1, §5.5)
    /// are replaced (by `_` in names, SP in values) so that no field can start a new line.
    /// Callers reserve `serializedCountEstimate` with the rest of the head.
    func serialize(into bytes: inout [UInt8]) {
        for field in fields {
            Latin1.append(field.name, rule: .token, to: &bytes)
            bytes.append(ByteClass.colon)
            bytes.append(ByteClass.sp)
            Latin1.append(field.value, rule: .fieldValue, to: &bytes)
            bytes.append(ByteClass.cr)
            bytes.append(ByteClass.lf)
        }
    }
}

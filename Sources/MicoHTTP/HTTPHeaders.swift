/// Ordered header fields, as they appeared on the wire or as they will be written.
///
/// Names are compared ignoring ASCII case. The fields are kept as the bytes they are written as, one
/// `name: value` CRLF line each, so a decoded head is forwarded by copying its lines, with no String made or
/// checked again per field. Where a String goes in or comes out, each wire byte is one Unicode scalar
/// (ISO-8859-1). Values are stored without the whitespace around them.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// Where one field's line lies in `lines`: the name from `start` to `nameEnd`, then ": ", the value to
    /// `valueEnd`, then CRLF.
    struct Field: Sendable {
        var start: Int
        var nameEnd: Int
        var valueEnd: Int
        /// Which name it is, found when the field was stored.
        var known: HTTPFieldName.Known

        var valueStart: Int { nameEnd + 2 }
        var lineEnd: Int { valueEnd + 2 }
    }

    /// The fields' lines, in order.
    private var lines: [UInt8]
    private var fields: [Field]

    /// No fields.
    public init() {
        lines = []
        fields = []
    }

    /// The given fields, in order.
    public init(_ fields: [(String, String)]) {
        self.init()
        for (name, value) in fields { add(name: name, value: value) }
    }

    /// The given fields, in order. Repeated names are kept.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// How many fields there are.
    public var count: Int { fields.count }

    /// The values of every field called `name`, in order; empty when there is none.
    public subscript(name: String) -> [String] {
        var values: [String] = []
        var from = 0
        while let index = firstIndex(named: name, from: from) {
            values.append(value(at: index))
            from = index + 1
        }
        return values
    }

    /// The value of the first field called `name`.
    public func first(_ name: String) -> String? {
        firstIndex(named: name).map(value(at:))
    }

    /// Calls `body` with the value bytes of the first field called `name`, or nil when there is none: a value
    /// checked without making a String of it.
    public func withFirstValue<Result>(
        named name: String, _ body: (_ value: UnsafeBufferPointer<UInt8>?) throws -> Result
    ) rethrows -> Result {
        guard let index = firstIndex(named: name) else { return try body(nil) }
        let field = fields[index]
        return try lines.withUnsafeBufferPointer {
            try body(UnsafeBufferPointer(rebasing: $0[field.valueStart..<field.valueEnd]))
        }
    }

    /// Whether any field is called `name`.
    public func contains(_ name: String) -> Bool {
        firstIndex(named: name) != nil
    }

    /// Appends a field after all others. A byte that a name (RFC 9110 §5.1) or a value (§5.5) may not hold, or a
    /// scalar above U+00FF, is stored as `_` in a name and SP in a value, so that no field can start a new line:
    /// see `isValidName` and `isValidValue` for what is stored unchanged.
    public mutating func add(name: String, value: String) {
        fields.append(Self.appendLine(name: name, value: value, to: &lines))
    }

    /// Appends the line `name: value` CRLF, with the bytes a name or value may not hold replaced (see `add`);
    /// returns where its parts lie in `bytes`.
    @discardableResult
    static func appendLine(name: String, value: String, to bytes: inout [UInt8]) -> Field {
        let start = bytes.count
        Latin1.append(name, rule: .token, to: &bytes)
        let nameEnd = bytes.count
        bytes.append(ByteClass.colon)
        bytes.append(ByteClass.sp)
        Latin1.append(value, rule: .fieldValue, to: &bytes)
        let valueEnd = bytes.count
        bytes.append(ByteClass.cr)
        bytes.append(ByteClass.lf)
        let known = bytes.withUnsafeBufferPointer {
            HTTPFieldName.Known(UnsafeBufferPointer(rebasing: $0[start..<nameEnd]))
        }
        return Field(start: start, nameEnd: nameEnd, valueEnd: valueEnd, known: known)
    }

    /// The fields a decoder found in `p`, in order, each given by the ranges of its checked name and trimmed value
    /// counted from `base` (`base + start..<base + nameEnd`, the colon at `base + nameEnd`, the value ending at
    /// `base + valueEnd`). Their lines are copied once. In the usual head every line is already in stored form
    /// (`name: value` CRLF, as servers write them) and the first starts at `base`: then the lines are one copy and
    /// `found` is kept as it is, without a field rewritten (or the array copied to be rewritten).
    init(decoded found: [Field], in p: UnsafeBufferPointer<UInt8>, base: Int) {
        // Where a value starts in `p`, and whether its line is stored as it is.
        func valueStart(_ field: Field) -> (Int, storedForm: Bool) {
            let colon = base + field.nameEnd
            let valueEnd = base + field.valueEnd
            var start = colon + 1
            while start < valueEnd && ByteClass.isWhitespace(p[start]) { start += 1 }
            return (start, start == colon + 2 && p[colon + 1] == ByteClass.sp && p[valueEnd] == ByteClass.cr)
        }
        var end = 0
        for field in found {
            guard field.start == end, valueStart(field).storedForm else {
                end = -1
                break
            }
            end = field.lineEnd
        }
        if end >= 0 {
            lines = Array(UnsafeBufferPointer(rebasing: p[base..<base + end]))
            fields = found
            return
        }
        // Some line is written out: name, ": ", the value without the whitespace around it, CRLF.
        var lines: [UInt8] = []
        // A stored line is at most a byte longer than the name and value on the wire (the colon may have had no SP
        // after it), plus CRLF.
        lines.reserveCapacity(found.reduce(0) { $0 + $1.valueEnd - $1.start + 3 })
        var fields: [Field] = []
        fields.reserveCapacity(found.count)
        for field in found {
            let start = lines.count
            lines.append(contentsOf: UnsafeBufferPointer(rebasing: p[base + field.start..<base + field.nameEnd]))
            let nameEnd = lines.count
            lines.append(ByteClass.colon)
            lines.append(ByteClass.sp)
            lines.append(contentsOf: UnsafeBufferPointer(rebasing: p[valueStart(field).0..<base + field.valueEnd]))
            let valueEnd = lines.count
            lines.append(ByteClass.cr)
            lines.append(ByteClass.lf)
            fields.append(Field(start: start, nameEnd: nameEnd, valueEnd: valueEnd, known: field.known))
        }
        self.lines = lines
        self.fields = fields
    }

    /// Calls `body` with the name and value bytes of each field, in order.
    func forEachField(_ body: (_ name: HTTPFieldName, _ value: UnsafeBufferPointer<UInt8>) -> Void) {
        lines.withUnsafeBufferPointer { lines in
            for field in fields {
                body(
                    HTTPFieldName(
                        bytes: UnsafeBufferPointer(rebasing: lines[field.start..<field.nameEnd]), known: field.known),
                    UnsafeBufferPointer(rebasing: lines[field.valueStart..<field.valueEnd]))
            }
        }
    }

    /// Calls `body` with the value bytes of each field whose name is `known`, in order.
    func forEachValue(of known: HTTPFieldName.Known, _ body: (_ value: UnsafeBufferPointer<UInt8>) -> Void) {
        lines.withUnsafeBufferPointer { lines in
            for field in fields where field.known == known {
                body(UnsafeBufferPointer(rebasing: lines[field.valueStart..<field.valueEnd]))
            }
        }
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
        guard lhs.fields.count == rhs.fields.count else { return false }
        return lhs.lines.withUnsafeBufferPointer { l in
            rhs.lines.withUnsafeBufferPointer { r in
                zip(lhs.fields, rhs.fields).allSatisfy { a, b in
                    ASCII.equalsIgnoringCase(
                        UnsafeBufferPointer(rebasing: l[a.start..<a.nameEnd]),
                        UnsafeBufferPointer(rebasing: r[b.start..<b.nameEnd]))
                        && l[a.valueStart..<a.valueEnd].elementsEqual(r[b.valueStart..<b.valueEnd])
                }
            }
        }
    }

    /// Iterates the fields in order.
    public struct Iterator: IteratorProtocol {
        private let headers: HTTPHeaders
        private var index = 0

        init(_ headers: HTTPHeaders) {
            self.headers = headers
        }

        /// The next field.
        public mutating func next() -> (name: String, value: String)? {
            guard index < headers.fields.count else { return nil }
            defer { index += 1 }
            return (headers.name(at: index), headers.value(at: index))
        }
    }

    /// Iterates the fields in order.
    public func makeIterator() -> Iterator { Iterator(self) }

    /// The bytes `serialize` writes: the fields' lines.
    public var serializedCount: Int {
        fields.reduce(0) { $0 + $1.lineEnd - $1.start }
    }

    /// Writes `name: value` CRLF for each field for which `include(name)` is true: its stored line, adjacent lines
    /// in one copy. Callers reserve `serializedCount` with the rest of the head.
    func serialize(into bytes: inout [UInt8], where include: (_ name: HTTPFieldName) -> Bool = { _ in true }) {
        lines.withUnsafeBufferPointer { lines in
            func name(_ field: Field) -> HTTPFieldName {
                HTTPFieldName(
                    bytes: UnsafeBufferPointer(rebasing: lines[field.start..<field.nameEnd]), known: field.known)
            }
            var index = 0
            while index < fields.count {
                let field = fields[index]
                index += 1
                guard include(name(field)) else { continue }
                var end = field.lineEnd
                while index < fields.count && fields[index].start == end && include(name(fields[index])) {
                    end = fields[index].lineEnd
                    index += 1
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: lines[field.start..<end]))
            }
        }
    }

    // MARK: Lookup

    private func name(at index: Int) -> String {
        let field = fields[index]
        return lines.withUnsafeBufferPointer {
            Latin1.string(UnsafeBufferPointer(rebasing: $0[field.start..<field.nameEnd]))
        }
    }

    private func value(at index: Int) -> String {
        let field = fields[index]
        return lines.withUnsafeBufferPointer {
            Latin1.string(UnsafeBufferPointer(rebasing: $0[field.valueStart..<field.valueEnd]))
        }
    }

    /// The index of the first field from `from` on called `name`.
    private func firstIndex(named name: String, from: Int = 0) -> Int? {
        lines.withUnsafeBufferPointer { lines in
            var index = from
            while index < fields.count {
                let field = fields[index]
                if Self.equalsIgnoringCase(UnsafeBufferPointer(rebasing: lines[field.start..<field.nameEnd]), name) {
                    return index
                }
                index += 1
            }
            return nil
        }
    }

    /// Whether the stored name `bytes` spells `name`, ignoring ASCII case. A name with a byte no stored name can
    /// hold (a non-token byte, a scalar above U+007F) equals none.
    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ name: String) -> Bool {
        guard bytes.count == name.utf8.count else { return false }
        var name = name
        return name.withUTF8 { ASCII.equalsIgnoringCase(bytes, $0) }
    }
}

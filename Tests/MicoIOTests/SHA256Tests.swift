import MicoIO
import Testing

@Suite("SHA256 (FIPS 180-4 vectors)")
struct SHA256Tests {
    @Test(
        "known vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ])
    func knownVectors(input: String, expected: String) {
        #expect(SHA256.hex(Array(input.utf8)) == expected)
        var digest = SHA256()
        digest.update(input.utf8)
        #expect(digest.finalizeHex() == expected)
        #expect(digest.finalize().count == 32)
    }

    @Test("one million 'a' fed in uneven slices")
    func millionA() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var digest = SHA256()
        var offset = 0
        var step = 1
        while offset < bytes.count {
            let end = min(offset + step, bytes.count)
            digest.update(bytes[offset..<end])
            offset = end
            step = step * 3 % 65_521 + 1
        }
        #expect(digest.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a copy continues independently; finalizing does not end the digest")
    func valueSemantics() {
        var first = SHA256()
        first.update(Array("a".utf8))
        var second = first
        second.update(Array("bc".utf8))
        #expect(first.finalizeHex() == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")  // "a"
        #expect(second.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  // "abc"
        first.update(Array("bc".utf8))
        #expect(first.finalizeHex() == second.finalizeHex())
    }
}

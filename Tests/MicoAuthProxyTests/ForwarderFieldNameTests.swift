import Testing

@testable import MicoAuthProxy

@Suite("Forwarder: response field names it drops")
struct ForwarderFieldNameTests {
    @Test(
        "Access-Control-* field names are recognised in any case, and only as a prefix",
        arguments: [
            ("Access-Control-Allow-Origin", true), ("ACCESS-CONTROL-MAX-AGE", true), ("access-control-", true),
            ("aCcEsS-cOnTrOl-Expose-Headers", true), ("Access-Control", false),
            ("X-Access-Control-Allow-Origin", false), ("Access_Control-Allow-Origin", false),
            ("Content-Type", false), ("", false),
        ])
    func accessControlFieldNames(name: String, isAccessControl: Bool) {
        var name = name
        #expect(name.withUTF8(Forwarder.isAccessControlField) == isAccessControl)
    }
}

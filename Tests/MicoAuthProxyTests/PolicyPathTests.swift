import Testing

@testable import MicoAuthProxy

/// `Policy.normalizedPath`, which recognises the token endpoint however it is spelt, and its byte-wise fast path,
/// which must answer exactly as the general String-based path does.
@Suite("Policy path normalisation")
struct PolicyPathTests {
    @Test(arguments: [
        ("/oauth/token", "/oauth/token"), ("/OAUTH/Token", "/oauth/token"), ("/oauth/token/", "/oauth/token"),
        ("/oauth//token", "/oauth/token"), ("/v1/../oauth/token", "/oauth/token"), ("/oauth/%74oken", "/oauth/token"),
        ("/oauth/./token?grant_type=client_credentials", "/oauth/token"), ("/", "/"), ("", "/"), ("?a", "/"),
        ("/a?b?c", "/a"), ("/../..", "/"), ("/a/...", "/a/..."), ("/%2e%2E/a", "/a"), ("/a%2Fb", "/a/b"),
        ("/caf%C3%A9", "/caf\u{E9}"), ("/to\u{212A}en", "/token"), ("/a?\u{301}", "/a?\u{301}"),
    ])
    func normalises(target: String, path: String) {
        #expect(Policy.normalizedPath(target) == path)
    }

    @Test(arguments: ["/", "/v1/items/42", "/V1/Items?x=%41&y=/../", "/a.b/c..d/.e/...", "/a?"])
    func commonTargetsTakeTheFastPath(target: String) {
        #expect(Policy.lowercasedIfAlreadyNormal(target) == Policy.decodedAndNormalizedPath(target))
    }

    @Test(arguments: ["", "a", "?a", "/a/", "//a", "/./a", "/a/..", "/%41", "/caf\u{E9}", "/a?\u{301}"])
    func otherTargetsTakeTheGeneralPath(target: String) {
        #expect(Policy.lowercasedIfAlreadyNormal(target) == nil)
    }

    @Test func fastAndGeneralPathsAgreeOnRandomTargets() {
        // Mostly plain pieces, so that many targets reach the fast path; the others exercise its refusals.
        let plain = ["/", "/", "a", "Z", "k", "-", ".x", "~"]
        let special = [
            ".", "..", "?", "/.", "//", "%", "%2e", "%2F", "%41", "%zz", "%+f", "%-0", "\u{E9}", "\u{301}", "\u{212A}",
            "\u{130}", "\r\n",
        ]
        var random = SplitMix64(seed: 42)
        var fast = 0
        for _ in 0..<20_000 {
            var target = random.next() % 2 == 0 ? "/" : ""
            for _ in 0..<random.next() % 10 {
                let pieces = random.next() % 4 == 0 ? special : plain
                target += pieces[Int(random.next() % UInt64(pieces.count))]
            }
            let general = Policy.decodedAndNormalizedPath(target)
            #expect(Policy.normalizedPath(target) == general, "\(Array(target.unicodeScalars))")
            if let lowercased = Policy.lowercasedIfAlreadyNormal(target) {
                #expect(lowercased == general, "\(Array(target.unicodeScalars))")
                fast += 1
            }
        }
        #expect(fast > 2000, "only \(fast) random targets reached the fast path")
    }

    @Test func isTokenPathAgreesWithComparingNormalisedPaths() {
        let plain = ["/", "/", "a", "Z", "k", "-", ".x"]
        let special = [".", "..", "?", "//", "%2e", "%41", "%2F", "\u{E9}", "\u{212A}"]
        var random = SplitMix64(seed: 7)
        var targets = ["/oauth/token", "/OAUTH/Token", "/oauth/token/", "/oauth/%74oken", "/oauth/tokens", "/oauth"]
        for _ in 0..<5_000 {
            var target = "/"
            for _ in 0..<random.next() % 6 {
                let pieces = random.next() % 5 == 0 ? special : plain
                target += pieces[Int(random.next() % UInt64(pieces.count))]
            }
            targets.append(target)
        }
        var matches = 0
        // Token paths as configurations give them (normalised): the usual one and some of the targets'.
        for tokenPath in ["/oauth/token"] + targets.prefix(40).map(Policy.normalizedPath) {
            let policy = Policy(allowedHosts: [], allowedOrigins: [], tokenPath: tokenPath, maxRequestBodyBytes: 0)
            for target in targets {
                let expected = Policy.normalizedPath(target) == tokenPath
                #expect(policy.isTokenPath(target) == expected, "\(target) against \(tokenPath)")
                if expected { matches += 1 }
            }
        }
        #expect(matches > 100, "only \(matches) targets named a token path")
    }
}

/// Which targets are the proxy's own (`/-/…`), compared byte for byte.
@Suite("Admin prefix")
struct AdminPrefixTests {
    @Test(arguments: ["/-/", "/-/healthy", "/-/metrics?x", "/-/nope", "/-/\u{301}status", "/-//"])
    func adminTargets(target: String) {
        #expect(AdminEndpoints.isAdmin(target))
    }

    @Test(arguments: ["", "/", "/-", "/-?/", "//-/", "/v1/-/", "-/-/", "/%2D/", " /-/", "/\u{2011}/"])
    func forwardedTargets(target: String) {
        #expect(!AdminEndpoints.isAdmin(target))
    }
}

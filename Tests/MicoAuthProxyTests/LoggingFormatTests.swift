import Foundation
import Glibc
import Logging
import Testing

@testable import MicoAuthProxy

@Suite("Log line formatting")
struct LoggingFormatTests {
    private func line(
        _ message: String, _ metadata: Logger.Metadata = [:], level: Logger.Level = .info,
        format: LogFormat = .logfmt, journal: Bool = false, time: timespec? = nil
    ) -> String {
        String(
            decoding: StandardErrorLogHandler.line(
                level: level, message: message, metadata: metadata, format: format, priorityPrefix: journal,
                time: time),
            as: UTF8.self)
    }

    /// Values that must never break a line or a reader's parse.
    private static let nasty = [
        "two\nlines", "cr\rlf\r\n", "tab\there", "quote \" and backslash \\", "a=b", "", " ", "esc\u{1B}[31m",
        "nul\u{0}byte", "del\u{7F}", "nel\u{85}", "line\u{2028}separator", "para\u{2029}graph", "naïve ☃ 🎉",
    ]

    @Test func logfmtQuotesOnlyWhatNeedsIt() {
        #expect(
            line("listening", ["address": "127.0.0.1:8642", "mode": "0660"])
                == "level=info msg=\"listening\" address=127.0.0.1:8642 mode=0660\n")
        let metadata: Logger.Metadata = ["empty": "", "spaced": "two words", "eq": "a=b", "path": "/v1/x"]
        #expect(
            line("a \"quoted\" word", metadata, level: .warning)
                == #"level=warning msg="a \"quoted\" word" empty="" eq="a=b" path=/v1/x spaced="two words""# + "\n")
    }

    @Test func logfmtEscapesControlCharactersAndLineBreaks() {
        #expect(
            line("first\nsecond", ["value": "a\r\nb\tc\u{1B}d\\e\u{7F}f\u{2028}g"])
                == #"level=info msg="first\nsecond" value="a\r\nb\tc\u001bd\\e\u007ff\u2028g""# + "\n")
        #expect(line("x", ["nul": "\u{0}"]) == #"level=info msg="x" nul="\u0000""# + "\n")
    }

    @Test func logfmtKeysAreBareWords() {
        #expect(line("x", ["a key=\"b\"": "1"]) == "level=info msg=\"x\" a_key__b_=1\n")
        #expect(line("x", ["": "1"]) == "level=info msg=\"x\" _=1\n")
    }

    @Test func reservedKeysInMetadataGetAPrefix() {
        #expect(
            line("real", ["msg": "fake", "level": "critical", "ts": "0"])
                == "level=info msg=\"real\" _level=critical _msg=fake _ts=0\n")
        let json = line("real", ["msg": "fake"], format: .json)
        #expect(json == #"{"level":"info","msg":"real","_msg":"fake"}"# + "\n")
    }

    @Test func metadataComesSortedAfterLevelAndMessage() {
        #expect(line("m", ["b": "2", "a": "1", "c": "3"]) == "level=info msg=\"m\" a=1 b=2 c=3\n")
    }

    @Test func timestampIsRFC3339InUTCWithMilliseconds() {
        #expect(
            StandardErrorLogHandler.rfc3339(timespec(tv_sec: 1_735_787_045, tv_nsec: 678_900_000))
                == "2025-01-02T03:04:05.678Z")
        #expect(
            StandardErrorLogHandler.rfc3339(timespec(tv_sec: 1_709_251_199, tv_nsec: 999_999_999))
                == "2024-02-29T23:59:59.999Z")
        #expect(StandardErrorLogHandler.rfc3339(timespec(tv_sec: 0, tv_nsec: 1_000_000)) == "1970-01-01T00:00:00.001Z")
        let time = timespec(tv_sec: 1_735_787_045, tv_nsec: 5_000_000)
        #expect(line("m", time: time) == "ts=2025-01-02T03:04:05.005Z level=info msg=\"m\"\n")
        #expect(
            line("m", format: .json, time: time) == #"{"ts":"2025-01-02T03:04:05.005Z","level":"info","msg":"m"}"#
                + "\n")
    }

    @Test func jsonLinesParseAndKeepEveryValue() throws {
        for text in Self.nasty {
            let output = line(
                text, ["value": .string(text), "list": ["a", "b\n"], "number": .stringConvertible(42)], level: .error,
                format: .json)
            #expect(output.hasSuffix("}\n"))
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            #expect(object["level"] as? String == "error")
            #expect(object["msg"] as? String == text)
            #expect(object["value"] as? String == text)
            #expect(object["list"] as? String == #"["a", "b\n"]"#)
            #expect((object["number"] as? NSNumber)?.intValue == 42)
            #expect(object["ts"] == nil)
        }
    }

    @Test func jsonWritesNumbersAndBooleansBareAndOtherTextAsStrings() throws {
        let output = line(
            "request",
            [
                "status": .stringConvertible(200), "ms": .stringConvertible(Milliseconds(seconds: 0.0123456)),
                "replayed": .stringConvertible(false), "negative": .stringConvertible(-1.5e3),
                "text": .string("200"), "inf": .stringConvertible(Double.infinity),
                "nan": .stringConvertible(Double.nan),
                "leadingZero": .stringConvertible("0123"), "dot": .stringConvertible("1."),
            ],
            format: .json)
        #expect(output.contains(#""status":200"#))
        #expect(output.contains(#""ms":12.346"#))
        #expect(output.contains(#""replayed":false"#))
        #expect(output.contains(#""negative":-1500.0"#))
        #expect(output.contains(#""text":"200""#))
        #expect(output.contains(#""inf":"inf""#))
        #expect(output.contains(#""nan":"nan""#))
        #expect(output.contains(#""leadingZero":"0123""#))
        #expect(output.contains(#""dot":"1.""#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(object.count == 11)
    }

    @Test func noValueEverSplitsALine() {
        for format in LogFormat.allCases {
            for text in Self.nasty {
                let output = line(text, ["value": .string(text), "k\nk": .string(text)], format: format)
                let breaks = output.unicodeScalars.filter { (scalar: Unicode.Scalar) in
                    [0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029].contains(scalar.value)
                }
                #expect(String(breaks) == "\n", "\(format) \(output.debugDescription)")
                #expect(output.last == "\n")
                #expect(!output.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            }
        }
    }

    @Test(arguments: [
        (Logger.Level.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"), (.warning, "<4>"),
        (.error, "<3>"), (.critical, "<2>"),
    ])
    func journalLinesStartWithTheSyslogPriority(level: Logger.Level, prefix: String) {
        #expect(line("m", level: level, journal: true) == "\(prefix)level=\(level.rawValue) msg=\"m\"\n")
        #expect(line("m", level: level, format: .json, journal: true).hasPrefix(prefix + "{"))
        #expect(line("m", level: level).hasPrefix("level="))
    }

    @Test func journalIsRecognisedOnlyWhenItIsStandardError() {
        var status = stat()
        #expect(fstat(2, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(StandardErrorLogHandler.journalIsStandardError(environment: ["JOURNAL_STREAM": matching]))
        for other in ["\(status.st_dev):\(status.st_ino + 1)", "", "abc", "\(status.st_dev)", "1:2:3"] {
            #expect(!StandardErrorLogHandler.journalIsStandardError(environment: ["JOURNAL_STREAM": other]), "\(other)")
        }
        #expect(!StandardErrorLogHandler.journalIsStandardError(environment: [:]))
    }
}

@Suite("Access log lines")
struct AccessLoggingTests {
    private let record = RequestRecord(
        method: "POST", target: "/v1/campaigns?api_key=caller-own-token&x=1", status: 201, bytesIn: 12,
        bytesOut: 345, durationSeconds: 0.0421, upstreamSeconds: 0.0305, replayed: true)

    private func logfmt(_ metadata: Logger.Metadata) -> String {
        String(
            decoding: StandardErrorLogHandler.line(
                level: .info, message: "request", metadata: metadata, format: .logfmt, priorityPrefix: false,
                time: nil),
            as: UTF8.self)
    }

    @Test func pathLeavesOutTheQueryByDefault() {
        #expect(
            logfmt(AccessLog.metadata(record, includeQuery: false))
                == "level=info msg=\"request\" bytes_in=12 bytes_out=345 duration_ms=42.100 method=POST"
                + " path=/v1/campaigns replayed=true status=201 upstream_ms=30.500\n")
    }

    @Test func queryIsShownOnlyWhenAsked() {
        let line = logfmt(AccessLog.metadata(record, includeQuery: true))
        #expect(line.contains(#" path="/v1/campaigns?api_key=caller-own-token&x=1" "#))
        for target in ["/v1/campaigns", "/v1/campaigns?"] {
            var bare = record
            bare.target = target
            #expect(logfmt(AccessLog.metadata(bare, includeQuery: true)).contains(" path=/v1/campaigns "), "\(target)")
        }
    }

    @Test func requestsThatWereNotForwardedHaveNoUpstreamTime() {
        var local = record
        local.upstreamSeconds = nil
        local.status = 0
        let metadata = AccessLog.metadata(local, includeQuery: false)
        #expect(metadata["upstream_ms"] == nil)
        #expect(logfmt(metadata).contains(" status=0"))
    }

    @Test func millisecondsHaveThreeDecimals() {
        #expect(Milliseconds(seconds: 0).description == "0.000")
        #expect(Milliseconds(seconds: 0.0000004).description == "0.000")
        #expect(Milliseconds(seconds: 0.0000006).description == "0.001")
        #expect(Milliseconds(seconds: 0.012).description == "12.000")
        #expect(Milliseconds(seconds: 61.5).description == "61500.000")
        #expect(Milliseconds(seconds: -1).description == "0.000")
        #expect(Milliseconds(seconds: .nan).description == "0.000")
    }
}

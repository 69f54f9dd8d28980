import Foundation
import MicoTestSupport

/// curl, a client we did not write, as the tests' HTTP client.
struct Curl {
    struct Response {
        var status: Int
        /// Response header fields, names lower-cased (the last response's, after any 100 Continue).
        var headers: [(name: String, value: String)]
        var body: Data
        var bodyText: String { String(decoding: body, as: UTF8.self) }
        var stderr: String
        var exitCode: Int32

        func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }

        /// The JSON body as a dictionary.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(bodyText)")
            }
            return object
        }
    }

    /// Runs `curl -sS` with `arguments` and a URL; captures status, headers and body.
    /// `record` false keeps the exchange out of the run log that `.ci/run` scans for leaked secrets and tokens:
    /// only for tests that fetch a token from the mock API on purpose.
    static func run(_ arguments: [String], timeout: Double = 60, record: Bool = true) async throws -> Response {
        let directory = try TemporaryDirectory.make("curl")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let headerFile = directory + "/headers"
        let bodyFile = directory + "/body"
        let result = try await ExternalProcess.run(
            "/usr/bin/curl",
            ["-sS", "--max-time", String(Int(timeout)), "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"]
                + arguments)
        let status = Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let rawHeaders = (try? String(contentsOfFile: headerFile, encoding: .isoLatin1)) ?? ""
        // Keep only the final response's block (a 100 Continue block may precede it).
        let blocks = rawHeaders.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        let last = blocks.last ?? ""
        let headers = last.components(separatedBy: "\r\n").dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                line[..<colon].lowercased(),
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data()
        if record {
            RunLog.append(rawHeaders)
            if body.count <= 1 << 20 { RunLog.append(String(decoding: body, as: UTF8.self)) }
        }
        return Response(
            status: status, headers: headers, body: body, stderr: result.stderr, exitCode: result.status)
    }
}

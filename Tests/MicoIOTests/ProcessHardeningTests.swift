import MicoIO
import Testing

@Suite("Process hardening")
struct ProcessHardeningTests {
    @Test("disableCoreDumps sets RLIMIT_CORE to 0 and makes the process non-dumpable")
    func coreDumpsOff() throws {
        try ProcessHardening.disableCoreDumps()
        #expect(ProcessHardening.coreDumpsDisabled)
    }
}

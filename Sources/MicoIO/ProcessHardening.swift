import CMicoSystem
import Glibc

/// Process-wide protections for a process that holds a credential in memory.
public enum ProcessHardening {
    /// Forbids core dumps (`RLIMIT_CORE` 0) and makes the process non-dumpable (`PR_SET_DUMPABLE` 0, which also
    /// stops other users' ptrace and hides /proc/PID/mem), so the secret and the token never land on disk.
    public static func disableCoreDumps() throws {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = try blockingSyscall("setrlimit RLIMIT_CORE") { setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) }
        _ = try blockingSyscall("prctl PR_SET_DUMPABLE") { CMicoSystem_prctl_set_dumpable(0) }
    }

    /// Whether core dumps are off: `RLIMIT_CORE` is 0 and the process is not dumpable.
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return false }
        return limit.rlim_cur == 0 && CMicoSystem_prctl_get_dumpable() == 0
    }
}

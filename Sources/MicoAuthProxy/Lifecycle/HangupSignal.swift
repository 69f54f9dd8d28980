import Dispatch
import Glibc

/// Calls a handler for every SIGHUP, through a Dispatch signal source (the default action, which ends the
/// process, is switched off first). `systemctl reload` sends it through the unit's `ExecReload=`.
public final class HangupSignal {
    private let source: any DispatchSourceSignal

    /// Starts listening; keep the returned value alive for as long as SIGHUP should be handled.
    public init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "mico.sighup"))
        source.setEventHandler(handler: handler)
        source.resume()
    }

    /// Stops listening (SIGHUP stays ignored).
    public func cancel() {
        source.cancel()
    }
}

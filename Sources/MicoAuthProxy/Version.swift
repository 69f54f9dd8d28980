/// The product version, shown by `--version` and sent as the token client's User-Agent.
public enum MicoAuthProxyVersion {
    public static let current = "0.1.0"
}

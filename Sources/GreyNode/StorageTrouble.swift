/// What a storage error says an operator can do about it, read from RocksDB's words: a full
/// disk (free space, start again) or damaged data (`greyctl repair`). One reading for the
/// node's runtime failures and greyd's refusals at start.
public enum StorageTrouble: Sendable {
    case diskFull
    case damaged

    /// nil when the error is neither.
    public init?(_ error: any Error) {
        let reason = "\(error)"
        if reason.contains("No space left on device") {
            self = .diskFull
        } else if reason.contains("Corruption") || reason.contains("corrupt") || reason.contains("damaged") {
            self = .damaged
        } else {
            return nil
        }
    }
}

import Foundation
import Yams

/// greyd's YAML config file: the same settings as the flags, in snake_case. Flags and
/// environment variables override it. Unknown keys are refused, so a typo is not ignored.
struct ConfigFile {
    static let keys: [String: String] = [
        "node_id": "GREY_NODE_ID", "listen": "GREY_LISTEN_ADDR", "peers": "GREY_CLUSTER_PEERS",
        "data_dir": "GREY_DATA_DIR", "advertise": "GREY_ADVERTISE_ADDR",
        "election_timeout": "GREY_ELECTION_TIMEOUT", "heartbeat_interval": "GREY_HEARTBEAT_INTERVAL",
        "log_level": "GREY_LOG_LEVEL", "log_format": "GREY_LOG_FORMAT", "seed": "GREY_SEED", "snapshot_entries": "GREY_SNAPSHOT_ENTRIES",
        "join_token": "GREY_JOIN_TOKEN", "tls_cert": "GREY_TLS_CERT", "tls_key": "GREY_TLS_KEY", "tls_ca": "GREY_TLS_CA",
        "max_clock_drift": "GREY_MAX_CLOCK_DRIFT", "quota_backend_bytes": "GREY_QUOTA_BACKEND_BYTES",
        "client_cert_auth": "GREY_CLIENT_CERT_AUTH", "public_metrics": "GREY_PUBLIC_METRICS",
        "trace_endpoint": "GREY_TRACE_ENDPOINT", "trace_sample": "GREY_TRACE_SAMPLE",
    ]

    /// The file's settings keyed by the environment variable each stands for.
    static func load(_ path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read config file \(path): \(error.localizedDescription)")
        }
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ConfigError("config file \(path) is not valid YAML: \(error)")
        }
        guard let mapping = document as? [String: Any] else {
            if document == nil { return [:] }
            throw ConfigError("config file \(path) must be a mapping of settings")
        }
        var settings: [String: String] = [:]
        for (key, value) in mapping {
            guard let variable = keys[key] else {
                throw ConfigError("unknown setting '\(key)' in \(path) (known: \(keys.keys.sorted().joined(separator: ", ")))")
            }
            switch value {
            case let list as [Any]: settings[variable] = list.map { "\($0)" }.joined(separator: ",")
            default: settings[variable] = "\(value)"
            }
        }
        return settings
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

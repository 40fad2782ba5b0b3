import GreyRaft
import GreyWire

/// Raft log entries on disk use the same protobuf messages as on the wire (`grey.v1.Entry`,
/// with a `grey.v1.ConfigChange` as the data of configuration entries), so one codec,
/// protobuf-c, reads both and `greyctl fsck` can decode a log with stock tools.
package enum LogEntryCodec {
    package static func encode(_ entry: LogEntry) -> [UInt8] {
        wireEntry(entry).encoded()
    }

    package static func decode(_ bytes: [UInt8]) throws(StorageError) -> LogEntry {
        let entry: Entry
        do {
            entry = try Entry(decoding: bytes)
        } catch {
            throw .corrupted("a log entry does not decode: \(error)")
        }
        return try logEntry(entry)
    }

    /// The wire message for an entry (AppendEntries carries these without re-encoding).
    package static func wireEntry(_ entry: LogEntry) -> Entry {
        let (type, data): (EntryType, [UInt8]) = switch entry.payload {
        case .command(let bytes): (.command, bytes)
        case .noop: (.noop, [])
        case let .config(change, result): (.configChange, wireChange(change, result).encoded())
        }
        return Entry(term: entry.term.rawValue, index: entry.index.rawValue, type: type, data: data)
    }

    /// The core's entry for a wire message; a configuration payload that does not decode is damage.
    package static func logEntry(_ entry: Entry) throws(StorageError) -> LogEntry {
        let payload: EntryPayload
        switch entry.type {
        case .command: payload = .command(entry.data)
        case .noop: payload = .noop
        case .configChange:
            let change: GreyWire.ConfigChange
            do {
                change = try GreyWire.ConfigChange(decoding: entry.data)
            } catch {
                throw .corrupted("configuration entry \(entry.index) does not decode: \(error)")
            }
            payload = try raftChange(change)
        }
        return LogEntry(term: Term(entry.term), index: LogIndex(entry.index), payload: payload)
    }

    package static func wireChange(_ change: GreyRaft.ConfigChange, _ result: GreyRaft.Configuration) -> GreyWire.ConfigChange {
        let (kind, address): (GreyWire.ConfigChange.Kind, String) = switch change {
        case .addLearner(_, let address): (.addLearner, address)
        case .promote: (.promote, "")
        case .remove: (.remove, "")
        }
        return GreyWire.ConfigChange(kind: kind, nodeID: change.node.rawValue, address: address, result: wireConfiguration(result))
    }

    package static func wireConfiguration(_ configuration: GreyRaft.Configuration) -> GreyWire.Configuration {
        GreyWire.Configuration(members: configuration.members.sorted().map { id in
            Member(id: id.rawValue, address: configuration.addresses[id] ?? "", role: configuration.voters.contains(id) ? .voter : .learner)
        })
    }

    package static func raftConfiguration(_ configuration: GreyWire.Configuration) -> GreyRaft.Configuration {
        let voters = configuration.members.filter { $0.role == .voter }.map { NodeID($0.id) }
        let learners = configuration.members.filter { $0.role == .learner }.map { NodeID($0.id) }
        let addresses = Dictionary(configuration.members.filter { !$0.address.isEmpty }.map { (NodeID($0.id), $0.address) }, uniquingKeysWith: { $1 })
        return GreyRaft.Configuration(voters: Set(voters), learners: Set(learners), addresses: addresses)
    }

    package static func raftChange(_ change: GreyWire.ConfigChange) throws(StorageError) -> EntryPayload {
        guard let result = change.result else { throw .corrupted("configuration entry for node \(change.nodeID) has no membership") }
        let id = NodeID(change.nodeID)
        let raftChange: GreyRaft.ConfigChange = switch change.kind {
        case .addLearner: .addLearner(id, address: change.address)
        case .promote: .promote(id)
        case .remove: .remove(id)
        }
        return .config(raftChange, result: raftConfiguration(result))
    }
}

import GreyWire

/// The alarms raised in the cluster (etcd's alarm store): which member raised which alarm.
///
/// Raised and disarmed through the log like any write, and kept in the state machine (one
/// state key, `MVCCKeys.alarmsKey`), so every member refuses the same writes from the same
/// point of the log, a restart or a snapshot install keeps them, and a write refused on one
/// replica is refused on all. Raising or disarming takes no revision, as in etcd.
public struct AlarmSet: Equatable, Sendable {
    /// By member, then type; at most one of each pair.
    public private(set) var members: [Etcd.AlarmMember] = []

    public init() {}

    /// While NOSPACE is raised by any member, writes that add data are refused everywhere.
    public var noSpace: Bool { members.contains { $0.alarm == .noSpace } }

    /// The alarms of `type`, or all of them for `.none` (etcd's Get).
    public func raised(_ type: Etcd.AlarmType) -> [Etcd.AlarmMember] {
        type == .none ? members : members.filter { $0.alarm == type }
    }

    /// Raises `alarm` for its member; returns it (raised now or before).
    mutating func activate(_ alarm: Etcd.AlarmMember) -> Etcd.AlarmMember {
        if !members.contains(alarm) {
            members.append(alarm)
            members.sort { ($0.memberID, $0.alarm.rawValue) < ($1.memberID, $1.alarm.rawValue) }
        }
        return alarm
    }

    /// Disarms `alarm`; returns it if it was raised, nil if there was nothing to disarm.
    mutating func deactivate(_ alarm: Etcd.AlarmMember) -> Etcd.AlarmMember? {
        guard let index = members.firstIndex(of: alarm) else { return nil }
        members.remove(at: index)
        return alarm
    }

    /// Nine bytes per alarm: the member id (big-endian u64), then the type.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        for member in members {
            MVCCKeys.appendBigEndian(&bytes, member.memberID)
            bytes.append(UInt8(member.alarm.rawValue))
        }
        return bytes
    }

    init?(decoding bytes: [UInt8]) {
        guard bytes.count % 9 == 0 else { return nil }
        for start in stride(from: 0, to: bytes.count, by: 9) {
            let memberID = bytes.withUnsafeBytes { MVCCKeys.readBigEndian($0, at: start) }
            guard let type = Etcd.AlarmType(rawValue: UInt32(bytes[start + 8])), type != .none else { return nil }
            _ = activate(Etcd.AlarmMember(memberID: memberID, alarm: type))
        }
    }
}

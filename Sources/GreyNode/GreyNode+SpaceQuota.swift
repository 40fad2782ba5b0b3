import GreyMVCC
import GreyWire

/// The space quota on the leader's write path (`SpaceQuota`, etcd's `--quota-backend-bytes`).
///
/// A write that would take the store past the quota is refused with etcd's "database space
/// exceeded", and this member raises NOSPACE through the log; from the entry that raises it
/// on, every member refuses writes that add data (`MVCCApplier`), whoever proposed them,
/// until the alarm is disarmed. Deletes, compactions and reads go on, so space can be freed.
extension GreyNode {
    /// What the quota was last measured against, and what was admitted since.
    struct SpaceEstimate {
        /// The store's bytes when last measured (`RaftStorage.stateBytes`).
        var measured: Int64 = 0
        var measuredAt: ContinuousClock.Instant?
        /// The cost of the writes admitted since: a burst between two measurements cannot
        /// overshoot the quota by more than one write.
        var admittedSince: Int64 = 0
        /// A NOSPACE raise is in the log and not applied yet: one is enough.
        var raising = false

        /// How long a measurement stands: reading RocksDB's size properties takes its mutex,
        /// which every write takes too.
        static let lifetime: Duration = .milliseconds(100)
    }

    /// The store's size, quota and NOSPACE alarm, for `/metrics` (any thread).
    nonisolated var storeFigures: NodeMetrics.StoreFigures {
        NodeMetrics.StoreFigures(bytes: storage.stateBytes(), quota: configuration.spaceQuota.limit, noSpace: (try? store.alarms().noSpace) ?? false)
    }

    /// Refuses `command` if the quota does not admit it, raising NOSPACE for this member.
    func checkSpace(for command: MVCCCommand) throws {
        let quota = configuration.spaceQuota
        guard quota.limit != nil, command.addedBytes > 0 else { return }
        let clock = ContinuousClock.now
        if spaceEstimate.measuredAt.map({ clock - $0 > SpaceEstimate.lifetime }) ?? true {
            spaceEstimate = SpaceEstimate(measured: storage.stateBytes(), measuredAt: clock, raising: spaceEstimate.raising)
        }
        let size = spaceEstimate.measured + spaceEstimate.admittedSince
        guard !quota.admits(command, size: size) else {
            spaceEstimate.admittedSince += command.addedBytes
            return
        }
        raiseNoSpace(size: size)
        throw MVCCError.noSpace.status
    }

    /// How often each member looks at its own store (`checkOwnSpace`).
    static let ownSpaceCheckInterval: Duration = .seconds(1)

    /// Every member, once a second: past its quota, it raises NOSPACE for itself — through
    /// the leader when it follows. A follower's store can outgrow the leader's (its own
    /// compactions, a larger snapshot), and only the leader checks the writes it proposes.
    func checkOwnSpace() {
        guard let limit = configuration.spaceQuota.limit, !spaceEstimate.raising else { return }
        let clock = ContinuousClock.now
        if let last = ownSpaceCheckedAt, clock - last < Self.ownSpaceCheckInterval { return }
        ownSpaceCheckedAt = clock
        let size = storage.stateBytes()
        guard size > limit else { return }
        if raft.role == .leader {
            raiseNoSpace(size: size)
            return
        }
        let member = Etcd.AlarmMember(memberID: EtcdMemberID.of(configuration.id), alarm: .noSpace)
        guard (try? store.alarms().members.contains(member)) != true,
              let leader = raft.leader, let address = raft.configuration.addresses[leader] else { return }
        spaceEstimate.raising = true
        log("this member's store holds \(size) bytes, past its space quota of \(limit) (--quota-backend-bytes): raising NOSPACE through the leader", level: .warning)
        let dial = configuration
        Task {
            if let channel = try? dial.channel(to: address) {
                _ = try? await channel.call(
                    EtcdMaintenanceMethods.alarm, Etcd.AlarmRequest(action: .activate, memberID: member.memberID, alarm: .noSpace), timeout: .seconds(5))
                await channel.close()
            }
            self.spaceEstimate.raising = false
        }
    }

    /// Proposes NOSPACE for this member unless it is raised already or on its way.
    private func raiseNoSpace(size: Int64) {
        let member = Etcd.AlarmMember(memberID: EtcdMemberID.of(configuration.id), alarm: .noSpace)
        guard !spaceEstimate.raising, (try? store.alarms().members.contains(member)) != true else { return }
        spaceEstimate.raising = true
        log("the store holds \(size) bytes, past its space quota of \(configuration.spaceQuota.limit ?? 0) (--quota-backend-bytes): raising NOSPACE; writes are refused until space is freed (compact, defragment) and the alarm disarmed (greyctl alarm disarm)", level: .warning)
        Task {
            _ = try? await self.write(.alarm(Etcd.AlarmRequest(action: .activate, memberID: member.memberID, alarm: .noSpace)))
            self.spaceEstimate.raising = false
        }
    }
}

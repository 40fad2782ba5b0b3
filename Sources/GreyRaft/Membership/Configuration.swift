/// Who is in the cluster: voters decide elections and commits, learners only receive the log.
public struct Configuration: Hashable, Sendable, CustomStringConvertible {
    public private(set) var voters: Set<NodeID>
    public private(set) var learners: Set<NodeID>
    /// Where each member is reached; opaque to the core, carried for the runtime.
    public private(set) var addresses: [NodeID: String]

    public init(voters: Set<NodeID>, learners: Set<NodeID> = [], addresses: [NodeID: String] = [:]) {
        precondition(voters.isDisjoint(with: learners), "a node cannot be both voter and learner")
        self.voters = voters
        self.learners = learners
        self.addresses = addresses
    }

    /// Every member, voters first.
    public var members: Set<NodeID> { voters.union(learners) }

    public func contains(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }

    /// Votes needed for a majority of the voters.
    public var quorum: Int { voters.count / 2 + 1 }

    /// Why `change` cannot apply to this configuration, or nil if it can.
    public func refusal(of change: ConfigChange) -> String? {
        switch change {
        case .addLearner(let id, _):
            return contains(id) ? "node \(id.rawValue) is already a member" : nil
        case .promote(let id):
            if voters.contains(id) { return "node \(id.rawValue) is already a voter" }
            return learners.contains(id) ? nil : "no such member \(id.rawValue)"
        case .remove(let id):
            guard contains(id) else { return "no such member \(id.rawValue)" }
            return voters == [id] ? "cannot remove the last voter" : nil
        }
    }

    /// The configuration after `change`; call only when `refusal(of:)` is nil.
    public func applying(_ change: ConfigChange) -> Configuration {
        var next = self
        switch change {
        case let .addLearner(id, address):
            next.learners.insert(id)
            next.addresses[id] = address
        case .promote(let id):
            next.learners.remove(id)
            next.voters.insert(id)
        case .remove(let id):
            next.voters.remove(id)
            next.learners.remove(id)
            next.addresses[id] = nil
        }
        return next
    }

    public var description: String {
        let voterList = voters.sorted().map(\.description).joined(separator: ",")
        let learnerList = learners.sorted().map(\.description).joined(separator: ",")
        return learners.isEmpty ? "{\(voterList)}" : "{\(voterList) learners \(learnerList)}"
    }
}

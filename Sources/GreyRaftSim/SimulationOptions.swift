import GreyRaft

/// What one simulated run does. Every choice inside the run comes from `seed`.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var nodeCount = 3
    /// Milliseconds of client load under faults, then of load with every fault healed.
    public var faultPhaseMs = 4_000
    public var healPhaseMs = 3_000
    public var clients = 4
    public var keys = 3
    public var tickMs = 10
    public var electionTimeoutTicks = 10
    public var heartbeatIntervalTicks = 2
    public var messageDelayMs = 1...6
    public var fsyncMs = 1...3
    public var dropRate = 0.03
    public var duplicateRate = 0.02
    public var partitions = true
    public var crashes = true
    public var checkQuorum = true
    public var preVote = true
    public var pauses = true
    public var membershipChanges = true
    /// Each node snapshots and compacts its log every this many applied entries.
    public var snapshotEvery = 40
    public var requestTimeoutMs = 800
    /// Pick the leader as the victim of most faults.
    public var leaderTargetedFaults = false
    public var nemesisIntervalMs = 100...400
    public var restartDelayMs = 10...600
    /// Chance that a node crashes right after its granted vote leaves: the moment a lost vote matters.
    public var crashAfterVoteRate = 0.0
    /// Chance that a newly elected leader crashes once its no-op is on its own disk: how logs
    /// with competing uncommitted suffixes (Figure 8 of the Raft paper) come about.
    public var crashNewLeaderRate = 0.0
    /// Half the clients only read, each always from the same node.
    public var stickyReaders = false
    /// Chance that a message takes a clogged path (30–150 ms) instead of the usual delay.
    public var slowMessageRate = 0.0
    /// Print role, membership and fault events as they happen (for replaying one seed).
    public var trace = false
    package var brokenVariants: BrokenVariants = []

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Names of the deliberately broken variants the checkers must catch.
    public static let brokenVariantNames = ["commit-old-term", "forget-vote", "read-without-quorum", "skip-log-check"]

    /// Switches on one deliberately broken variant by name (see `brokenVariantNames`).
    public mutating func breakOnPurpose(_ name: String) {
        switch name {
        case "commit-old-term": brokenVariants.insert(.commitOldTermByCount)
        case "forget-vote":
            // Check-quorum's startup guard (a restarted node waits an election timeout before
            // voting) hides most double votes; without it the lost vote must show.
            brokenVariants.insert(.forgetVote)
            checkQuorum = false
            preVote = false
        case "read-without-quorum": brokenVariants.insert(.readIndexWithoutQuorum)
        case "skip-log-check": brokenVariants.insert(.skipLogUpToDateCheck)
        default: preconditionFailure("unknown broken variant \(name)")
        }
    }

    /// Leader-targeted chaos on one hot key: the profile the broken-variant checks run, where
    /// every leader change is a chance for a wrong core to show itself.
    public static func hostile(seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(seed: seed)
        var random = SeededRandom(seed: seed ^ 0x5EED_F00D)
        options.nodeCount = random.next() % 2 == 0 ? 3 : 5
        options.keys = 2
        options.clients = 8
        options.faultPhaseMs = 2_500
        options.healPhaseMs = 1_500
        options.membershipChanges = false
        options.leaderTargetedFaults = true
        options.dropRate = [0.0, 0.1, 0.25][Int(random.next() % 3)]
        options.nemesisIntervalMs = 40...160
        options.restartDelayMs = 1...60
        options.crashAfterVoteRate = 0.3
        options.crashNewLeaderRate = 0.3
        options.requestTimeoutMs = 150
        options.stickyReaders = true
        options.slowMessageRate = 0.05
        return options
    }

    /// A mix of cluster sizes and fault menus chosen by the seed, for many-seed sweeps.
    public static func sweep(seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(seed: seed)
        var random = SeededRandom(seed: seed ^ 0xA5A5_5A5A)
        options.nodeCount = [3, 3, 5, 5, 7][Int(random.next() % 5)]
        options.dropRate = [0.0, 0.02, 0.08][Int(random.next() % 3)]
        options.duplicateRate = [0.0, 0.03][Int(random.next() % 2)]
        options.membershipChanges = random.next() % 2 == 0
        options.snapshotEvery = [15, 40, 200][Int(random.next() % 3)]
        return options
    }
}

/// What a run found.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var nodeCount: Int
    /// Safety violations; empty when the run is clean.
    public var violations: [String] = []
    public var operations = 0
    public var acknowledgedWrites = 0
    public var completedReads = 0
    public var leaderTerms = 0
    public var events = 0
    public var simulatedMs = 0

    public var passed: Bool { violations.isEmpty }

    public var description: String {
        let verdict = passed ? "ok" : "FAILED: " + violations.joined(separator: "; ")
        return "seed \(seed) (\(nodeCount) nodes): \(operations) ops, \(acknowledgedWrites) acked writes, \(completedReads) reads, \(leaderTerms) leader terms, \(events) events — \(verdict)"
    }
}

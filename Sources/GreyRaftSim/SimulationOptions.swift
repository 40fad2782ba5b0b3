import GreyRaft

/// What one simulated run does. Every choice inside the run comes from `seed`.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var nodeCount = 3
    /// Milliseconds of client load under faults, then of load with every fault healed.
    public var faultPhaseMs = 4_000
    public var healPhaseMs = 3_000
    public var clients = 4
    /// Clients that keep the bank (`Bank`): audit the accounts, then transfer between two of
    /// them with a Txn on the mod revisions the audit saw. Two, so their Txns race.
    public var bankClients = 2
    public var keys = 3
    public var tickMs = 10
    /// Each node's clock runs at 1 + up to this much of simulated time (fixed per node), so
    /// any two differ in rate by at most it; the cores' leases are told the same bound.
    public var maxClockDrift = 0.05
    public var electionTimeoutTicks = 10
    public var heartbeatIntervalTicks = 2
    public var messageDelayMs = 1...6
    public var fsyncMs = 1...3
    /// Share of the nemesis's crashes that are power losses (unsynced writes gone) rather
    /// than process kills.
    public var powerLossRate = 0.5
    /// Chance that a synced write's fsync fails: the node stops as greyd does.
    public var fsyncFailureRate = 0.002
    public var dropRate = 0.03
    public var duplicateRate = 0.02
    public var partitions = true
    public var crashes = true
    public var checkQuorum = true
    public var preVote = true
    public var pauses = true
    public var membershipChanges = true
    /// Leadership transfers among the faults: plain, as a graceful hand-off (the old leader
    /// stops soon after), and with the old leader cut off from hearing anything just after
    /// it sent TimeoutNow (so it cannot learn it was replaced).
    public var transfers = true
    /// When set, the nemesis picks only from these faults (a broken variant's focused profile).
    public var faultMenu: [String]? = nil
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
    /// A deliberately broken runtime (not core): messages that must wait for the disk — votes,
    /// append acknowledgements — leave before the fsync, so a crash can take back what was promised.
    package var ackBeforeFsync = false
    /// A deliberately broken runtime: log entries are written without a sync (`sync: false`),
    /// so a power loss takes back entries the node acknowledged.
    package var entriesUnsynced = false
    /// A deliberately broken store: a transfer's puts are made whatever its compares say.
    package var txnIgnoresCompares = false

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Names of the deliberately broken variants the checkers must catch, with the kinds of
    /// violation that count as catching each (a stall or an undecided history never does).
    public static let brokenVariantCatalog: [(name: String, caughtBy: Set<ViolationKind>)] = [
        ("commit-old-term", [.stateMachineSafety, .leaderCompleteness, .lostWrite, .linearizability, .replicaAgreement]),
        ("forget-vote", [.electionSafety, .stateMachineSafety, .leaderCompleteness, .lostWrite, .linearizability]),
        ("read-without-quorum", [.linearizability, .revisionWentBack]),
        ("skip-log-check", [.leaderCompleteness, .stateMachineSafety, .logMatching, .lostWrite, .linearizability, .replicaAgreement]),
        ("lease-during-transfer", [.linearizability, .revisionWentBack]),
        ("input-before-ticks", [.linearizability, .revisionWentBack]),
        ("ack-before-fsync", [.electionSafety, .leaderCompleteness, .stateMachineSafety, .lostWrite, .linearizability, .replicaAgreement]),
        ("unsynced-entries", [.leaderCompleteness, .stateMachineSafety, .lostWrite, .linearizability, .replicaAgreement, .logMatching]),
        ("config-change-before-noop", [.electionSafety, .leaderCompleteness, .stateMachineSafety, .lostWrite, .linearizability, .replicaAgreement]),
        ("txn-without-compare", [.bankTotal]),
        ("trust-closed-connection", [.linearizability, .revisionWentBack]),
    ]

    public static var brokenVariantNames: [String] { brokenVariantCatalog.map(\.name) }

    /// Switches on one deliberately broken variant by name (see `brokenVariantCatalog`), in
    /// the fault profile that exposes it.
    public mutating func breakOnPurpose(_ name: String) {
        focus(on: name, broken: true)
    }

    /// The fault profile that exposes the named variant; with `broken: false` the correct
    /// code runs under it (the control: the same faults must find nothing there).
    public mutating func focus(on name: String, broken: Bool) {
        switch name {
        case "commit-old-term":
            if broken { brokenVariants.insert(.commitOldTermByCount) }
        case "forget-vote":
            if broken { brokenVariants.insert(.forgetVote) }
            electionsWithVotersCrashing()
        case "read-without-quorum":
            // One key, and the leader cut off again and again while the rest elect and write.
            if broken { brokenVariants.insert(.readIndexWithoutQuorum) }
            keys = 1
            faultMenu = ["isolate-leader", "isolate-leader", "heal-links"]
            bankClients = 0  // stale reads show on one hot key; the bank's clients would thin them out
        case "skip-log-check":
            if broken { brokenVariants.insert(.skipLogUpToDateCheck) }
        case "lease-during-transfer":
            // One key, and a leader told to hand over and then cut off from hearing anything:
            // it cannot learn it was replaced, and only the forfeited lease keeps it honest.
            if broken { brokenVariants.insert(.leaseDuringTransfer) }
            // The target takes over and commits within the old lease.
            staleLeaseReads(faults: ["transfer-cut-off", "transfer-cut-off", "heal-links"], clients: 12)
        case "input-before-ticks":
            // One key, and leaders paused past their lease while the rest elect and write;
            // on resuming, the reads that queued up are handled before the timer fires.
            if broken { brokenVariants.insert(.inputBeforeTicks) }
            keys = 2  // one key piles up too many writes of unknown outcome for the checker
            bankClients = 0  // as for read-without-quorum (with six, 9 of 150 seeds caught instead of 16)
            faultMenu = ["pause-leader", "pause-leader", "heal-links"]
        case "ack-before-fsync":
            if broken { ackBeforeFsync = true }
            electionsWithVotersCrashing()
        case "unsynced-entries":
            // Power losses only, again and again, on leaders and followers alike.
            if broken { entriesUnsynced = true }
            faultMenu = ["crash", "crash-leader", "crash", "heal-links"]
            powerLossRate = 1
            restartDelayMs = 1...20
        case "config-change-before-noop":
            if broken { brokenVariants.insert(.configChangeBeforeNoop) }
            membershipChanges = true
        case "txn-without-compare":
            // The bank's Txns racing: more of its clients, fewer of the others.
            if broken { txnIgnoresCompares = true }
            bankClients = 4
            clients = 2
        case "trust-closed-connection":
            // One key, and a leader cut off by a firewall that resets its connections: its
            // followers see them close while it runs on and serves lease reads to its clients.
            if broken { brokenVariants.insert(.trustClosedConnection) }
            // Half the clients (as in every hostile run) read from one node each.
            staleLeaseReads(faults: ["reset-leader-links", "reset-leader-links", "heal-links"], clients: 10)
            crashAfterVoteRate = 0
            crashNewLeaderRate = 0  // the new leader must live to take writes
            nemesisIntervalMs = 100...300  // cuts that outlast the old leader's lease
        default: preconditionFailure("unknown broken variant \(name)")
        }
    }

    /// One hot key and a quick network and disk, under `faults`: a new leader elected and
    /// writing within the old one's lease, where a lease read on the old one shows stale.
    private mutating func staleLeaseReads(faults: [String], clients: Int) {
        keys = 1
        faultMenu = faults
        messageDelayMs = 1...2
        fsyncMs = 1...1
        self.clients = clients
        bankClients = 0  // as for read-without-quorum
    }

    /// Elections again and again, voters crashing right after granting a vote and back at once,
    /// while the election they voted in is still going on — without the guards that hide a
    /// forgotten vote (pre-vote; check-quorum's wait of an election timeout after a restart).
    private mutating func electionsWithVotersCrashing() {
        checkQuorum = false
        preVote = false
        faultMenu = ["crash-leader", "crash-leader", "pause-leader", "heal-links"]
        crashAfterVoteRate = 0.6
        restartDelayMs = 1...8
        bankClients = 0  // their load halved the catch rate (forget-vote 11 → 5 of 150 seeds)
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
        options.membershipChanges = true  // the operator adds, promotes and removes under leader-targeted chaos too
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

/// What a checker found. Only the safety kinds count as catching a deliberately broken
/// variant: a run that merely stalled, or whose history the checker could not decide, proves
/// nothing about safety.
public enum ViolationKind: String, Sendable, Hashable, CaseIterable {
    case electionSafety = "election safety"
    case logMatching = "log matching"
    case leaderCompleteness = "leader completeness"
    case stateMachineSafety = "state machine safety"
    case replicaAgreement = "replica agreement"
    case lostWrite = "lost write"
    case linearizability = "not linearizable"
    case phantomValue = "phantom value"
    /// A bank audit whose balances do not add up to the bank's total.
    case bankTotal = "bank total"
    /// An audit that saw an older revision than one that had already finished before it began.
    case revisionWentBack = "revision went back"
    case undecided = "linearizability undecided"
    case liveness = "liveness"

    /// Whether this kind shows a safety bug.
    public var isSafety: Bool { self != .undecided && self != .liveness }
}

/// What a run found.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var nodeCount: Int
    /// Safety violations; empty when the run is clean.
    public var violations: [String] = []
    /// What kinds of violation the run found.
    public var kinds: Set<ViolationKind> = []
    public var operations = 0
    public var acknowledgedWrites = 0
    public var completedReads = 0
    /// Bank transfers whose compares held, and audits answered (all of them checked).
    public var transfers = 0
    public var audits = 0
    public var leaderTerms = 0
    public var events = 0
    public var simulatedMs = 0

    public var passed: Bool { violations.isEmpty }

    public var description: String {
        let verdict = passed ? "ok" : "FAILED: " + violations.joined(separator: "; ")
        return "seed \(seed) (\(nodeCount) nodes): \(operations) ops, \(acknowledgedWrites) acked writes, \(completedReads) reads, \(transfers) transfers, \(audits) audits, \(leaderTerms) leader terms, \(events) events — \(verdict)"
    }
}

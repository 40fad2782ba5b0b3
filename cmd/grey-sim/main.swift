#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GreyRaftSim

// Runs seeded whole-cluster simulations of the Raft core and checks every history.
//   grey-sim [--seeds N] [--first S]     a sweep of N seeds starting at S (default 500 from 1)
//   GREY_SEED=S grey-sim                 replay one seed, printing its report
//   grey-sim --bench N                   commit N entries through an in-memory 3-node cluster, report entries/s
//   grey-sim --hostile ...               leader-targeted chaos on one key instead of the mixed sweep
//   grey-sim --focus NAME ...            the correct code under the fault profile that exposes the
//                                        broken variant NAME (the control for --broken NAME)
//   grey-sim --broken NAME ...           switch on a deliberately broken variant, run every seed
//                                        and print the catch rate: the seeds where a checker found
//                                        a violation of the kind that variant must cause (never a
//                                        stall or an undecided history); exits 0 only if some did
//   grey-sim --check-history FILE        check a history recorded outside (the chaos test's
//                                        JSON lines) with the same linearizability checker
func value(_ flag: String) -> UInt64? {
    guard let at = CommandLine.arguments.firstIndex(of: flag), at + 1 < CommandLine.arguments.count else { return nil }
    return UInt64(CommandLine.arguments[at + 1])
}

if let count = value("--bench") {
    // The core alone: entries committed per second through an in-memory 3-node cluster.
    let clock = ContinuousClock()
    var committed = 0
    let elapsed = clock.measure { committed = CoreBenchmark.run(entries: Int(count)) }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("core benchmark: \(committed) entries of 256 B committed in \(String(format: "%.3f", seconds)) s = \(Int(Double(committed) / seconds)) entries/s (3 nodes, batches of 64, no I/O)")
    exit(committed == Int(count) ? 0 : 1)
}

if let at = CommandLine.arguments.firstIndex(of: "--check-history") {
    guard at + 1 < CommandLine.arguments.count else {
        print("--check-history needs a file")
        exit(2)
    }
    exit(checkHistory(CommandLine.arguments[at + 1]))
}

/// Checks a recorded history; 0 when linearizable, 1 when not, 2 when unreadable, 3 when the
/// search ran out of budget before deciding (neither a pass nor a proven anomaly).
func checkHistory(_ path: String) -> Int32 {
    let history: [HistoryOperation]
    do {
        history = try HistoryFile.load(path)
    } catch {
        print("cannot read history: \(error)")
        return 2
    }
    // Real histories are longer than simulated ones and carry more operations of unknown
    // outcome (every kill leaves some); give the search room before giving up.
    let stepBudget = 200_000_000
    let keys = Set(history.map(\.operation.key)).count
    let unknown = history.filter { $0.operation.isWrite && $0.completedAt == nil }.count
    let acknowledged = history.filter { $0.operation.isWrite && $0.completedAt != nil }.count
    let reads = history.count - unknown - acknowledged
    print("history: \(history.count) operations on \(keys) keys: \(acknowledged) acknowledged writes, \(unknown) writes of unknown outcome, \(reads) reads")
    guard let failed = LinearizabilityChecker.check(history, stepBudget: stepBudget) else {
        print("linearizable: yes")
        return 0
    }
    let (key, operations) = (failed.key, failed.operations)
    if failed.undecided {
        print("linearizable: UNDECIDED — the search for key \(key) ran out of budget (\(stepBudget) steps) before finding an order or proving there is none")
        return 3
    }
    let failure = LinearizabilityChecker.earliestFailure(operations, stepBudget: stepBudget)
    print("linearizable: NO — key \(key) has no valid order once operations invoked up to t=\(failure) are included")
    let start = operations.first?.invokedAt ?? 0
    let around = operations.filter { $0.invokedAt <= failure && ($0.completedAt ?? Int.max) >= failure - 2_000_000_000 }
    print("operations on \(key) live in the 2 s before it (times in ms from the key's first operation):")
    for operation in around.suffix(40) {
        let invoked = Double(operation.invokedAt - start) / 1e6
        let completed = operation.completedAt.map { String(format: "%.1f", Double($0 - start) / 1e6) } ?? "never"
        let result = operation.result.map { "\($0)" } ?? "unknown"
        let padded = String(repeating: " ", count: max(0, 9 - completed.count)) + completed
        print(String(format: "  client %3d  %9.1f → ", operation.client, invoked) + padded + "  \(operation.operation) = \(result)")
    }
    return 1
}

let environmentSeed = getenv("GREY_SEED").flatMap { UInt64(String(cString: $0)) }
let seeds: [UInt64]
if let single = environmentSeed {
    seeds = [single]
} else {
    let first = value("--first") ?? 1
    seeds = Array(first..<(first + (value("--seeds") ?? 500)))
}
let brokenName: String? = CommandLine.arguments.firstIndex(of: "--broken").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
let focusName: String? = CommandLine.arguments.firstIndex(of: "--focus").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
if let name = brokenName ?? focusName, SimulationOptions.brokenVariantNames.contains(name) == false {
    let brokenName = name
    print("unknown variant \(brokenName); known: \(SimulationOptions.brokenVariantNames.joined(separator: ", "))")
    exit(2)
}
var failed: [UInt64] = []
var operations = 0
let expectedKinds = brokenName.flatMap { name in SimulationOptions.brokenVariantCatalog.first { $0.name == name }?.caughtBy } ?? []
var caughtBy: [ViolationKind: Int] = [:]
var otherFailures: [UInt64] = []
for seed in seeds {
    let hostile = brokenName != nil || focusName != nil || CommandLine.arguments.contains("--hostile")
    var options = hostile ? SimulationOptions.hostile(seed: seed) : .sweep(seed: seed)
    if let focusName { options.focus(on: focusName, broken: false) }
    options.trace = getenv("GREY_SIM_TRACE") != nil
    if let brokenName { options.breakOnPurpose(brokenName) }
    let report = Simulation(options: options).run()
    operations += report.operations
    if brokenName != nil {
        let caught = report.kinds.intersection(expectedKinds)
        if caught.isEmpty {
            if !report.passed { otherFailures.append(seed) }
        } else {
            if failed.isEmpty { print("first catch: \(report)") }
            failed.append(seed)
            for kind in caught { caughtBy[kind, default: 0] += 1 }
        }
        continue
    }
    if !report.passed || seeds.count == 1 { print(report) }
    if !report.passed {
        failed.append(seed)
        let profile = CommandLine.arguments.contains("--hostile") ? " SIM_ARGS=--hostile" : ""
        print("replay: GREY_SEED=\(seed) make sim\(profile)   (add GREY_SIM_TRACE=1 to narrate it)")
    }
}
if let brokenName {
    let caught = !failed.isEmpty
    let kinds = caughtBy.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
    let rate = String(format: "%.1f", 100 * Double(failed.count) / Double(seeds.count))
    print("broken variant \(brokenName): caught by \(failed.count) of \(seeds.count) seeds (\(rate)%)\(caught ? " — \(kinds); first seed \(failed[0])" : "")"
        + (otherFailures.isEmpty ? "" : "; \(otherFailures.count) more seeds failed only in ways that do not count (stalls, undecided)"))
    print("broken-variant check: \(caught ? 1 : 0) passed, \(caught ? 0 : 1) failed")
    exit(caught ? 0 : 1)
}
print("simulation: \(seeds.count - failed.count) passed, \(failed.count) failed (\(operations) client operations checked)")
exit(failed.isEmpty ? 0 : 1)

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
//   grey-sim --broken NAME ...           switch on a deliberately broken variant; exits 0 only
//                                        if some seed catches it (shows the checkers bite)
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
if let brokenName, SimulationOptions.brokenVariantNames.contains(brokenName) == false {
    print("unknown variant \(brokenName); known: \(SimulationOptions.brokenVariantNames.joined(separator: ", "))")
    exit(2)
}
var failed: [UInt64] = []
var operations = 0
for seed in seeds {
    var options = brokenName == nil && !CommandLine.arguments.contains("--hostile") ? SimulationOptions.sweep(seed: seed) : .hostile(seed: seed)
    options.trace = getenv("GREY_SIM_TRACE") != nil
    if let brokenName { options.breakOnPurpose(brokenName) }
    let report = Simulation(options: options).run()
    operations += report.operations
    if !report.passed || seeds.count == 1 { print(report) }
    if !report.passed {
        failed.append(seed)
        if brokenName != nil { break }
        let profile = CommandLine.arguments.contains("--hostile") ? " SIM_ARGS=--hostile" : ""
        print("replay: GREY_SEED=\(seed) make sim\(profile)   (add GREY_SIM_TRACE=1 to narrate it)")
    }
}
if let brokenName {
    let caught = !failed.isEmpty
    print("broken variant \(brokenName): \(caught ? "caught by seed \(failed[0])" : "NOT caught in \(seeds.count) seeds")")
    print("broken-variant check: \(caught ? 1 : 0) passed, \(caught ? 0 : 1) failed")
    exit(caught ? 0 : 1)
}
print("simulation: \(seeds.count - failed.count) passed, \(failed.count) failed (\(operations) client operations checked)")
exit(failed.isEmpty ? 0 : 1)

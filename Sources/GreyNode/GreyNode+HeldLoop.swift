/// Stalls of the node's loop, made visible. While the loop is held — by a long fsync, a paused
/// process (SIGSTOP, a debugger), a paused VM, a starved CPU or swapping — the node handles no
/// message, read or timer, and its peers may elect another leader; afterwards nothing in the
/// node's own behaviour shows it had stopped, except the ticks its clock delivers at once
/// (`ClockedRaftNode.takeStalls`). A slow fsync has a line of its own ("slow fsync"); a held
/// loop with no such line beside it was the process or the machine.
extension GreyNode {
    /// A stall at least this long is worth a line: most of an election timeout with greyd's
    /// defaults, the same bar as a slow fsync's.
    static let heldLoopWorthALine: Duration = .milliseconds(100)

    /// Records the stalls the core's clock saw since the last call, and logs the ones worth
    /// a line: at most one line every `slowSyncReportInterval`, with how many there were.
    func reportHeldLoop() {
        let stalls = core.takeStalls()
        guard !stalls.isEmpty else { return }
        for held in stalls { metrics.noteLoopHeld(held) }
        let long = stalls.filter { $0 >= Self.heldLoopWorthALine }
        guard !long.isEmpty else { return }
        for held in long { heldLoops.add(held) }
        guard let (count, longest) = heldLoops.due(at: now) else { return }
        let times = count == 1 ? "once" : "\(count) times"
        log(
            "event loop held \(times) since the last report, the longest \(Self.milliseconds(longest)) ms without a tick: no message, read or timer was handled meanwhile; with no slow fsync line beside it, the process or its machine was paused or starved of CPU (a VM pause, SIGSTOP, swapping)",
            level: .warning)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration / .milliseconds(1))
    }
}

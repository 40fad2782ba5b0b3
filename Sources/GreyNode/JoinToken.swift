import GreyWire

/// The shared secret that guards membership changes (`--join-token`).
enum JoinToken {
    /// Refuses a membership request unless it presents the expected token (when one is set).
    /// Compared in constant time, so the answer's timing says nothing about the secret.
    static func check(_ presented: String, expected: String?) throws(GRPCStatus) {
        guard let expected, !expected.isEmpty else { return }
        guard !presented.isEmpty else {
            throw GRPCStatus(.unauthenticated, "this cluster requires a join token (--join-token or GREY_JOIN_TOKEN)")
        }
        guard constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
            throw GRPCStatus(.permissionDenied, "wrong join token")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}

import ArgumentParser
import Foundation
import GreyRPC
import GreyWire

/// `greyctl alarm list | disarm`: the cluster's alarms, as etcdctl shows and disarms them.
struct Alarm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or disarm the cluster's alarms (NOSPACE: the space quota was reached and writes are refused).",
        subcommands: [List.self, Disarm.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the alarms raised, one line each, as etcdctl does.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let response = try await options.call(EtcdMaintenanceMethods.alarm, Etcd.AlarmRequest(action: .get))
                Alarm.print(response.alarms, as: options.output)
            }
        }
    }

    struct Disarm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disarm every alarm raised; prints those disarmed.",
            discussion: "Free space first (delete keys, compact, defragment): a write that still finds the store over its quota raises NOSPACE again.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let raised = try await options.call(EtcdMaintenanceMethods.alarm, Etcd.AlarmRequest(action: .get))
                var disarmed: [Etcd.AlarmMember] = []
                for alarm in raised.alarms {
                    let request = Etcd.AlarmRequest(action: .deactivate, memberID: alarm.memberID, alarm: alarm.alarm)
                    disarmed += try await options.call(EtcdMaintenanceMethods.alarm, request).alarms
                }
                Alarm.print(disarmed, as: options.output)
            }
        }
    }

    static func print(_ alarms: [Etcd.AlarmMember], as output: OutputFormat) {
        switch output {
        case .json:
            printJSON(["alarms": alarms.map { ["member_id": String($0.memberID), "alarm": $0.alarm.name] }])
        case .table:
            for alarm in alarms { Swift.print("memberID:\(alarm.memberID) alarm:\(alarm.alarm.name)") }
        }
    }
}

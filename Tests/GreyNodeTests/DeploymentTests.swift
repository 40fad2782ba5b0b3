import Foundation
import GreyTestSupport
import Testing

/// deploy/ as an operator uses it: HAProxy and NGINX in front of three greyd, with the
/// example configurations (their member addresses pointed at the test's nodes), and the
/// Kubernetes and docker-compose files checked by tools/deploy_check.py.
@Suite("deployment files", .serialized)
struct DeploymentTests {
    static let deploy = RepositoryPaths.root.appendingPathComponent("deploy")

    /// `file` with grey-N:5000 replaced by node N's test address and each port in `ports`
    /// replaced by its value.
    static func render(_ file: String, _ cluster: GreydCluster, ports: [String: String], extra: [String: String] = [:]) throws -> String {
        var text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
        for node in 0..<3 { text = text.replacingOccurrences(of: "grey-\(node):5000", with: cluster.address(node)) }
        for (from, to) in ports.merging(extra) { $1 } { text = text.replacingOccurrences(of: from, with: to) }
        return text
    }

    /// Runs `command` in the background until the test ends.
    static func start(_ command: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Stops a process `start` began and waits (at most five seconds, then SIGKILL) until it
    /// has exited: NGINX removes its pid file from the scratch directory as it exits, and a
    /// removal of that directory racing with it failed and left the directory behind.
    static func stop(_ process: Process) {
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// etcdctl through `endpoint`: a put, then the value read back.
    static func etcdctlThrough(_ endpoint: String, key: String) async throws -> String {
        let base = ["ETCDCTL_API=3", "etcdctl", "--endpoints=\(endpoint)", "--dial-timeout=1s", "--command-timeout=3s"]
        var put = (status: Int32(1), output: "")
        for _ in 0..<20 {  // until the proxy listens and has found a healthy member
            put = try await runProcess("env", base + ["put", key, "through-\(key)"])
            if put.status == 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(put.status == 0, "\(put.output)")
        return try await runProcess("env", base + ["get", key, "--print-value-only"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("HAProxy (TCP) and NGINX (grpc_pass) with deploy/'s configurations carry etcdctl and greyctl to a real cluster; the k8s and compose files pass deploy_check")
    func proxies() async throws {
        let checked = try await runProcess("python3", ["tools/deploy_check.py", "--greyd", GreydCluster.binary.path], currentDirectory: RepositoryPaths.root)
        #expect(checked.status == 0 && checked.output.contains("deploy: 0 failed"), "\(checked.output)")
        let asWritten = try await runProcess("haproxy", ["-c", "-f", Self.deploy.appendingPathComponent("haproxy/haproxy.cfg").path])
        #expect(asWritten.status == 0, "the example as written: \(asWritten.output)")

        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        _ = try await cluster.waitForLeader()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("grey-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let ports = TestPorts.reserve(3)

        // HAProxy in TCP mode.
        let haproxyConfig = scratch.appendingPathComponent("haproxy.cfg")
        try Self.render("haproxy/haproxy.cfg", cluster, ports: ["bind :5100": "bind 127.0.0.1:\(ports)"]).write(to: haproxyConfig, atomically: true, encoding: .utf8)
        let haproxyCheck = try await runProcess("haproxy", ["-c", "-f", haproxyConfig.path])
        #expect(haproxyCheck.status == 0, "\(haproxyCheck.output)")
        let haproxy = try Self.start("haproxy", ["-db", "-f", haproxyConfig.path])
        defer { Self.stop(haproxy) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(haproxy.isRunning, "haproxy stopped: run haproxy -db -f on the rendered configuration to see why")
        #expect(try await Self.etcdctlThrough("127.0.0.1:\(ports)", key: "via-haproxy") == "through-via-haproxy")
        let grey = try await runProcess(FsckTests.greyctl.path, ["kv", "get", "via-haproxy", "--endpoints", "127.0.0.1:\(ports)"])
        #expect(grey.output.contains("through-via-haproxy"), "grey.v1 through HAProxy: \(grey.output)")

        // NGINX terminating HTTP/2 and passing gRPC on.
        let nginxConfig = scratch.appendingPathComponent("nginx.conf")
        try Self.render(
            "nginx/nginx.conf", cluster, ports: ["listen 5100 http2": "listen 127.0.0.1:\(ports + 1) http2", "listen 5180": "listen 127.0.0.1:\(ports + 2)"],
            extra: ["/tmp/grey-nginx": scratch.appendingPathComponent("nginx").path]
        ).write(to: nginxConfig, atomically: true, encoding: .utf8)
        let nginxCheck = try await runProcess("nginx", ["-t", "-c", nginxConfig.path, "-p", scratch.path])
        #expect(nginxCheck.status == 0, "\(nginxCheck.output)")
        let nginx = try Self.start("nginx", ["-c", nginxConfig.path, "-p", scratch.path, "-g", "daemon off;"])
        defer { Self.stop(nginx) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(nginx.isRunning, "nginx stopped")
        #expect(try await Self.etcdctlThrough("127.0.0.1:\(ports + 1)", key: "via-nginx") == "through-via-nginx")
        let health = try await runProcess("curl", ["-s", "http://127.0.0.1:\(ports + 2)/health"])
        #expect(health.output == "ok\n", "/health through NGINX: \(health.output)")
    }
}

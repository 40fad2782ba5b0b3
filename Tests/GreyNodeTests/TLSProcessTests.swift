import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

extension GreydProcessTests {
    /// A cluster CA with a node certificate and an operator's, and a rogue CA with a node
    /// certificate of its own, made by tools/make-certs.sh (openssl) in `directory`.
    static func makeCertificates(in directory: URL) async throws -> (cluster: URL, rogue: URL) {
        let script = RepositoryPaths.root.appendingPathComponent("tools/make-certs.sh").path
        let cluster = directory.appendingPathComponent("certs")
        let rogue = directory.appendingPathComponent("rogue")
        let made = try await runProcess(script, [cluster.path, "node=IP:127.0.0.1,DNS:localhost", "operator=DNS:operator"])
        #expect(made.status == 0, "\(made.output)")
        let rogueMade = try await runProcess(script, [rogue.path, "node=IP:127.0.0.1"])
        #expect(rogueMade.status == 0, "\(rogueMade.output)")
        // The nodes run as users of their own (GreydCluster): let them read the test keys.
        _ = try await runProcess("chmod", ["-R", "a+rX", directory.path])
        return (cluster, rogue)
    }

    /// Settings that make a greyd serve TLS with the certificates in `folder`, trusting `ca`.
    static func tlsSettings(_ folder: URL, ca: URL? = nil) -> [String: String] {
        [
            "GREY_TLS_CERT": folder.appendingPathComponent("node.pem").path,
            "GREY_TLS_KEY": folder.appendingPathComponent("node.key").path,
            "GREY_TLS_CA": (ca ?? folder).appendingPathComponent("ca.pem").path,
        ]
    }

    @Test("TLS: clients verify the cluster; a peer without a cluster certificate, or with a rogue one, can neither vote, append nor join")
    func tls() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("grey-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (certs, rogue) = try await Self.makeCertificates(in: scratch)
        let ca = certs.appendingPathComponent("ca.pem").path
        let cluster = try GreydCluster(count: 3, settings: Self.tlsSettings(certs))
        defer { cluster.stopAll() }
        cluster.clientTLS = try TLS.clientContext(ca: ca)
        let leader = try await cluster.waitForLeader(within: .seconds(20))
        let follower = (leader + 1) % 3
        let greyctl = FsckTests.greyctl.path

        // greyctl over TLS, through a follower (forwarded to the leader over TLS between peers).
        let put = try await runProcess(greyctl, ["kv", "put", "tls-key", "secret value", "--cacert", ca, "--endpoints", cluster.address(follower)])
        #expect(put.status == 0, "\(put.output)")
        let get = try await runProcess(greyctl, ["kv", "get", "tls-key", "--cacert", ca, "--endpoints", cluster.address(leader)])
        #expect(get.output.contains("secret value"), "\(get.output)")
        // The HTTP side door over TLS: curl offers http/1.1 and h2 and is given http/1.1.
        let health = try await runProcess("curl", ["-s", "--cacert", ca, "https://\(cluster.address(leader))/health"])
        #expect(health.output.hasPrefix("ok"), "\(health.output)")
        // A backup of a TLS cluster (the side door's /snapshot over TLS).
        let backup = scratch.appendingPathComponent("backup.snap").path
        let saved = try await runProcess(greyctl, ["snapshot", "create", "--output", backup, "--cacert", ca, "--endpoints", cluster.address(follower)])
        #expect(saved.status == 0 && saved.output.contains("snapshot saved to \(backup)"), "\(saved.output)")
        // Cleartext to a TLS port gets nowhere, with one line.
        let plain = try await runProcess(greyctl, ["kv", "get", "tls-key", "--endpoints", cluster.address(leader), "--timeout", "2s"])
        #expect(plain.status == 1 && plain.output.hasPrefix("greyctl: ") && !plain.output.contains("secret value"), "\(plain.output)")

        // A stock grpcio client: TLS with ALPN h2 and the CA; KV needs no client certificate.
        // Raft and membership calls do: without one UNAUTHENTICATED, with a rogue CA's the
        // handshake fails. A RequestVote for term 1000 must leave the term and leader alone.
        let before = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
        let python = """
            import sys; sys.path.insert(0, "tools")
            import grey_proto; kv, cl, kvg, clg = grey_proto.load()
            import grpc
            def creds(cert=None, key=None):
                read = lambda p: open(p, "rb").read() if p else None
                return grpc.ssl_channel_credentials(read("\(ca)"), read(key), read(cert))
            def attempt(name, call):
                try:
                    call(); print(name, "OK")
                except grpc.RpcError as e:
                    print(name, e.code().name)
            address = "\(cluster.address(follower))"
            plain = grpc.secure_channel(address, creds())
            kvg.KVStub(plain).Put(kv.PutRequest(key=b"py", value=b"over tls"), timeout=5)
            print("get", kvg.KVStub(plain).Get(kv.GetRequest(key=b"py"), timeout=5).value.decode())
            stub = clg.ClusterServiceStub(plain)
            attempt("vote", lambda: stub.RequestVote(cl.RequestVoteRequest(term=1000, candidate_id=7, last_log_index=10**9, last_log_term=1000), timeout=5))
            attempt("append", lambda: stub.AppendEntries(cl.AppendEntriesRequest(term=1000, leader_id=7), timeout=5))
            attempt("join", lambda: stub.JoinCluster(cl.JoinClusterRequest(node_id=7, address="127.0.0.1:1"), timeout=5))
            rogue = grpc.secure_channel(address, creds("\(rogue.appendingPathComponent("node.pem").path)", "\(rogue.appendingPathComponent("node.key").path)"))
            rstub = clg.ClusterServiceStub(rogue)
            attempt("rogue-vote", lambda: rstub.RequestVote(cl.RequestVoteRequest(term=1000, candidate_id=7, last_log_index=10**9, last_log_term=1000), timeout=5))
            attempt("rogue-join", lambda: rstub.JoinCluster(cl.JoinClusterRequest(node_id=7, address="127.0.0.1:1"), timeout=5))
            attempt("rogue-put", lambda: kvg.KVStub(rogue).Put(kv.PutRequest(key=b"py", value=b"rogue"), timeout=5))
            """
        let checked = try await runProcess("python3", ["-c", python], currentDirectory: RepositoryPaths.root)
        #expect(checked.status == 0, "\(checked.output)")
        for line in ["get over tls", "vote UNAUTHENTICATED", "append UNAUTHENTICATED", "join UNAUTHENTICATED",
                     "rogue-vote UNAVAILABLE", "rogue-join UNAVAILABLE", "rogue-put UNAVAILABLE"] {
            #expect(checked.output.contains(line), "expected '\(line)' in:\n\(checked.output)")
        }
        // The node says whom it refused and why (the rogue client's handshake).
        try await cluster.waitForLog(follower, containing: "refused a connection from 127.0.0.1:")
        #expect(cluster.log(follower).contains("TLS handshake failed"), "\(cluster.log(follower).suffix(500))")
        let after = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
        #expect(after.term == before.term && after.leaderID == before.leaderID, "term \(before.term) → \(after.term)")
        #expect(after.members.map(\.id) == [0, 1, 2])
        let value = try await cluster.channel(leader).call(KVMethods.get, GetRequest(key: Array("py".utf8)), timeout: .seconds(2))
        #expect(value.value == Array("over tls".utf8), "a refused caller's write landed")

        // A greyd with a rogue certificate cannot join; one with the cluster's can.
        try cluster.start(3, joining: follower, extra: Self.tlsSettings(rogue, ca: certs))
        // The event to wait for: the member refused the rogue joiner's handshake.
        try await cluster.waitForLog(3, containing: "TLSV1_ALERT_UNKNOWN_CA")
        #expect(try await memberIDs(cluster, via: leader) == [0, 1, 2], "a rogue-certificate node joined")
        cluster.kill(3)
        try? FileManager.default.removeItem(at: cluster.directory.appendingPathComponent("node-3"))
        try cluster.start(3, joining: follower)
        #expect(try await members(cluster, via: leader, settlingOn: [0, 1, 2, 3]) == [0, 1, 2, 3])

        // Membership changes from an operator: refused without a cluster certificate, done with one.
        let refused = try await runProcess(greyctl, ["cluster", "remove-member", "3", "--cacert", ca, "--endpoints", cluster.address(follower)])
        #expect(refused.status == 1 && refused.output.contains("needs a client certificate from the cluster CA"), "\(refused.output)")
        let removed = try await runProcess(greyctl, [
            "cluster", "remove-member", "3", "--cacert", ca, "--cert", certs.appendingPathComponent("operator.pem").path,
            "--key", certs.appendingPathComponent("operator.key").path, "--endpoints", cluster.address(follower),
        ])
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try await memberIDs(cluster, via: leader) == [0, 1, 2])
    }

    @Test("TLS settings: a missing piece or an unreadable file stops greyd with the reason")
    func tlsSettingsRefused() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("grey-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (certs, _) = try await Self.makeCertificates(in: scratch)
        let greyd = GreydCluster.binary.path
        let data = scratch.appendingPathComponent("data").path
        // `timeout` so that a greyd that wrongly starts cannot hang the test.
        let partial = try await runProcess("timeout", ["20", greyd, "--listen", "127.0.0.1:29999", "--data-dir", data, "--tls-cert", certs.appendingPathComponent("node.pem").path])
        #expect(partial.status != 0 && partial.output.contains("TLS needs all three of --tls-cert, --tls-key and --tls-ca"), "\(partial.output)")
        var settings = Self.tlsSettings(certs)
        settings["GREY_TLS_KEY"] = scratch.appendingPathComponent("missing.key").path
        let missing = try await runProcess("env", settings.map { "\($0)=\($1)" } + ["timeout", "20", greyd, "--listen", "127.0.0.1:29999", "--data-dir", data])
        #expect(missing.status != 0 && missing.output.contains("cannot use key file \(scratch.appendingPathComponent("missing.key").path)"), "\(missing.output)")
    }

    @Test("--client-cert-auth: every client call needs a cluster certificate — grey.v1, etcd's API, the side door — while /health and /metrics stay open unless closed")
    func clientCertificateAuth() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("grey-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (certs, rogue) = try await Self.makeCertificates(in: scratch)
        let ca = certs.appendingPathComponent("ca.pem").path
        let cert = certs.appendingPathComponent("operator.pem").path
        let key = certs.appendingPathComponent("operator.key").path
        var settings = Self.tlsSettings(certs)
        settings["GREY_CLIENT_CERT_AUTH"] = "true"
        let cluster = try GreydCluster(count: 3, settings: settings)
        defer { cluster.stopAll() }
        cluster.clientTLS = try TLS.clientContext(ca: ca, certificate: cert, key: key)  // the test's own calls hold one
        let leader = try await cluster.waitForLeader(within: .seconds(20))
        let follower = (leader + 1) % 3
        let greyctl = FsckTests.greyctl.path
        let endpoint = cluster.address(follower)
        let refusal = "needs a client certificate from the cluster CA"

        // grey.v1 through greyctl: refused without a certificate, served with one (through a
        // follower: the forwarded call presents the node's own).
        let bare = try await runProcess(greyctl, ["kv", "put", "k", "v", "--cacert", ca, "--endpoints", endpoint])
        #expect(bare.status == 1 && bare.output.contains("/grey.v1.KV/Put \(refusal)"), "\(bare.output)")
        let put = try await runProcess(greyctl, ["kv", "put", "k", "v", "--cacert", ca, "--cert", cert, "--key", key, "--endpoints", endpoint])
        #expect(put.status == 0, "\(put.output)")
        let status = try await runProcess(greyctl, ["cluster", "status", "--cacert", ca, "--endpoints", endpoint])
        #expect(status.status != 0, "cluster status without a certificate: \(status.output)")

        // etcd's API through the stock etcdctl.
        let etcdctl = ["ETCDCTL_API=3", "etcdctl", "--endpoints=\(endpoint)", "--cacert=\(ca)", "--command-timeout=10s"]
        let etcdBare = try await runProcess("env", etcdctl + ["get", "k"])
        #expect(etcdBare.status != 0 && etcdBare.output.contains(refusal), "\(etcdBare.output)")
        let etcdGet = try await runProcess("env", etcdctl + ["--cert=\(cert)", "--key=\(key)", "get", "k", "--print-value-only"])
        #expect(etcdGet.status == 0 && etcdGet.output.trimmingCharacters(in: .whitespacesAndNewlines) == "v", "\(etcdGet.output)")
        let members = try await runProcess("env", etcdctl + ["member", "list"])
        #expect(members.status != 0 && members.output.contains(refusal), "\(members.output)")

        // The side door: /put, /get, /status and /snapshot need one; /health and /metrics do not.
        func curl(_ path: String, _ extra: [String] = []) async throws -> String {
            try await runProcess("curl", ["-s", "-w", " %{http_code}", "--cacert", ca] + extra + ["https://\(endpoint)\(path)"]).output
        }
        let withCert = ["--cert", cert, "--key", key]
        #expect(try await curl("/put", ["-XPOST", "-d", #"{"key":"door","value":"1"}"#]).hasSuffix(" 401"))
        #expect(try await curl("/put", ["-XPOST", "-d", #"{"key":"door","value":"1"}"#] + withCert).hasSuffix(" 200"))
        let unread = try await curl("/get?key=door")
        #expect(unread.hasSuffix(" 401") && unread.contains(refusal) && !unread.contains("1 401"), "\(unread)")
        #expect(try await curl("/get?key=door", withCert) == "1 200")
        #expect(try await curl("/status").hasSuffix(" 401"))
        #expect(try await curl("/snapshot").hasSuffix(" 401"))
        #expect(try await curl("/health") == "ok\n 200")
        #expect(try await curl("/metrics").hasSuffix(" 200"))
        // A certificate from another CA does not even get through the handshake.
        let roguePut = try await curl("/put", ["-XPOST", "-d", #"{"key":"door","value":"2"}"#, "--cert", rogue.appendingPathComponent("node.pem").path, "--key", rogue.appendingPathComponent("node.key").path])
        #expect(roguePut.hasSuffix(" 000"), "\(roguePut)")

        // GREY_PUBLIC_METRICS=false closes /health and /metrics too.
        var closed = settings
        closed["GREY_PUBLIC_METRICS"] = "false"
        let single = try GreydCluster(count: 1, settings: closed)
        defer { single.stopAll() }
        single.clientTLS = cluster.clientTLS
        _ = try await single.waitForLeader(within: .seconds(20))
        for path in ["/health", "/metrics"] {
            let answer = try await runProcess("curl", ["-s", "-w", " %{http_code}", "--cacert", ca, "https://\(single.address(0))\(path)"]).output
            #expect(answer.hasSuffix(" 401"), "\(path): \(answer)")
            let allowed = try await runProcess("curl", ["-s", "-w", " %{http_code}", "--cacert", ca] + withCert + ["https://\(single.address(0))\(path)"]).output
            #expect(allowed.hasSuffix(" 200"), "\(path) with a certificate: \(allowed)")
        }
    }
}

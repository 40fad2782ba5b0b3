# Grey — developer entry points. `make test` and `make cluster` install what they need.
SHELL := /bin/bash
APT_PACKAGES := libprotobuf-c-dev protobuf-c-compiler libnghttp2-dev librocksdb-dev libjemalloc-dev nghttp2-client curl python3-pip prometheus iptables openssl etcd-client python3-yaml haproxy nginx gdb
PIP_PACKAGES := grpcio grpcio-tools prometheus_client h2 opentelemetry-proto
SWIFT_BUILD_FLAGS ?=

.PHONY: setup build test sim sim-build proto vectors cluster demo cli bench bench-core bench-micro chaos chaos-short chaos-broken fuzz fuzz-build fuzz-short clean

## setup: install the Debian and pip packages the build and tests use (idempotent)
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c 'import grpc, grpc_tools, prometheus_client, h2, opentelemetry.proto.trace.v1.trace_pb2' 2>/dev/null || { echo "installing pip packages: $(PIP_PACKAGES)"; \
	  python3 -m pip install -q $(PIP_PACKAGES) 2>/dev/null || python3 -m pip install -q --break-system-packages $(PIP_PACKAGES); }

## build: compile everything, tests included (debug)
build: setup
	swift build --build-tests $(SWIFT_BUILD_FLAGS)

## test: the whole default test suite (what CI runs): Swift tests, the README walkthrough with
## real greyd processes, the Raft simulation (500 mixed seeds, 300 hostile ones; then for each
## deliberately broken variant the correct code under that variant's fault profile must pass and
## the broken one must be caught by a checker of the kind it breaks, catch rate printed), then
## 30 s of chaos, the three broken builds the chaos test must catch, and 10 s of each fuzz target
SEEDS ?= 500
## The broken variants the simulation must catch (commit-old-term and config-change-before-noop
## need orders random faults almost never make: the Figure 8 script and a RaftNodeTests test catch them)
SIM_BROKEN = forget-vote read-without-quorum skip-log-check lease-during-transfer input-before-ticks ack-before-fsync unsynced-entries txn-without-compare trust-closed-connection
BROKEN_SEEDS ?= 150
test: build sim-build
	swift test --skip-build 2>&1 | tee .build/test-output.txt | grep -vE '^(◇|↳|\[)' ; \
	  exit $${PIPESTATUS[0]}
	tools/walkthrough.sh
	.build/release/grey-sim --seeds $(SEEDS)
	.build/release/grey-sim --hostile --seeds 300 --first 100001
	for variant in $(SIM_BROKEN); do \
	  .build/release/grey-sim --focus $$variant --seeds $(BROKEN_SEEDS) --first 200001 | tail -1 | sed "s/^/$$variant profile, correct code: /"; \
	  [ $${PIPESTATUS[0]} = 0 ] || exit 1; \
	  .build/release/grey-sim --broken $$variant --seeds $(BROKEN_SEEDS) > .build/broken-$$variant.txt; status=$$?; \
	  tail -2 .build/broken-$$variant.txt; [ $$status = 0 ] || exit 1; done
	$(MAKE) --no-print-directory chaos-short chaos-broken fuzz-short

## chaos-short: a bank on etcd's API (Txn transfers, audits at one revision, compactions) beside
## grey.v1 clients, through 30 s of kill -9, SIGSTOP (with lease reads queued at paused leaders), leadership
## transfers and SIGTERM hand-offs, iptables partitions and membership changes (a follower removed,
## a fresh node joined at its address) against 3 debug greyd, each node its own
## unprivileged user (partitions and users need root; without it they are left out, and the run says so);
## the log compacted every 50 entries, so restarted nodes catch up by snapshot under load (the run
## fails if none did)
chaos-short:
	@faults=kill,pause,partition,transfer,membership; [ "$$(id -u)" = 0 ] || { faults=kill,pause,transfer,membership; echo "not root: chaos-short runs without partitions"; }; \
	python3 tools/chaos.py --greyd .build/debug/greyd --nodes 3 --seconds 30 --seed 1 --faults $$faults \
	  --snapshot-entries 50 --expect-snapshots

## chaos-broken: the chaos test must catch four deliberately broken builds (GREY_BROKEN at build
## time; only GreyNode and greyd recompile, kept as .build/greyd-VARIANT, the real greyd rebuilt
## at once), each with one seed, and the correct build must pass the same scripted faults:
## follower-reads (followers answer linearizable reads from their own state) under kills and
## pauses; early-ack (puts acknowledged before a majority has them) with the leader cut off again
## and again (isolate), where the nemesis itself sends puts to the cut-off leader — every one the
## broken build answers is lost; and vote-any-log (votes granted without the log check, §5.4.1)
## under the scripted shift: per-node election timeouts (3 s, 3 s, 100 ms) make the quick node the
## one cut off until it is behind, then the cut moves to the leader and the quick node asks for
## votes again and again while the others wait out their timeouts; and txn-split (each write of a
## Txn at a revision of its own), which the bank's audits at older revisions catch under kills
BROKEN_BUILDS = follower-reads early-ack vote-any-log txn-split
SCRIPTED_SHIFT = --faults shift --election-timeout 3s,3s,100ms --seconds 20
chaos-broken:
	for variant in $(BROKEN_BUILDS); do GREY_BROKEN=$$variant swift build --product greyd && \
	  cp .build/debug/greyd .build/greyd-$$variant || { swift build --product greyd; exit 1; }; done
	swift build --product greyd
	set -o pipefail; python3 tools/chaos.py --greyd .build/greyd-follower-reads --nodes 3 --seconds 15 \
	  --faults kill,pause --port 7412 --expect-anomaly | grep -vE '^  client'
	set -o pipefail; python3 tools/chaos.py --greyd .build/greyd-early-ack --nodes 3 --seconds 12 \
	  --faults isolate --port 7412 --expect-anomaly | grep -vE '^  client'
	set -o pipefail; python3 tools/chaos.py --greyd .build/greyd-vote-any-log --nodes 3 $(SCRIPTED_SHIFT) \
	  --port 7412 --expect-anomaly | grep -vE '^  client'
	set -o pipefail; python3 tools/chaos.py --greyd .build/greyd-txn-split --nodes 3 --seconds 10 \
	  --faults kill --port 7412 --expect-anomaly | grep -vE '^  client'
	set -o pipefail; python3 tools/chaos.py --greyd .build/debug/greyd --nodes 3 $(SCRIPTED_SHIFT) \
	  --port 7412 | grep -vE '^  client' | sed 's/^/correct build, scripted shift: /'

## chaos: the long run: CHAOS_SECONDS of faults per seed — kill, pause, partition, isolate,
## shift and transfer — on 3 nodes (seeds 1-4), 5 nodes with membership changes too (seeds 5-8) and the same
## over TLS (seed 9), release greyd; 9 x 150 s = 22.5 minutes of faults by default
CHAOS_SECONDS ?= 150
CHAOS_FAULTS = kill,pause,partition,isolate,shift,transfer
chaos: setup sim-build
	swift build -c release --product greyd
	for seed in 1 2 3 4; do python3 tools/chaos.py --greyd .build/release/greyd --nodes 3 \
	  --faults $(CHAOS_FAULTS) --seconds $(CHAOS_SECONDS) --seed $$seed || exit 1; done
	for seed in 5 6 7 8; do python3 tools/chaos.py --greyd .build/release/greyd --nodes 5 \
	  --faults $(CHAOS_FAULTS),membership --seconds $(CHAOS_SECONDS) --seed $$seed || exit 1; done
	python3 tools/chaos.py --greyd .build/release/greyd --nodes 5 --faults $(CHAOS_FAULTS),membership \
	  --seconds $(CHAOS_SECONDS) --seed 9 --tls

sim-build:
	swift build -c release --product grey-sim

## sim: run SEEDS seeds of the whole-cluster simulation (GREY_SEED=S replays one, GREY_SIM_TRACE=1 narrates it)
sim: sim-build
	.build/release/grey-sim --seeds $(SEEDS) $(SIM_ARGS)

## proto: regenerate the protobuf-c code in Sources/GreyProto from Protos/ (grey.v1, and etcd's v3 API)
ETCD_PROTOS = mvccpb/kv.proto authpb/auth.proto etcdserverpb/rpc.proto
proto:
	@tmp=$$(mktemp -d); \
	(cd Protos && protoc-c --c_out=$$tmp -I. grey/v1/kv.proto grey/v1/cluster.proto) && \
	(cd Protos/etcd && protoc-c --c_out=$$tmp -I. $(ETCD_PROTOS)) && \
	cp $$tmp/grey/v1/*.pb-c.c Sources/GreyProto/grey/v1/ && \
	cp $$tmp/grey/v1/*.pb-c.h Sources/GreyProto/include/grey/v1/ && \
	for package in mvccpb authpb etcdserverpb; do mkdir -p Sources/GreyProto/etcd/$$package Sources/GreyProto/include/$$package && \
	  cp $$tmp/$$package/*.pb-c.c Sources/GreyProto/etcd/$$package/ && \
	  cp $$tmp/$$package/*.pb-c.h Sources/GreyProto/include/$$package/ || exit 1; done; \
	rm -rf $$tmp && echo "regenerated Sources/GreyProto from Protos/"

## vectors: write golden wire vectors for new samples in data/vectors with Python protobuf
## (append-only: an existing golden is never replaced; a test fails if one would change)
vectors: setup
	python3 tools/wire_vectors.py write data/vectors

## cluster: build greyd and start a local 3-node cluster on localhost:5000-5002 (Ctrl-C stops it)
cluster: setup
	swift build -c release --product greyd
	tools/cluster.sh

## demo: run cluster-demo, five real nodes in one process through failures and partitions
demo: setup
	swift build --product cluster-demo
	.build/debug/cluster-demo

## cli: cluster-cli, the same in-process cluster driven by hand (type 'init 3', then 'help')
cli: setup
	swift build --product cluster-cli
	.build/debug/cluster-cli

## bench: Grey against etcd 3.4 on this machine (writes, reads; writes again with 1 ms added to
## every fsync of both), then failover, every node stalled at once, and catch-up
bench: setup
	@dpkg -s etcd-server etcd-client strace >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq etcd-server etcd-client strace >/dev/null; }
	swift build -c release --product greyd
	REQUESTS=20000 ROUNDS=2 ../shared/bench/vs-etcd.sh .build/release/greyd
	REQUESTS=20000 bench/reads-vs-etcd.sh .build/release/greyd
	REQUESTS=10000 ROUNDS=1 bench/slow-disk.sh .build/release/greyd
	bench/cpu-per-write.sh .build/release/greyd
	bench/compaction-stall.sh .build/release/greyd
	python3 bench/failover.py --rounds 20
	python3 bench/stall.py --rounds 10
	python3 bench/catchup.py

## bench-core: entries/s through an in-memory 3-node cluster, the Raft core alone
bench-core: sim-build
	.build/release/grey-sim --bench 500000

## bench-micro: package-benchmark micro-benchmarks (kept out of the default build), compared
## with the saved baseline; BENCH_ARGS="baseline update wire-v1" saves a new one
BENCH_ARGS ?= baseline compare wire-v1
bench-micro: setup
	GREY_BENCHMARKS=1 BENCHMARK_DISABLE_JEMALLOC=1 swift package --scratch-path .build-bench \
	  --allow-writing-to-package-directory benchmark $(BENCH_ARGS) --no-progress

## fuzz: each libFuzzer target for FUZZ_SECONDS (default 10 minutes): protobuf decoding of every
## message, gRPC framing, the server fed arbitrary bytes, snapshot chunk installation. Seeds and
## regression inputs live in data/fuzz/TARGET; new finds go to .build-fuzz/corpus/TARGET and a
## crash to .build-fuzz/crash-TARGET-* (copy it into data/fuzz/TARGET to keep it as a regression)
FUZZ_TARGETS := Messages:messages Framing:framing Snapshot:snapshot Server:server
FUZZ_SECONDS ?= 600
fuzz: setup fuzz-build
	@for pair in $(FUZZ_TARGETS); do name=$${pair%%:*}; dir=$${pair##*:}; mkdir -p .build-fuzz/corpus/$$dir; \
	  echo "fuzzing $$dir for $(FUZZ_SECONDS) s"; \
	  .build-fuzz/debug/Fuzz$$name -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=.build-fuzz/crash-$$dir- .build-fuzz/corpus/$$dir data/fuzz/$$dir 2>.build-fuzz/fuzz-$$dir.log; \
	  status=$$?; grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' .build-fuzz/fuzz-$$dir.log; \
	  [ $$status = 0 ] || { tail -30 .build-fuzz/fuzz-$$dir.log; exit 1; }; done

## fuzz-short: every target briefly (part of make test)
fuzz-short:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

fuzz-build:
	for name in Messages Framing Snapshot Server; do GREY_FUZZ=1 swift build --scratch-path .build-fuzz \
	  --sanitize=fuzzer --sanitize=address --product Fuzz$$name || exit 1; done

clean:
	rm -rf .build .build-bench .build-fuzz

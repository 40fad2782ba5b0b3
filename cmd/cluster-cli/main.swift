import Foundation
import GreyLocalCluster
import GreyRPC
import GreyRaft
import GreyWire

#if canImport(Glibc)
import Glibc
#endif

/// cluster-cli: the cluster of cluster-demo, driven by hand. Reads one command per line from
/// standard input (a terminal or a script) and answers each; `help` lists them.
let shell = ClusterShell()
let interactive = isatty(STDIN_FILENO) != 0
if interactive { print("cluster-cli: real Grey nodes in this process. Type 'init 3' to start, 'help' for commands.") }
while true {
    if interactive {
        FileHandle.standardOutput.write(Data("grey> ".utf8))
    }
    guard let line = readLine() else { break }
    let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
    guard !words.isEmpty, !words[0].hasPrefix("#") else { continue }
    if words[0] == "quit" || words[0] == "exit" { break }
    await shell.run(words)
}
await shell.shutdown()
exit(shell.failures == 0 || interactive ? 0 : 1)

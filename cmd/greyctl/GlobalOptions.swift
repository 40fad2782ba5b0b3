/// etcdctl users put the connection options first (`etcdctl --endpoints X member list`);
/// ArgumentParser takes a subcommand's options only after the subcommand's name. greyctl
/// moves the options every command shares from before the subcommand to its end, so both
/// orders work; anything else is left where it is for ArgumentParser to judge.
enum GlobalOptions {
    /// The shared options that take a value (`ClientOptions`, `TLSOptions`).
    static let withValue: Set<String> = ["--endpoints", "-o", "--output", "--timeout", "--cacert", "--cert", "--key"]
    /// The shared options that take none.
    static let flags: Set<String> = ["--trace"]

    /// `arguments` (without the program name) with the leading shared options moved to the
    /// end, before a `--` if there is one.
    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if flags.contains(argument) {
                leading.append(argument)
                index += 1
                continue
            }
            guard withValue.contains(name) else { break }
            if argument.contains("=") || index + 1 == arguments.count {
                leading.append(argument)
                index += 1
            } else {
                leading += [argument, arguments[index + 1]]
                index += 2
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}

#!/usr/bin/env python3
"""Every shell command the README and docs/ show is run by a test as written, or excused.

  docs_commands.py [--docs FILE...] [--list]

A command is a line of a ```sh block (comments dropped, `\\` continuations joined). It counts
as run when its exact text appears in a test's source: tools/walkthrough.sh (which types the
README's and OPERATIONS' commands as a newcomer would), the Swift suites in Tests/, the Python
and shell tools the tests drive, and the Makefile recipes `make test` runs (comment lines do not count). A command no test
can run here (it needs Docker, Kubernetes, a second machine, or takes an hour) is excused in
tools/docs_commands_excused.txt, one per line as `COMMAND  # why`. It fails on a command that
is neither, and on an excuse for a command the docs no longer show, so the list only shrinks
by being run. --list prints each command and where it is run.
"""
import argparse
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXCUSED = os.path.join(ROOT, "tools", "docs_commands_excused.txt")


def commands(path):
    text = open(path).read()
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, re.S):
        pending = ""
        for line in block.split("\n"):
            line = re.sub(r"\s+#(\s.*)?$", "", line).rstrip()  # a comment after the command
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            yield (pending + line.strip()).strip()
            pending = ""


def test_sources():
    paths = [os.path.join(ROOT, "tools", "walkthrough.sh"), os.path.join(ROOT, "Makefile"), os.path.join(ROOT, ".ci", "run")]
    paths += glob.glob(os.path.join(ROOT, "Tests", "**", "*.swift"), recursive=True)
    paths += glob.glob(os.path.join(ROOT, "tools", "*.py")) + glob.glob(os.path.join(ROOT, "tools", "*.sh"))
    paths += glob.glob(os.path.join(ROOT, "bench", "*.sh"))
    sources = {}
    for path in paths:
        if os.path.basename(path) == "docs_commands.py":
            continue
        # Comments name commands without running them: they do not count.
        lines = [line for line in open(path) if not line.lstrip().startswith(("#", "//"))]
        sources[os.path.relpath(path, ROOT)] = "".join(lines)
    return sources


def excused():
    result = {}
    if os.path.exists(EXCUSED):
        for line in open(EXCUSED):
            if line.strip() and not line.startswith("#"):
                command, _, why = line.partition("  # ")
                result[command.strip()] = why.strip()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", nargs="*", default=None)
    parser.add_argument("--list", action="store_true")
    options = parser.parse_args()
    docs = options.docs if options.docs is not None else [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "*.md")))
    sources = test_sources()
    excuses = excused()
    run = excused_count = 0
    missing = []
    shown = set()
    for doc in docs:
        for command in commands(doc):
            shown.add(command)
            where = [name for name, text in sources.items() if command in text]
            if where:
                run += 1
                if options.list:
                    print(f"run      {command}    ({', '.join(sorted(where)[:2])})")
            elif command in excuses:
                excused_count += 1
                if options.list:
                    print(f"excused  {command}    ({excuses[command]})")
            else:
                missing.append((os.path.relpath(doc, ROOT), command))
    for doc, command in missing:
        print(f"NOT RUN  {doc}: {command}")
    stale = [command for command in excuses if command not in shown] if options.docs is None else []
    for command in stale:
        print(f"STALE    excused but no longer in the docs: {command}")
    print(f"docs commands: {run} run by tests, {excused_count} excused, {len(missing)} neither, {len(stale)} stale excuses")
    sys.exit(1 if missing or stale else 0)


if __name__ == "__main__":
    main()

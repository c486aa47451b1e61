#!/usr/bin/env python3
"""Prints, after a ctest run, what each failed test reported.

ctest's --output-on-failure prints a failure where it happens, in the middle
of a long log; a CI page that keeps only the head and the tail of the log
then shows none of it. This repeats the assertion lines (gtest's "Failure"
blocks, seeds, "see LOG" hints) of every failed test, capped, at the end.
  failure_digest.py BUILD_DIR
"""
import pathlib
import re
import sys

MAX_LINES_PER_TEST = 40
KEEP = re.compile(r"Failure|chaos seed|Expected|Which is|Value of|Actual|FAILED|error|see /|\(seed ")


def main() -> int:
    temp = pathlib.Path(sys.argv[1]) / "Testing" / "Temporary"
    failed_file = temp / "LastTestsFailed.log"
    log_file = temp / "LastTest.log"
    if not failed_file.exists() or not log_file.exists():
        return 0
    failed = []
    for line in failed_file.read_text(errors="replace").splitlines():
        name = line.split(":", 1)[1] if ":" in line else line
        failed.append(name.split("  #")[0].strip())
    if not failed:
        return 0
    outputs, current = {}, None
    for line in log_file.read_text(errors="replace").splitlines():
        m = re.match(r"^\d+/\d+ Test: (.*)$", line)
        if m:
            current = m.group(1).split("  #")[0].strip()
            outputs[current] = []
        elif current is not None:
            outputs[current].append(line)
    print(f"\n=== failure digest: {len(failed)} failed test(s) ===")
    for name in failed:
        print(f"--- {name}")
        lines = outputs.get(name, [])
        picked = set()
        for i, line in enumerate(lines):
            if "Failure" in line:
                picked.update(range(i, min(i + 6, len(lines))))
            elif KEEP.search(line) and not line.startswith("%"):
                picked.add(i)
        for shown, i in enumerate(sorted(picked)):
            if shown == MAX_LINES_PER_TEST:
                print("  ...")
                break
            print("  " + lines[i][:400])
    return 0


if __name__ == "__main__":
    sys.exit(main())

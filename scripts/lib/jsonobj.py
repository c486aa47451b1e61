#!/usr/bin/env python3
"""Builds one JSON object from the command line, for the bench scripts.

    jsonobj.py [--compact] PATH=TEXT PATH:=JSON PATH@=WORDS ...

PATH is a member name, or dotted names for nested objects ("medians.replay").
  PATH=TEXT    a string, taken as is
  PATH:=JSON   a JSON value: a number, null, true, or an object or array that
               an earlier jsonobj.py call printed
  PATH@=WORDS  an array of the whitespace-separated WORDS, each a JSON value
               (numbers or null), e.g. a bash array joined by "${A[*]}"
Members keep the order given. Prints the object (indented, or one line with
--compact). Anything that is not valid JSON is an error naming the member,
so a broken measurement never turns into a broken results file.
"""
import json
import sys


def parse(path, text):
    try:
        return json.loads(text)
    except ValueError:
        sys.exit(f"jsonobj.py: {path}: not a JSON value: {text!r}")


def put(root, path, value):
    *parents, leaf = path.split(".")
    node = root
    for name in parents:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            sys.exit(f"jsonobj.py: {path}: {name} is not an object")
    node[leaf] = value


def main(args):
    compact = bool(args) and args[0] == "--compact"
    if compact:
        args = args[1:]
    root = {}
    for arg in args:
        # The first operator wins, so a string value may contain "=".
        ops = [(arg.find(op), op) for op in (":=", "@=", "=") if op in arg]
        if not ops:
            sys.exit(f"jsonobj.py: {arg!r} is not PATH=TEXT, PATH:=JSON or PATH@=WORDS")
        at, op = min(ops)
        path, text = arg[:at], arg[at + len(op):]
        if op == "=":
            put(root, path, text)
        elif op == ":=":
            put(root, path, parse(path, text))
        else:
            put(root, path, [parse(path, w) for w in text.split()])
    if compact:
        print(json.dumps(root, separators=(", ", ": ")))
    else:
        print(json.dumps(root, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

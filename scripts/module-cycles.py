#!/usr/bin/env python3
"""Lists import cycles between the library's modules; exit status 1 when there is one.

Usage: python3 scripts/module-cycles.py [--files] [--graph]

A module is a top-level module of the library (src/NAME.rs with src/NAME/**); with
--files, every file is a module of its own (src/wire/receive.rs is `wire::receive`) and
a parent's `mod`/`pub use` lines for its own children do not count (a facade, not a
dependency). An edge A -> B is any path in A's code (outside comments and string
literals) that names B: `crate::B...`, `super::...` resolved, or a name the crate root
re-exports (`crate::Error` is `error`). --graph prints the edges too.

Reads the sources as text (no compiler needed), so anyone can run it.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
FILES = "--files" in sys.argv


def module_of(path: pathlib.Path) -> list:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"]:
        return []
    return parts


def strip(text: str) -> str:
    """The code without comments, string and char literals."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def main() -> int:
    files = [p for p in SRC.rglob("*.rs") if "bin" not in p.relative_to(SRC).parts[:1]
             and p.name != "mpconn.rs"]
    modules = {tuple(module_of(p)): p for p in files}
    lib = strip((SRC / "lib.rs").read_text())
    # Names the crate root re-exports: `pub use a::b::{X, Y};` -> X: a::b
    reexport = {}
    for m in re.finditer(r"pub use ([\w:]+)::\{([^}]*)\}", lib):
        for name in re.split(r"\s*,\s*", m.group(2).strip()):
            if name:
                reexport[name.split(" as ")[-1]] = m.group(1).split("::")
    for m in re.finditer(r"pub use ([\w:]+)::(\w+);", lib):
        reexport[m.group(2)] = m.group(1).split("::")

    def resolve(path: list) -> tuple:
        """The longest known module a path (crate-relative) points into."""
        if path and path[0] in reexport and tuple(path[:1]) not in modules:
            path = reexport[path[0]] + path[1:]
        for n in range(len(path), 0, -1):
            if tuple(path[:n]) in modules:
                return tuple(path[:n])
        return ()

    def node(mod: tuple) -> tuple:
        return mod if FILES else mod[:1]

    edges = {}
    for mod, path in modules.items():
        code = strip(path.read_text())
        src = node(mod)
        targets = set()
        # Expand `use a::{b, c::{d}}` groups into full paths.
        for use in re.finditer(r"\buse\s+([^;]+);", code):
            for full in expand(use.group(1)):
                targets.add(tuple(full))
        for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", code):
            targets.add(tuple(m.group(1).split("::")))
        for t in targets:
            t = list(t)
            if t[0] == "crate":
                t = t[1:]
            elif t[0] == "super":
                base = list(mod) if path.name == "mod.rs" else list(mod)
                while t and t[0] == "super":
                    t = t[1:]
                    base = base[:-1]
                t = base + t
            elif t[0] == "self":
                t = list(mod) + t[1:]
            else:
                continue  # another crate (std, serde, ...) or a local name
            dst = resolve(t)
            if not dst:
                continue
            dst = node(dst)
            if dst == src or (FILES and dst[: len(src)] == src):
                continue  # itself, or (per file) its own children
            edges.setdefault(src, set()).add(dst)

    if "--graph" in sys.argv:
        for src in sorted(edges):
            print("::".join(src) or "crate", "->", ", ".join(sorted("::".join(d) for d in edges[src])))
    cycles = sccs(edges)
    if not cycles:
        print(f"no cycles among {len({node(m) for m in modules})} modules")
        return 0
    for c in cycles:
        print("cycle:", " <-> ".join(sorted("::".join(m) for m in c)))
    return 1


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix: list, t: str):
        if "{" not in t:
            for item in split_top(t):
                item = item.split("as")[0] if "as" in item and "::" not in item else item
                parts = [p for p in item.split("::") if p]
                if parts and parts[-1] == "self":
                    parts.pop()
                out.append(prefix + parts)
            return
        i = t.index("{")
        head = [p for p in t[:i].split("::") if p]
        body = t[i + 1 : t.rindex("}")]
        for item in split_top(body):
            walk(prefix + head, item)

    for item in split_top(tree):
        walk([], item)
    return out


def split_top(s: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def sccs(edges: dict) -> list:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(edges) | {d for ds in edges.values() for d in ds}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())

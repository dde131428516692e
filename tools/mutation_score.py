"""Print the mutation score of the last ``mutmut run``, per module, and the
surviving mutants; exit 1 if a module kills less than the required share.

Reads the result files mutmut leaves beside the mutated copies
(``mutants/**/*.py.meta``). A mutant counts as killed when a test failed
(or timed out) under it; a mutant that no selected test reaches counts as
surviving, like any other; one not run at all (a partial run) is left out
of the score and counted apart. Only the functions named in SCOPE are counted
for liapstore/backends/sql.py: the SQL write path, not the whole module.

    python tools/mutation_score.py [--min 90]
"""
import argparse
import fnmatch
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

# Module -> patterns of the mutated functions that count (mutmut's mangled
# names: "x_name" for a function, "xǁClassǁname" for a method).
SCOPE = {
    "liapstore.game.rules": ["*"],
    "liapstore.game.replay": ["*"],
    "liapstore.games": ["*"],
    "liapstore.validate": ["*"],
    "liapstore.urls": ["*"],
    "liapstore.backends.sql": ["*ǁ_write_step", "*ǁ_prepared_update", "*ǁ_prepared_insert",
                               "*ǁ_insert", "*ǁ_update", "*ǁ_where", "*ǁ_conditions", "x__quote"],
}

KILLED = {1, 3, 36, 24, -24, 152, 255}   # a failing test, pytest's internal error, timeouts
NOT_RUN = {None}


def in_scope(module, function):
    return any(fnmatch.fnmatchcase(function, p) for p in SCOPE.get(module, ()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=90.0, help="required score per module, in percent")
    parser.add_argument("--root", default="mutants")
    parser.add_argument("--pending", action="store_true",
                        help="only print the names of the mutants in scope not killed yet "
                             "(to rerun them: mutmut run $(python tools/mutation_score.py --pending))")
    parser.add_argument("--unrun", action="store_true",
                        help="like --pending, but only the mutants not run yet")
    parser.add_argument("--sample", type=float, default=1.0,
                        help="with --pending: a random share of each module's pending mutants")
    parser.add_argument("--seed", type=int, default=6, help="seed of --sample")
    args = parser.parse_args()
    results = defaultdict(dict)  # module -> {mutant: exit code}
    for meta in sorted(Path(args.root).rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            qualified, _, _ = name.rpartition("__mutmut_")
            module, _, function = qualified.rpartition(".")
            if in_scope(module, function):
                results[module][name] = code
    if not results:
        print("no mutmut results under", args.root, "- run `mutmut run` first", file=sys.stderr)
        return 2
    if args.pending or args.unrun:
        rng = random.Random(args.seed)
        for module, codes in results.items():
            pending = [n for n, c in sorted(codes.items())
                       if c not in KILLED and (c in NOT_RUN or not args.unrun)]
            if args.sample < 1.0:
                pending = sorted(rng.sample(pending, round(len(pending) * args.sample)))
            print("\n".join(pending))
        return 0
    failing, unchecked = [], 0
    print(f"{'module':28} {'mutants':>8} {'killed':>7} {'survived':>9} {'score':>7}")
    for module in SCOPE:
        codes = results.get(module, {})
        unchecked += sum(c in NOT_RUN for c in codes.values())
        checked = {n: c for n, c in codes.items() if c not in NOT_RUN}
        killed = sum(c in KILLED for c in checked.values())
        score = 100.0 * killed / len(checked) if checked else 0.0
        print(f"{module:28} {len(checked):8} {killed:7} {len(checked) - killed:9} {score:6.1f}%")
        if checked and score < args.min:
            failing.append(module)
    total = sum(len(c) for c in results.values()) - unchecked
    killed = sum(c in KILLED for codes in results.values() for c in codes.values())
    print(f"{'all':28} {total:8} {killed:7} {total - killed:9} {100.0 * killed / max(total, 1):6.1f}%")
    print("\nsurvivors (mutmut show NAME for the diff):")
    for module in SCOPE:
        for name, code in sorted(results.get(module, {}).items()):
            if code not in KILLED and code not in NOT_RUN:
                print(f"  {name}  ({'no test reaches it' if code in (5, 33) else 'survived'})")
    if unchecked:
        # A partial run (some names given to mutmut): scored on what ran.
        print(f"\n{unchecked} mutants in scope were not run", file=sys.stderr)
    if failing:
        print(f"\nbelow {args.min}%: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

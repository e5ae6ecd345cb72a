#!/usr/bin/env python3
"""Synthesize dev, staging and prod into <out>/<env> and optionally scan and summarise.

``make synth``       -> python scripts/infra_synth.py --out cdk.out
``make demo-infra``  -> python scripts/infra_synth.py --out cdk.out --scan

Drives the CDK app in-process (no CDK CLI needed): one jsii runtime for all environments.
Exits non-zero when an environment has unacknowledged cdk-nag findings, cfn-lint errors or
checkov failures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.tooling.scanners import CheckovResult, LintResult, scan
from infra.tooling.synth import ENVIRONMENTS, STACK_KINDS, SynthResult, synthesize


def summary(
    results: list[SynthResult], lint: LintResult | None, checkov: CheckovResult | None
) -> str:
    """The one-screen summary: resources per stack and environment, then scanner results."""
    envs = [result.env for result in results]
    lines = [f"{'stack':<12}" + "".join(f"{env:>10}" for env in envs)]
    for kind in STACK_KINDS:
        counts = [result.resource_counts()[kind] for result in results]
        lines.append(f"{kind:<12}" + "".join(f"{count:>10}" for count in counts))
    totals = [sum(result.resource_counts().values()) for result in results]
    lines.append(f"{'total':<12}" + "".join(f"{total:>10}" for total in totals))
    lines.append(f"{'synth (s)':<12}" + "".join(f"{r.seconds:>10.1f}" for r in results))
    lines.append("")
    for result in results:
        rules = sorted(
            {entry["ruleName"].split("[")[0].removeprefix("AwsSolutions-")
             for entry in result.acknowledged()}
        )  # fmt: skip
        cdk_own = sorted({e["ruleName"] for e in result.acknowledged("CloudFormation Validate")})
        lines.append(
            f"cdk-nag {result.env:<8} unacknowledged {len(result.violations()):>2}, "
            f"acknowledged {len(result.acknowledged()):>2} ({' '.join(rules)});"
            f" CDK template check: {' '.join(cdk_own) or 'clean'}"
        )
        for plugin, rule, path in result.violations():
            lines.append(f"    {plugin} {rule} at {path}")
    if lint is not None:
        lines.append(
            f"cfn-lint         errors {len(lint.errors)}, warnings {len(lint.warnings)}"
            f" ({', '.join(sorted({w.split()[0] for w in lint.warnings}))})"
        )
        lines.extend(f"    {error}" for error in lint.errors)
    if checkov is not None:
        lines.append(
            f"checkov          failed {checkov.failed}, passed {checkov.passed},"
            f" skipped {checkov.skipped} (reviewed, infra/checkov_skips.py)"
        )
        lines.extend(f"    {failure}" for failure in checkov.failures)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Synthesize (and scan) the environments; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--env", action="append", choices=ENVIRONMENTS, dest="envs")
    parser.add_argument("--no-bundling", action="store_true", help="skip Lambda packaging")
    parser.add_argument("--scan", action="store_true", help="run cfn-lint and checkov")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = []
    for env in args.envs or ENVIRONMENTS:
        outdir = args.out / env
        shutil.rmtree(outdir, ignore_errors=True)
        result = synthesize(env, outdir, bundling=not args.no_bundling)
        results.append(result)
        print(f"synthesized {env} into {outdir} ({result.seconds:.1f} s)", flush=True)
    lint = checkov = None
    if args.scan:
        templates = [path for result in results for path in result.template_paths.values()]
        lint, checkov = scan(templates)
    print()
    print(summary(results, lint, checkov))
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    failed = any(result.violations() or result.validation_error for result in results)
    failed |= bool(lint and lint.errors) or bool(checkov and checkov.failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

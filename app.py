#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c env=dev|staging|prod`` (see cdk.json).

Reads the context once, builds the typed configuration (bad context stops here with a
message naming the key), creates the environment's stacks and synthesizes them.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App

from infra.config import ConfigError, load_config
from infra.deployment import APP_CONTEXT, build


def main() -> int:
    """Synthesize the environment named by the ``env`` context value."""
    app = App(context=APP_CONTEXT, analytics_reporting=False)
    try:
        config = load_config(
            app.node.try_get_context("environments"), app.node.try_get_context("env")
        )
    except ConfigError as error:
        print(f"cdk.json context error: {error}", file=sys.stderr)
        return 1
    build(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""AWS infrastructure of the recipe database tier, as CDK code (see ``app.py``).

``config`` parses ``cdk.json`` once; ``constructs`` holds one construct (or folder) per
concern with its helpers inside; ``stacks`` only compose constructs; ``compliance`` holds
the reviewed cdk-nag acknowledgements and checkov skips; ``tooling`` the in-process synth and
the scanners (tests and make targets only); ``deployment`` wires the six stacks of one
environment and adds the cdk-nag checks.
"""

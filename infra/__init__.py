"""AWS infrastructure of the recipe database tier, as CDK code (see ``app.py``).

``config`` parses ``cdk.json`` once; ``constructs`` holds one construct per concern;
``stacks`` only compose constructs; ``deployment`` wires the stacks of one environment and
adds the cdk-nag checks with the acknowledgements of ``nag_acknowledgements``.
"""

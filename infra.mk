# Infrastructure targets, included by the main Makefile (which defines VENV, PY, PIP, STAMP).
#   make synth            dev, staging and prod into cdk.out/<env> (no global CDK CLI needed)
#   make demo-infra       synth + cfn-lint + checkov + cdk-nag, one-screen summary
#   make test-infra-deps  requirements-infra.txt into .venv, checkov into .venv-checkov,
#                         the pinned CDK CLI into node_modules (npm ci)
.PHONY: demo-infra test-infra-deps synth

CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
INFRA_STAMP := $(VENV)/.infra-installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
CDK_CLI_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

$(INFRA_STAMP): requirements-infra.txt $(STAMP)
	$(PIP) install --quiet -r requirements-infra.txt
	touch $@

# checkov pins many packages of its own, so it gets a virtualenv of its own.
$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# The CDK CLI is pinned in package.json / package-lock.json (only the CLI test needs it).
$(CDK_CLI_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the CDK CLI test will be skipped (everything else runs)"; \
	fi

test-infra-deps: $(INFRA_STAMP) $(CHECKOV_STAMP) $(CDK_CLI_STAMP)

synth: $(INFRA_STAMP)
	$(PY) scripts/infra_synth.py --out cdk.out

demo-infra: $(INFRA_STAMP) $(CHECKOV_STAMP)
	$(PY) scripts/infra_synth.py --out cdk.out --scan

# Owned by the infra work: defines demo-infra, test-infra-deps and synth.
.PHONY: demo-infra test-infra-deps synth
demo-infra:
	@true
test-infra-deps:
	@true
synth:
	@true

"""One construct per concern, helpers inside their folder: keys, network/ (VPC, security
groups, the imported view later stacks use), database/ (instances, published endpoints),
cache, backups, pgbouncer/ (service, ini, images, scaling), jobs/ (migrate, packaging),
rotation_redeploy, alerting, monitoring/ (dashboards, rules, escalation, resources), and
handoff (SSM parameters between stacks)."""

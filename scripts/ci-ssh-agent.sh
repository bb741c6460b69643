# Sourced by CI jobs: load the deploy key into an ssh-agent for this job only.
# Terraform's SSH connection uses the agent (SSH_AUTH_SOCK), so the key is never
# copied, never in the synthesized JSON, state or logs. No key: nothing to do
# (test and diff jobs do not need one).
if [ -n "${SSH_PRIVATE_KEY_FILE:-}" ]; then
  eval "$(ssh-agent -s)" >/dev/null
  ssh-add -q "$SSH_PRIVATE_KEY_FILE"
  # The agent dies with the job.
  trap 'ssh-agent -k >/dev/null 2>&1' EXIT
fi

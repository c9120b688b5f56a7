#!/usr/bin/env bash
# What `npm run bench` needs beyond the test suite: Ansible from Debian (it ships community.general
# and ansible.posix), for the comparison, and sshd, for the simulated fleet. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
missing=""
command -v ansible-playbook >/dev/null 2>&1 || missing="$missing ansible"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
if [ -n "$missing" ]; then
  echo "== installing$missing (Debian packages, for the bench)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# sed reads to the end: head would close the pipe early and ansible dies of the broken pipe (pipefail).
ansible-playbook --version | sed -n 1p

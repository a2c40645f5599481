#!/usr/bin/env bash
# The Python package's checks, run by `mvn -B verify` (buildnet-examples, phase integration-test)
# and by hand: ruff, mypy --strict, pytest. Exits non-zero if any of them fails.
#
# Creates python/.venv on first use and (re)installs the package with its `test` extra when
# pyproject.toml is newer than the last install. pip uses this machine's configured index.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="$here/.venv"
py="$venv/bin/python"

if [[ ! -x "$py" ]]; then
  echo "[python] creating $venv"
  python3 -m venv "$venv"
fi

stamp="$venv/.buildnet-install-stamp"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  echo "[python] installing buildnet[test] (editable) into $venv"
  # PIP_RETRIES=1, which the isolated build's own pip sees too: where an index is unreachable
  # (an offline CI with a local mirror), pip would otherwise back off five times per package
  # before trying the next index (3.5 minutes instead of 30 seconds here).
  PIP_RETRIES=1 "$py" -m pip install --disable-pip-version-check --quiet --editable "$here[test]"
  touch "$stamp"
fi

echo "[python] ruff check"
"$py" -m ruff check --no-cache src tests examples bench tools

echo "[python] mypy --strict"
"$py" -m mypy --strict --no-incremental --cache-dir=/dev/null src tests examples bench tools

echo "[python] pytest"
set +e
"$py" -m pytest -q -p no:cacheprovider
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "[python] FAILED: pytest collected no tests (exit 5)" >&2
  exit 1
elif [[ $rc -ne 0 ]]; then
  echo "[python] FAILED: pytest exited with $rc" >&2
  exit "$rc"
fi

#!/usr/bin/env bash
# The one entry point for the checks: lint (ruff), types (mypy, app code), tests (pytest).
# Usage: tests/run.sh [pytest arguments…]
# Set DUBAN_TEST_DATABASE_URL=postgresql://… to run the database tests on PostgreSQL too.
# All three always run, so one report shows everything; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# Inside a virtual environment use its python; otherwise the project's .venv if there is one.
PY=${PYTHON:-python3}
if [[ -z "${VIRTUAL_ENV:-}" && -z "${PYTHON:-}" && -x .venv/bin/python ]]; then
  PY=.venv/bin/python
fi

failed=()
echo "== ruff"
"$PY" -m ruff check . || failed+=(ruff)
echo "== mypy"
# Generated migration scripts are not app code.
"$PY" -m mypy --exclude '^models/migrations/versions/' || failed+=(mypy)
echo "== pytest"
"$PY" -m pytest "$@" || failed+=(pytest)

if ((${#failed[@]})); then
  echo "== 失败：${failed[*]}" >&2
  exit 1
fi
echo "== 全部通过"

# Sourced by .ci/run: makes sure the local PostgreSQL used by the §8 tests is up. Safe to source when it already
# runs (then it does nothing). Never `exit`s or changes shell options: it runs inside the caller's shell.
# The tests connect to ${ANALYTICS_TEST_PG_URL:-postgresql://root@127.0.0.1:5432/test}.

analytics_pg_ensure_running() {
  if ! command -v pg_isready >/dev/null 2>&1; then
    echo "postgres.sh: pg_isready not found; PostgreSQL tests will fail under CI=true" >&2
    return 1
  fi
  if pg_isready -q -h 127.0.0.1; then
    return 0
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "postgres.sh: no cluster under /etc/postgresql; cannot start PostgreSQL" >&2
    return 1
  fi
  echo "postgres.sh: starting PostgreSQL $version/main" >&2
  # pg_ctlcluster waits until the server accepts connections; an already-running cluster is not an error here.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  if ! pg_isready -q -h 127.0.0.1 -t 30; then
    echo "postgres.sh: PostgreSQL did not come up on 127.0.0.1:5432" >&2
    return 1
  fi
}

# A failure matters only under CI=true (where the PostgreSQL tests must run); elsewhere they skip with a reason.
if analytics_pg_ensure_running || [ "${CI:-}" != "true" ]; then
  unset -f analytics_pg_ensure_running
  true
else
  unset -f analytics_pg_ensure_running
  false
fi

# Sourced: a PostgreSQL server of its own for profiling the store (issue 15), started like the
# test server (scripts/postgres.sh: fsync=off, trust on 127.0.0.1) but on another port and data
# folder, with pg_stat_statements (nested statements too: the triggers' INSERTs show as rows of
# their own), planning times and per-function times. Exports SMPPGATE_TEST_POSTGRES_URL, so
#   source scripts/pg-profile.sh
#   python benchmarks/bench_cluster.py --nodes 1 --messages 10000 --pg-stats
# prints what the server spent per statement (benchmarks/results/statements.md).
# SMPPGATE_PGPROF_EXPLAIN=MS also logs the plan, with its actual times, of every statement that
# took MS milliseconds or more (auto_explain, nested statements included; 0: every statement)
# to $PGPROF_DATA/server.log: slow, for reading plans, not for rates. Stop it with: pg_ctl -D /tmp/smppgate-pgprof stop (as postgres).
PGPROF_PORT=${SMPPGATE_PGPROF_PORT:-55439}
PGPROF_DATA=${SMPPGATE_PGPROF_DATA:-/tmp/smppgate-pgprof}
PGPROF_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGPROF_AS=()
if [[ $(id -u) == 0 ]]; then
  PGPROF_AS=(runuser -u postgres --); mkdir -p "$PGPROF_DATA"; chown postgres "$PGPROF_DATA"
fi
if [[ ! -f $PGPROF_DATA/PG_VERSION ]]; then
  "${PGPROF_AS[@]}" "$PGPROF_BIN/initdb" -D "$PGPROF_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
PGPROF_OPTS="-p $PGPROF_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
PGPROF_OPTS+=" -c track_functions=all -c pg_stat_statements.track=all"
PGPROF_OPTS+=" -c pg_stat_statements.track_planning=on -c pg_stat_statements.max=2000"
if [[ -n ${SMPPGATE_PGPROF_EXPLAIN:-} ]]; then
  PGPROF_OPTS+=" -c shared_preload_libraries=pg_stat_statements,auto_explain"
  PGPROF_OPTS+=" -c auto_explain.log_min_duration=$SMPPGATE_PGPROF_EXPLAIN -c auto_explain.log_analyze=on"
  PGPROF_OPTS+=" -c auto_explain.log_nested_statements=on"
else
  PGPROF_OPTS+=" -c shared_preload_libraries=pg_stat_statements"
fi
# a running server is restarted so that the options asked for now apply
if "${PGPROF_AS[@]}" "$PGPROF_BIN/pg_ctl" -D "$PGPROF_DATA" status >/dev/null 2>&1; then
  "${PGPROF_AS[@]}" "$PGPROF_BIN/pg_ctl" -D "$PGPROF_DATA" -w stop -m fast >/dev/null
fi
"${PGPROF_AS[@]}" "$PGPROF_BIN/pg_ctl" -D "$PGPROF_DATA" -l "$PGPROF_DATA/server.log" -w \
  -o "$PGPROF_OPTS" start >/dev/null
export SMPPGATE_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PGPROF_PORT/postgres"
